// Snapshots without stalling the commit path. Node has one event loop, and serializing a
// million-znode tree takes seconds, so the server keeps a second copy of the committed tree in a
// worker thread: after every step the main thread posts the txns the core applied (cheap), and the
// worker applies them to its copy and, every snapCount txns, writes a consistent snapshot of it
// (temp file, fsync, rename) and says so; the main thread then rolls the txn log and purges.

import { Worker } from "node:worker_threads";
import type { ReplicaState } from "../core/replica/state.ts";
import { logAfter } from "../core/replica/base.ts";
import type { Txn } from "../core/txn.ts";
import type { Zxid } from "../core/types.ts";
import { zxid } from "../core/types.ts";

export type SnapshotterMessage =
  | { kind: "init"; snapshot: Uint8Array | undefined; dataDir: string; snapCount: number; extendedTypesEnabled: boolean }
  | { kind: "apply"; txns: Txn[] }
  | { kind: "reset"; snapshot: Uint8Array };

export interface SnapshotWritten {
  zxid: bigint;
  path: string;
  tookMs: number;
  znodes: number;
}

export class Snapshotter {
  private readonly worker: Worker;
  private appliedZxid: Zxid;

  constructor(options: { snapshot: Uint8Array | undefined; startZxid: Zxid; dataDir: string; snapCount: number; extendedTypesEnabled: boolean; onWritten: (w: SnapshotWritten) => void; onError: (e: Error) => void }) {
    this.appliedZxid = options.startZxid;
    this.worker = new Worker(new URL("./snapshotter-bootstrap.mjs", import.meta.url));
    this.worker.on("message", (m: SnapshotWritten) => options.onWritten(m));
    this.worker.on("error", options.onError);
    this.worker.unref();
    const init: SnapshotterMessage = { kind: "init", snapshot: options.snapshot, dataDir: options.dataDir, snapCount: options.snapCount, extendedTypesEnabled: options.extendedTypesEnabled };
    this.worker.postMessage(init);
  }

  /** After a step: hand the worker what the core applied since last time. */
  observe(state: ReplicaState): void {
    const applied = state.db.lastZxid;
    if (applied === this.appliedZxid) return;
    const fresh = logAfter(state, this.appliedZxid).filter((t) => t.zxid <= applied);
    const contiguous = this.appliedZxid >= state.logBaseZxid && applied >= this.appliedZxid;
    if (!contiguous || fresh.length === 0 || fresh[fresh.length - 1]!.zxid !== applied) {
      // The log no longer shows the gap (a SNAP replaced the tree): the caller resets us with its bytes.
      this.appliedZxid = applied;
      return;
    }
    this.appliedZxid = applied;
    const message: SnapshotterMessage = { kind: "apply", txns: fresh };
    this.worker.postMessage(message);
  }

  /** The tree was replaced wholesale (a SNAP from the leader): start the copy over from its bytes. */
  reset(snapshot: Uint8Array, at: bigint): void {
    this.appliedZxid = zxid(at);
    const message: SnapshotterMessage = { kind: "reset", snapshot };
    this.worker.postMessage(message);
  }

  stop(): Promise<number> {
    return this.worker.terminate();
  }
}
