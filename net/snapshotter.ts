// Snapshots without stalling the commit path. Node has one event loop, and serializing a
// million-znode tree takes seconds, so the server keeps a second copy of the committed tree in a
// worker thread: after every step the main thread posts the txns the core applied (cheap), and the
// worker applies them to its copy and, every snapCount txns, writes a consistent snapshot of it
// (temp file, fsync, rename) and says so; the main thread then rolls the txn log and purges.
// The same copy serves SNAP syncs: a leader's SYNC names its applied zxid, and the worker encodes
// its copy at that zxid (encodeAt), so a follower's catch-up does not stall the leader either.

import { Worker } from "node:worker_threads";
import type { ReplicaState } from "../core/replica/state.ts";
import type { DiskWrite } from "../core/replica/io.ts";
import type { Txn } from "../core/txn.ts";
import type { Zxid } from "../core/types.ts";
import { zxid } from "../core/types.ts";

export type SnapshotterMessage =
  | { kind: "init"; snapshot: Uint8Array | undefined; dataDir: string; snapCount: number; extendedTypesEnabled: boolean }
  | { kind: "apply"; txns: Txn[] }
  | { kind: "reset"; snapshot: Uint8Array }
  /** Encode the copy as it is after every txn posted before this message; answered by "encoded". */
  | { kind: "encode"; id: number };

export type SnapshotterReply =
  | ({ kind: "written" } & SnapshotWritten)
  | { kind: "encoded"; id: number; zxid: bigint; bytes: Uint8Array };

export interface SnapshotWritten {
  zxid: bigint;
  path: string;
  tookMs: number;
  znodes: number;
}

export class Snapshotter {
  private readonly worker: Worker;
  private appliedZxid: Zxid;
  /** False after a gap the worker was not fed (until a reset): its copy cannot serve encodeAt. */
  private current = true;
  /** encodeAt requests of the current step, posted after its txns (observe). */
  private readonly toEncode: { id: number; zxid: Zxid; resolve: (bytes: Uint8Array) => void; reject: (e: Error) => void }[] = [];
  private readonly encoding = new Map<number, { zxid: Zxid; resolve: (bytes: Uint8Array) => void; reject: (e: Error) => void }>();
  private nextEncodeId = 1;
  /**
   * Logged txns not yet handed to the worker, in log order; the recovered log at first. The copy
   * is fed from here, not from the core's in-memory log: that keeps only commitLogKeep txns, and
   * a recovered tail of 100,000 is applied (and trimmed) within one step.
   */
  private unfed: Txn[];

  constructor(options: {
    snapshot: Uint8Array | undefined;
    startZxid: Zxid;
    /** The recovered log (txns after startZxid are fed as the core applies them). */
    log: readonly Txn[];
    dataDir: string;
    snapCount: number;
    extendedTypesEnabled: boolean;
    onWritten: (w: SnapshotWritten) => void;
    onError: (e: Error) => void;
  }) {
    this.appliedZxid = options.startZxid;
    this.unfed = options.log.filter((txn) => txn.zxid > options.startZxid);
    this.worker = new Worker(new URL("./snapshotter-bootstrap.mjs", import.meta.url));
    this.worker.on("message", (m: SnapshotterReply) => {
      if (m.kind === "written") return options.onWritten(m);
      const request = this.encoding.get(m.id);
      if (request === undefined) return;
      this.encoding.delete(m.id);
      if (m.zxid === request.zxid) request.resolve(m.bytes);
      else request.reject(new Error(`snapshot copy at ${m.zxid.toString(16)}, not ${request.zxid.toString(16)}`));
    });
    this.worker.on("error", options.onError);
    this.worker.unref();
    const init: SnapshotterMessage = { kind: "init", snapshot: options.snapshot, dataDir: options.dataDir, snapCount: options.snapCount, extendedTypesEnabled: options.extendedTypesEnabled };
    // A snapshot that owns its whole buffer (a file read at start) moves to the worker instead of
    // being copied: hundreds of MB the caller no longer needs once the core decoded them.
    const bytes = options.snapshot;
    const owned =
      bytes !== undefined && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
    this.worker.postMessage(init, owned ? [bytes.buffer as ArrayBuffer] : []);
  }

  /**
   * The snapshot of the committed tree at `at`, encoded by the worker. Called while a step's effects
   * are carried out; the request goes to the worker after that step's txns (observe).
   * Rejects at once when the worker's copy is not current (the caller encodes inline instead).
   */
  encodeAt(at: Zxid): Promise<Uint8Array> {
    if (!this.current) return Promise.reject(new Error("the snapshot copy is not current"));
    return new Promise((resolve, reject) => this.toEncode.push({ id: this.nextEncodeId++, zxid: at, resolve, reject }));
  }

  get isCurrent(): boolean {
    return this.current;
  }

  /** After a step: hand the worker what the core applied since last time, then this step's encodeAt requests. */
  observe(state: ReplicaState): void {
    this.feed(state);
    for (const request of this.toEncode.splice(0)) {
      this.encoding.set(request.id, request);
      const message: SnapshotterMessage = { kind: "encode", id: request.id };
      this.worker.postMessage(message);
    }
  }

  /**
   * Every write of a persist effect, in order, before the step's observe: appends extend what the
   * worker is fed next, a TRUNC cuts it back, a snapshot (a SNAP) starts the copy over.
   */
  logged(write: DiskWrite): void {
    if (write.kind === "snapshot") return this.reset(write.bytes, write.zxid);
    if (!this.current) return;
    if (write.kind === "append") {
      for (const txn of write.txns) this.unfed.push(txn);
    } else if (write.kind === "truncate") {
      const unfed = this.unfed;
      while (unfed.length > 0 && unfed[unfed.length - 1]!.zxid > write.zxid) unfed.pop();
    }
  }

  private feed(state: ReplicaState): void {
    const applied = state.db.lastZxid;
    if (applied === this.appliedZxid) return;
    let count = 0;
    while (count < this.unfed.length && this.unfed[count]!.zxid <= applied) count++;
    const fresh = this.unfed.splice(0, count);
    const shown = count > 0 && fresh[count - 1]!.zxid === applied;
    if (!this.current || applied < this.appliedZxid || !shown) {
      // Applied txns we were not shown (cannot happen unless a SNAP replaced the tree, and the
      // caller resets us with its bytes): the copy cannot serve until then.
      this.appliedZxid = applied;
      this.current = false;
      this.unfed = [];
      return;
    }
    this.appliedZxid = applied;
    const message: SnapshotterMessage = { kind: "apply", txns: fresh };
    this.worker.postMessage(message);
  }

  /** The tree was replaced wholesale (a SNAP from the leader): start the copy over from its bytes. */
  reset(snapshot: Uint8Array, at: bigint): void {
    this.appliedZxid = zxid(at);
    this.current = true;
    this.unfed = [];
    const message: SnapshotterMessage = { kind: "reset", snapshot };
    this.worker.postMessage(message);
  }

  stop(): Promise<number> {
    for (const request of [...this.toEncode.splice(0), ...this.encoding.values()]) request.reject(new Error("server stopping"));
    this.encoding.clear();
    return this.worker.terminate();
  }
}
