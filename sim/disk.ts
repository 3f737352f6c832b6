// A node's disk in the simulator. THE FAULT MODEL (what the disk may do, and all it may do):
// - A persist is durable only when its fsync completes, after a drawn latency (sometimes slow).
//   Persists complete in order (group commit).
// - On a crash, writes not yet fsynced are lost; a prefix of them may have reached the platter
//   anyway (the OS flushed it). After that prefix the next log record may be damaged: torn (cut
//   short), or whole with one bit flipped, or overwritten by a misdirected write (bytes meant for
//   another place: a misaligned piece of another record). Records after the damaged one may have
//   reached the platter whole (pages flush out of order). The log is bytes in the real record
//   format (core/storage.ts), so recovery's checksum must catch the damage, and must drop the
//   damaged record and everything after it, valid or not.
// - The damaged tail stays on the disk until the recovery that reads it cuts it off, as
//   net/storage.ts does (it truncates the file to its valid bytes before anything is written).
//   Nothing is ever appended after damaged bytes: apply() asserts it.
// - Fsynced data is never lost or corrupted. Since a fault only touches unsynced data of the node
//   that crashed, no fsynced record is ever corrupted anywhere, so never on a majority; without
//   that no protocol could be correct.
// - Crashes aimed at the windows that matter (between a write and its fsync, between an fsync and
//   the step that hears of it, again soon after a restart) are the nemesis's (world.armCrash).

import { concatBytes } from "../core/bytes.ts";
import { decodeLog, encodeLogRecord } from "../core/storage.ts";
import type { Txn } from "../core/txn.ts";
import { assert } from "../core/assert.ts";
import type { DiskImage, DiskWrite, DurableState } from "../core/replica/index.ts";
import { applyDiskWrite, emptyDiskImage, recoverDiskImage } from "../core/replica/index.ts";
import type { Rng } from "./rng.ts";

interface PendingPersist {
  id: number;
  writes: readonly DiskWrite[];
  /** When its fsync completes (set by durableAt; until then never). */
  durableAtMs: number;
}

export interface DiskFaults {
  /** Mean fsync latency and the chance that one is slow (×20). */
  fsyncMeanMs: number;
  slowFsyncChance: number;
  /**
   * On crash: chance that unsynced writes partly reached the disk, and that the last one is torn.
   */
  partialFlushChance: number;
  tornWriteChance: number;
  /** When the next record is not torn: the chance it has a flipped bit, or misdirected bytes. */
  bitFlipChance?: number;
  misdirectedWriteChance?: number;
  /** The chance that whole records after a damaged one reached the platter too. */
  outOfOrderFlushChance?: number;
}

export class SimDisk {
  /**
   * What fsync made durable, in the core's own terms (applyDiskWrite gives every write its
   * meaning).
   */
  private readonly image: DiskImage = emptyDiskImage();
  /** Bytes of a record a crash cut short, after the last whole one, until recovery reads them. */
  private tornTail: Uint8Array | undefined;
  /** Each record's bytes, encoded at the first recovery that reads it and reused after. */
  private readonly encoded = new WeakMap<Txn, Uint8Array>();
  private pending: PendingPersist[] = [];
  /** Log records damaged by crashes (torn, flipped or misdirected). */
  tornRecords = 0;
  /** Its own stream, so that a disk without the harsher faults draws what it always drew. */
  private readonly damageRng: Rng;

  constructor(
    private readonly rng: Rng,
    private readonly faults: DiskFaults,
  ) {
    this.damageRng = rng.fork("damage");
  }

  /** Queues a persist; returns the fsync latency after which it is durable. */
  submit(id: number, writes: readonly DiskWrite[]): number {
    this.pending.push({ id, writes, durableAtMs: Number.POSITIVE_INFINITY });
    const latency = this.rng.exponential(this.faults.fsyncMeanMs);
    return this.rng.chance(this.faults.slowFsyncChance) ? latency * 20 : latency;
  }

  /** When the persist submitted last becomes durable (its fsync event's time). */
  durableAt(atMs: number): void {
    this.pending[this.pending.length - 1]!.durableAtMs = atMs;
  }

