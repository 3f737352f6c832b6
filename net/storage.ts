// The durable log and snapshots on a real disk, for the core's persist effects.
//
// Layout (dataLogDir for logs, dataDir for the rest), all in the core's record formats:
//   log.<first zxid, hex>      checksummed txn records (core/storage.ts), appended, rolled at
//                              snapshots
//   snapshot.<zxid, hex>       a consistent snapshot (core/storage.ts)
//   epochs                     "acceptedEpoch currentEpoch", replaced atomically (temp + fsync
//                              + rename)
//
// Group commit: persists queue up while an fsync runs; the next round writes all of them and one
// fsync covers the lot, then one persistDone reports them all (the last one's id). Nothing is
// reported before its fsync completed: that is the durability contract the core's acknowledgements
// rest on.
//
// Preallocation: the log file is grown ahead of its records by zeros, written and made durable
// with the round that needs them, 4 MiB at a time. A record then overwrites blocks the file
// already has, so the round's fdatasync flushes data only, without a journal commit for a new
// file size: half the system time and half the wall time per round on ext4. Recovery reads zeros
// after the last record as the log's end (core/storage.ts decodeLog).

import { constants, fdatasync, fstatSync } from "node:fs";
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
  ftruncateSync,
} from "node:fs";
import { join } from "node:path";
import { concatBytes } from "../core/bytes.ts";
import type { DiskWrite, DurableState } from "../core/replica/index.ts";
import {
  decodeLog,
  encodeLogRecord,
  logRecordHeaderBytes,
  writeLogRecordHeader,
} from "../core/storage.ts";
import { txnBytes } from "./txn-bytes.ts";
import type { Txn } from "../core/txn.ts";
import type { Zxid } from "../core/types.ts";

const hex16 = (z: bigint) => z.toString(16).padStart(16, "0");

export interface StorageStats {
  fsyncs: number;
  persists: number;
  lastFsyncMs: number;
  maxFsyncMs: number;
}

/** A persist's write as queued: an append as its txns' encodings (the records' payloads). */
type QueuedWrite =
  | Exclude<DiskWrite, { kind: "append" }>
  | { kind: "records"; payloads: Uint8Array[]; lastZxid: Zxid | undefined };

/** A round's records are laid out in this much memory kept between rounds; more is one-off. */
const recordBufferKeptBytes = 1 << 20;
/** How far the log file is grown by zeros ahead of the records that need it. */
const preallocBytes = 4 << 20;
let zeros: Uint8Array | undefined;
const openLogFlags = constants.O_RDWR | constants.O_CREAT;

export class FileStorage {
  private queue: { id: number; writes: readonly QueuedWrite[] }[] = [];
  private flushing = false;
  /**
   * Set by close: a round still scheduled or an fdatasync still running must not touch the log's
   * descriptor after it, whose number the process may already have given to another file.
   */
  private closed = false;
  /** Payloads of this round's log records not yet written (one gathered write). */
  private appends: Uint8Array[] = [];
  private recordBuffer = Buffer.allocUnsafeSlow(0);
  private logFd!: number;
  private logPath!: string;
  /** Where the next record goes: the end of the valid records. */
  private logEnd!: number;
  /** The log file's size: zeros from logEnd to here. */
  private logFilled!: number;
  /** Zxid of the last record appended; a rolled log is named after the next one. */
  private lastAppended = 0n;
  /**
   * Set when a snapshot written elsewhere (the snapshotter) lets the log roll at the next round.
   */
  private rollRequested = false;
  /** The snapshot recovery started from (olderSnapshot steps back from it). */
  private snapshotFile: string | undefined;
  readonly stats: StorageStats = { fsyncs: 0, persists: 0, lastFsyncMs: 0, maxFsyncMs: 0 };

  private constructor(
    private readonly dataDir: string,
    private readonly logDir: string,
    private readonly retainSnapshots: number,
    private readonly onDurable: (id: number) => void,
    logPath: string,
    logEnd: number,
    private readonly onPurged: (removed: readonly string[]) => void,
    private readonly beforeRound: () => void,
  ) {
    this.openLog(logPath, logEnd);
  }

  /** Appends to a log file after its first `end` bytes (records; zeros after them), or all. */
  private openLog(path: string, end?: number): void {
    this.logPath = path;
    this.logFd = openSync(path, openLogFlags);
    this.logFilled = fstatSync(this.logFd).size;
    this.logEnd = end ?? this.logFilled;
  }

