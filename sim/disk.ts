// A node's disk in the simulator. THE FAULT MODEL (what the disk may do, and all it may do):
// - A persist is durable only when its fsync completes, after a drawn latency (sometimes slow).
// - On a crash, writes not yet fsynced are lost; a prefix of them may have reached the platter
//   anyway (the OS flushed it), and the last record written may be torn (cut short). The log is
//   bytes in the real record format, so recovery's checksum must catch the torn record.
// - Fsynced data is never lost or corrupted. Since a fault only touches unsynced data of the node
//   that crashed, no record is ever corrupted on a majority.

import { decodeLog, encodeLogRecord } from "../core/storage.ts";
import type { Txn } from "../core/txn.ts";
import { assert } from "../core/assert.ts";
import type { DiskImage, DiskWrite, DurableState } from "../core/replica/index.ts";
import { applyDiskWrite, emptyDiskImage, recoverDiskImage } from "../core/replica/index.ts";
import type { Rng } from "./rng.ts";

interface PendingPersist {
  id: number;
  writes: readonly DiskWrite[];
}

export interface DiskFaults {
  /** Mean fsync latency and the chance that one is slow (×20). */
  fsyncMeanMs: number;
  slowFsyncChance: number;
  /** On crash: chance that unsynced writes partly reached the disk, and that the last one is torn. */
  partialFlushChance: number;
  tornWriteChance: number;
}

export class SimDisk {
  /** What fsync made durable, in the core's own terms (applyDiskWrite gives every write its meaning). */
  private readonly image: DiskImage = emptyDiskImage();
  /** Bytes of a record a crash cut short, after the last whole one, until recovery reads them. */
  private tornTail: Uint8Array | undefined;
  /** Each record's bytes, encoded at the first recovery that reads it and reused after. */
  private readonly encoded = new WeakMap<Txn, Uint8Array>();
  private pending: PendingPersist[] = [];
  tornRecords = 0;

  constructor(private readonly rng: Rng, private readonly faults: DiskFaults) {}

  /** Queues a persist; returns the fsync latency after which it is durable. */
  submit(id: number, writes: readonly DiskWrite[]): number {
    this.pending.push({ id, writes });
    const latency = this.rng.exponential(this.faults.fsyncMeanMs);
    return this.rng.chance(this.faults.slowFsyncChance) ? latency * 20 : latency;
  }

  /** Makes the oldest pending persist durable (group commit completes in order); returns its id. */
  completeOldest(): number | undefined {
    const next = this.pending.shift();
    if (next === undefined) return undefined;
    for (const write of next.writes) this.apply(write);
    return next.id;
  }

  get pendingCount(): number {
    return this.pending.length;
  }

  private apply(write: DiskWrite): void {
    assert(this.tornTail === undefined, "nothing is written between a crash and its recovery");
    applyDiskWrite(this.image, write);
  }

  /** The crash: unsynced writes vanish, except a prefix that may have reached the disk, maybe torn. */
  crash(): void {
    const unsynced = this.pending;
    this.pending = [];
    if (unsynced.length === 0 || !this.rng.chance(this.faults.partialFlushChance)) return;
    const flushed = this.rng.int(0, unsynced.length);
    for (const persist of unsynced.slice(0, flushed)) for (const write of persist.writes) this.apply(write);
    const next = unsynced[flushed];
    const append = next?.writes.find((w) => w.kind === "append");
    if (append !== undefined && append.kind === "append" && this.rng.chance(this.faults.tornWriteChance)) {
      const record = encodeLogRecord(append.txns[0]!);
      this.tornTail = record.slice(0, this.rng.int(1, record.length - 1));
      this.tornRecords++;
    }
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
    const total = records.reduce((n, b) => n + b.length, 0);
    const all = new Uint8Array(total);
    let offset = 0;
    for (const bytes of records) {
      all.set(bytes, offset);
      offset += bytes.length;
    }
    const decoded = decodeLog(all);
    assert(decoded.txns.length === this.image.log.length, "recovery reads back every whole record");
    this.tornTail = undefined;
    return { ...recoverDiskImage(this.image), log: decoded.txns };
  }
}