  /**
   * Group commit: makes every pending persist due by `nowMs` durable, in order (one fsync covers
   * all that were written before it); returns the last one's id, which reports them all.
   */
  completeDue(nowMs: number): number | undefined {
    let last: number | undefined;
    while (this.pending.length > 0 && this.pending[0]!.durableAtMs <= nowMs) {
      const next = this.pending.shift()!;
      for (const write of next.writes) this.apply(write);
      last = next.id;
    }
    return last;
  }

  get pendingCount(): number {
    return this.pending.length;
  }

  private apply(write: DiskWrite): void {
    assert(this.tornTail === undefined, "nothing is written between a crash and its recovery");
    applyDiskWrite(this.image, write);
  }

  /**
   * The crash: unsynced writes vanish, except a prefix that may have reached the disk, maybe with
   * a damaged record after it; returns what damage it did, if any.
   */
  crash(): string | undefined {
    const unsynced = this.pending;
    this.pending = [];
    if (unsynced.length === 0 || !this.rng.chance(this.faults.partialFlushChance)) return undefined;
    const flushed = this.rng.int(0, unsynced.length);
    for (const persist of unsynced.slice(0, flushed))
      for (const write of persist.writes) this.apply(write);
    const next = unsynced[flushed];
    const append = next?.writes.find((w) => w.kind === "append");
    if (append === undefined || append.kind !== "append") return undefined;
    const record = encodeLogRecord(append.txns[0]!);
    let damage: { bytes: Uint8Array; what: string } | undefined;
    if (this.rng.chance(this.faults.tornWriteChance)) {
      damage = { bytes: record.slice(0, this.rng.int(1, record.length - 1)), what: "torn record" };
    } else {
      damage = this.corrupt(record);
    }
    if (damage === undefined) return undefined;
    this.tornRecords++;
    const after = append.txns.slice(1);
    const outOfOrderChance = this.faults.outOfOrderFlushChance ?? 0;
    const outOfOrder = after.length > 0 && this.damageRng.chance(outOfOrderChance);
    const tail = outOfOrder ? [damage.bytes, ...after.map(encodeLogRecord)] : [damage.bytes];
    this.tornTail = concatBytes(tail);
    return outOfOrder ? `${damage.what}, ${after.length} whole records after it` : damage.what;
  }

  /** A whole record with one bit flipped, or a misaligned piece of another record in its place. */
  private corrupt(record: Uint8Array): { bytes: Uint8Array; what: string } | undefined {
    const rng = this.damageRng;
    if (rng.chance(this.faults.bitFlipChance ?? 0)) {
      const flipped = record.slice();
      const bit = rng.int(0, record.length * 8 - 1);
      flipped[bit >> 3]! ^= 1 << (bit & 7);
      return { bytes: flipped, what: `bit ${bit} of a record flipped` };
    }
    if (rng.chance(this.faults.misdirectedWriteChance ?? 0)) {
      const log = this.image.log;
      const source = log.length === 0 ? record : encodeLogRecord(rng.pick(log));
      // Never at a record boundary: a whole valid record in the wrong place no checksum can see.
      const from = rng.int(1, source.length - 1);
      const bytes = new Uint8Array(record.length);
      for (let i = 0; i < bytes.length; i++) bytes[i] = source[(from + i) % source.length]!;
      return { bytes, what: "misdirected write over a record" };
    }
    return undefined;
  }

  /**
   * What recovery reads back, through the real record format: the log is encoded to bytes (records
   * are kept decoded between crashes only to save time) and decoded, and a torn tail is detected by
   * its checksum and dropped.
   */
  recover(): DurableState {
    const records = this.image.log.map((txn) => {
      let bytes = this.encoded.get(txn);
      if (bytes === undefined) this.encoded.set(txn, (bytes = encodeLogRecord(txn)));
      return bytes;
    });
    if (this.tornTail !== undefined) records.push(this.tornTail);
    const decoded = decodeLog(concatBytes(records));
    const log = this.image.log;
    assert(
      decoded.txns.length === log.length &&
        decoded.txns.every((txn, i) => txn.zxid === log[i]!.zxid),
      "recovery reads back exactly the durable records: damage and all after it are dropped",
    );
    const damaged = this.tornTail !== undefined;
    assert(decoded.tornTail === damaged, "recovery sees damage exactly when there is some");
    // Cut off, as net/storage.ts truncates the file to its valid bytes before writing anything.
    this.tornTail = undefined;
    return { ...recoverDiskImage(this.image), log: decoded.txns };
  }
}