  /** Opens (creating if needed) the directories and recovers what they hold. */
  static open(options: {
    dataDir: string;
    dataLogDir: string;
    retainSnapshots: number;
    onDurable: (id: number) => void;
    /** Told the files a purge removed (snapshots past retainSnapshots, logs they make useless). */
    onPurged?: (removed: readonly string[]) => void;
    /**
     * Runs as a round starts, before its writes: the server sends what this turn corked, so that
     * proposals and replies do not wait behind the local disk.
     */
    beforeRound?: () => void;
  }): { storage: FileStorage; durable: DurableState; recoveryNotes: string[] } {
    mkdirSync(options.dataDir, { recursive: true });
    mkdirSync(options.dataLogDir, { recursive: true });
    const notes: string[] = [];
    // A crash while a snapshot or epoch file was being written leaves its temp file behind: never
    // renamed, never valid.
    for (const dir of new Set([options.dataDir, options.dataLogDir])) {
      for (const file of readdirSync(dir).filter((f) => f.endsWith(".tmp"))) {
        rmSync(join(dir, file));
        notes.push(`removed unfinished ${file}`);
      }
    }
    const epochs = readEpochs(options.dataDir);
    const snapshot = newestSnapshot(options.dataDir);
    const { txns, lastLog, lastLogEnd } = readLogs(options.dataLogDir, notes);
    const logPath = lastLog ?? join(options.dataLogDir, `log.${hex16(1n)}`);
    const storage = new FileStorage(
      options.dataDir,
      options.dataLogDir,
      options.retainSnapshots,
      options.onDurable,
      logPath,
      lastLogEnd,
      options.onPurged ?? (() => {}),
      options.beforeRound ?? (() => {}),
    );
    storage.lastAppended = txns.length > 0 ? txns[txns.length - 1]!.zxid : 0n;
    storage.snapshotFile = snapshot?.file;
    return {
      storage,
      durable: { ...epochs, snapshot: snapshot?.bytes, log: txns },
      recoveryNotes: notes,
    };
  }

  /**
   * The next older snapshot, after the one open() returned (or the last one this returned) failed
   * to decode: a note names the damaged one. Undefined when there is none (start from the log).
   */
  olderSnapshot(notes: string[], why: string): Uint8Array | undefined {
    if (this.snapshotFile === undefined) return undefined;
    notes.push(`skipping damaged ${this.snapshotFile}: ${why}`);
    const older = newestSnapshot(this.dataDir, this.snapshotFile);
    this.snapshotFile = older?.file;
    return older?.bytes;
  }

  /** Queues a persist effect; its persistDone is reported once an fsync covered it. */
  enqueue(id: number, writes: readonly DiskWrite[]): void {
    if (this.closed) return; // stopping: nothing more is written or reported
    // Appends keep their txns' encodings now, while they are at hand (txn-bytes.ts keeps them
    // for the turn of the event loop that made or received them).
    const queued: QueuedWrite[] = [];
    for (const write of writes) {
      if (write.kind !== "append") queued.push(write);
      else {
        const payloads = write.txns.map((txn) => txnBytes(txn));
        queued.push({ kind: "records", payloads, lastZxid: write.txns.at(-1)?.zxid });
      }
    }
    this.queue.push({ id, writes: queued });
    if (!this.flushing) {
      this.flushing = true;
      setImmediate(() => this.flush());
    }
  }

  /** One round: write everything queued, one fsync (off the event loop), then report. */
  private flush(): void {
    if (this.closed) return;
    this.beforeRound();
    const batch = this.queue;
    this.queue = [];
    const started = performance.now();
    if (this.rollRequested) {
      this.rollRequested = false;
      this.rollLog(this.lastAppended as Zxid, false);
    }
    for (const persist of batch) for (const write of persist.writes) this.apply(write);
    this.writeAppends();
    fdatasync(this.logFd, (error) => {
      if (this.closed) return; // closed meanwhile: close() synced what was written
      if (error) throw error; // a failed fsync leaves nothing we could promise: crash loudly
      this.afterFsync(batch, performance.now() - started);
    });
  }

  private afterFsync(batch: { id: number }[], tookMs: number): void {
    this.stats.fsyncs++;
    this.stats.persists += batch.length;
    this.stats.lastFsyncMs = tookMs;
    this.stats.maxFsyncMs = Math.max(this.stats.maxFsyncMs, tookMs);
    // One report for the round: persistDone covers every persist up to its id (io.ts rule 1).
    if (batch.length > 0) this.onDurable(batch[batch.length - 1]!.id);
    if (this.queue.length > 0) setImmediate(() => this.flush());
    else this.flushing = false;
  }

  private apply(write: QueuedWrite): void {
    switch (write.kind) {
      case "records":
        // Gathered: the round's records leave in one write, before anything else touches files.
        for (const payload of write.payloads) this.appends.push(payload);
        if (write.lastZxid !== undefined) this.lastAppended = write.lastZxid;
        return;
      case "truncate":
        this.writeAppends();
        return this.truncateAfter(write.zxid);
      case "epochs":
        this.writeAppends();
        return atomicWrite(
          join(this.dataDir, "epochs"),
          new TextEncoder().encode(`${write.acceptedEpoch} ${write.currentEpoch}\n`),
        );
      case "snapshot":
        this.writeAppends();
        atomicWrite(join(this.dataDir, `snapshot.${hex16(write.zxid)}`), write.bytes);
        return this.rollLog(write.zxid, write.replaceLog);
    }
  }

  /**
   * Writes the gathered log records in one system call, laid out in one buffer: a header view and
   * a payload per record for writev cost more in allocations than the copy.
   */
  private writeAppends(): void {
    const payloads = this.appends;
    if (payloads.length === 0) return;
    this.appends = [];
    let size = 0;
    for (const payload of payloads) size += logRecordHeaderBytes + payload.length;
    if (size > this.recordBuffer.length && size <= recordBufferKeptBytes)
      this.recordBuffer = Buffer.allocUnsafeSlow(Math.min(recordBufferKeptBytes, 2 * size));
    const out = size <= this.recordBuffer.length ? this.recordBuffer : Buffer.allocUnsafeSlow(size);
    const view = new DataView(out.buffer, out.byteOffset, size);
    let at = 0;
    for (const payload of payloads) {
      writeLogRecordHeader(view, at, payload);
      out.set(payload, at + logRecordHeaderBytes);
      at += logRecordHeaderBytes + payload.length;
    }
    // At least a header's worth of zeros stays after the records: recovery reads that as the end.
    if (this.logEnd + size + logRecordHeaderBytes > this.logFilled)
      this.growLog(this.logEnd + size);
    // A short write resumes where it stopped.
    for (let written = 0; written < size; )
      written += writeSync(this.logFd, out, written, size - written, this.logEnd + written);
    this.logEnd += size;
  }

  /** Grows the log file with zeros to `preallocBytes` past `end`, for this round to sync. */
  private growLog(end: number): void {
    zeros ??= new Uint8Array(1 << 20);
    const target = end + preallocBytes;
    for (let at = this.logFilled; at < target; ) {
      at += writeSync(this.logFd, zeros, 0, Math.min(zeros.length, target - at), at);
    }
    this.logFilled = target;
  }

  /** Rewrites the current log without the records after `zxid` (an uncommitted tail, TRUNC). */
  private truncateAfter(z: Zxid): void {
    fsyncSync(this.logFd);
    closeSync(this.logFd);
    // Where the current log's records end: a rewritten file holds nothing else.
    let currentEnd: number | undefined;
    for (const file of logFiles(this.logDir)) {
      const path = join(this.logDir, file);
      const decoded = decodeLog(readFileSync(path));
      const keep = decoded.txns.filter((t) => t.zxid <= z);
      if (keep.length === decoded.txns.length && !decoded.tornTail) {
        if (path === this.logPath) currentEnd = decoded.validBytes; // zeros may follow
        continue;
      }
      if (keep.length === 0 && path !== this.logPath) {
        rmSync(path);
        continue;
      }
      atomicWrite(path, concatBytes(keep.map(encodeLogRecord)));
    }
    this.openLog(this.logPath, currentEnd);
  }

  /**
   * After a snapshot: new records go to a fresh log file; old ones go once enough snapshots exist.
   */
  private rollLog(z: Zxid, replace: boolean): void {
    // A log that is done keeps its records only, not the zeros grown ahead of them.
    ftruncateSync(this.logFd, this.logEnd);
    fsyncSync(this.logFd);
    closeSync(this.logFd);
    if (replace) for (const file of logFiles(this.logDir)) rmSync(join(this.logDir, file));
    // A new file, or this one again (no record since): cut back to its records above.
    this.openLog(join(this.logDir, `log.${hex16(z + 1n)}`));
    fsyncDir(this.logDir);
    this.purge();
  }

  /**
   * A snapshot was written beside the log (by the snapshotter): start a new log file at the next
   * round, between fsyncs, and purge what the retained snapshots make unnecessary.
   */
  snapshotWritten(): void {
    this.rollRequested = true;
    if (!this.flushing) {
      this.flushing = true;
      setImmediate(() => this.flush());
    }
  }

  /**
   * Keeps the newest `retainSnapshots` snapshots and the logs needed to replay from the oldest
   * kept.
   */
  purge(): void {
    const snapshots = snapshotFiles(this.dataDir);
    const drop = snapshots.slice(0, Math.max(0, snapshots.length - this.retainSnapshots));
    for (const file of drop) rmSync(join(this.dataDir, file));
    const removed = [...drop];
    const oldestKept = snapshots[drop.length];
    if (oldestKept !== undefined) {
      const oldestZxid = BigInt(`0x${oldestKept.slice("snapshot.".length)}`);
      const logs = logFiles(this.logDir);
      for (let i = 0; i + 1 < logs.length; i++) {
        const nextFirst = BigInt(`0x${logs[i + 1]!.slice("log.".length)}`);
        if (nextFirst <= oldestZxid + 1n) {
          rmSync(join(this.logDir, logs[i]!));
          removed.push(logs[i]!);
        }
      }
    }
    if (removed.length > 0) this.onPurged(removed);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    fsyncSync(this.logFd);
    closeSync(this.logFd);
    // A snapshot written after the last flush (its purge would have come with the next round), or
    // one the snapshotter wrote while stopping, its message to us lost with the worker.
    this.purge();
  }
}

function atomicWrite(path: string, bytes: Uint8Array): void {
  const temp = `${path}.tmp`;
  writeFileSync(temp, bytes);
  const fd = openSync(temp, "r+");
  fsyncSync(fd);
  closeSync(fd);
  renameSync(temp, path);
  fsyncDir(join(path, ".."));
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, "r");
  fsyncSync(fd);
  closeSync(fd);
}

const logFiles = (dir: string) =>
  readdirSync(dir)
    .filter((f) => /^log\.[0-9a-f]{16}$/.test(f))
    .sort();
const snapshotFiles = (dir: string) =>
  readdirSync(dir)
    .filter((f) => /^snapshot\.[0-9a-f]{16}$/.test(f))
    .sort();

function readEpochs(dir: string): { acceptedEpoch: number; currentEpoch: number } {
  try {
    const [accepted, current] = readFileSync(join(dir, "epochs"), "utf8")
      .trim()
      .split(/\s+/)
      .map(Number);
    return { acceptedEpoch: accepted ?? 0, currentEpoch: current ?? 0 };
  } catch {
    return { acceptedEpoch: 0, currentEpoch: 0 };
  }
}

/**
 * The newest snapshot older than `before` (a file name). Not checked here: the core checks its
 * checksum and digest as it decodes it, once (a million znodes take seconds), and the server
 * steps back with olderSnapshot when that fails.
 */
function newestSnapshot(
  dir: string,
  before?: string,
): { file: string; bytes: Uint8Array } | undefined {
  const file = snapshotFiles(dir)
    .reverse()
    .find((f) => before === undefined || f < before);
  return file === undefined ? undefined : { file, bytes: readWhole(join(dir, file)) };
}

/** A file's bytes, without copying them out of the Buffer that read them (a snapshot is large). */
function readWhole(path: string): Uint8Array {
  const buffer = readFileSync(path);
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/**
 * Every log record in order; a torn tail of the last file is cut off (it was never acknowledged).
 */
function readLogs(
  dir: string,
  notes: string[],
): { txns: Txn[]; lastLog: string | undefined; lastLogEnd: number } {
  const files = logFiles(dir);
  let txns: Txn[] = [];
  let lastLogEnd = 0;
  for (const [i, file] of files.entries()) {
    const path = join(dir, file);
    const bytes = readWhole(path);
    const decoded = decodeLog(bytes);
    // Not push(...decoded.txns): a spread passes every record as an argument on the stack, and a
    // log tail of 100,000 txns (snapCount's default) overflows it.
    if (txns.length === 0) txns = decoded.txns;
    else for (const txn of decoded.txns) txns.push(txn);
    if (decoded.tornTail) {
      if (i !== files.length - 1)
        throw new Error(`log ${file} is damaged before the last log file: refusing to start`);
      notes.push(
        `${file}: dropped a torn last record (${bytes.length - decoded.validBytes} bytes)`,
      );
      const fd = openSync(path, "r+");
      ftruncateSync(fd, decoded.validBytes);
      fsyncSync(fd);
      closeSync(fd);
    }
    lastLogEnd = decoded.validBytes;
  }
  const lastLog = files.length === 0 ? undefined : join(dir, files[files.length - 1]!);
  return { txns, lastLog, lastLogEnd };
}
