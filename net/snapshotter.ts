// Snapshots without stalling the commit path. Node has one event loop, and serializing a
// million-znode tree takes seconds, so the server keeps a second copy of the committed tree in a
// worker thread: the main thread posts the txns the core reports applied (cheap), and the
// worker applies them to its copy and, every snapCount/2 to snapCount txns (drawn, as ZooKeeper
// does), writes a consistent snapshot of it (temp file, fsync, rename) and says so; the main
// thread then rolls the txn log and purges.
// The same copy serves SNAP syncs: a leader's SYNC names its applied zxid, and the worker encodes
// its copy at that zxid (encodeAt), so a follower's catch-up does not stall the leader either.

import { Worker } from "node:worker_threads";
import type { Txn } from "../core/txn.ts";
import type { Zxid } from "../core/types.ts";
import { zxid } from "../core/types.ts";
import { packTxns } from "./txn-bytes.ts";

/** How long applied txns may wait before they go to the worker together. */
const feedIntervalMs = 10;

export type SnapshotterMessage =
  | {
      kind: "init";
      snapshot: Uint8Array | undefined;
      dataDir: string;
      snapCount: number;
      extendedTypesEnabled: boolean;
    }
  /** Txns packed by packTxns: one buffer moves to the worker instead of a clone of objects. */
  | { kind: "apply"; packed: Uint8Array }
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
  private readonly toEncode: {
    id: number;
    zxid: Zxid;
    resolve: (bytes: Uint8Array) => void;
    reject: (e: Error) => void;
  }[] = [];
  private readonly encoding = new Map<
    number,
    { zxid: Zxid; resolve: (bytes: Uint8Array) => void; reject: (e: Error) => void }
  >();
  private nextEncodeId = 1;
  /** Applied txns not yet posted to the worker, oldest first. */
  private unposted: Txn[] = [];
  private postTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: {
    snapshot: Uint8Array | undefined;
    startZxid: Zxid;
    dataDir: string;
    snapCount: number;
    extendedTypesEnabled: boolean;
    onWritten: (w: SnapshotWritten) => void;
    onError: (e: Error) => void;
  }) {
    this.appliedZxid = options.startZxid;
    // From the sources the worker needs tsx's loader; compiled, it is plain JavaScript.
    const compiled = import.meta.url.endsWith(".js");
    const script = compiled ? "./snapshotter-worker.js" : "./snapshotter-bootstrap.mjs";
    this.worker = new Worker(new URL(script, import.meta.url));
    this.worker.on("message", (m: SnapshotterReply) => {
      if (m.kind === "written") return options.onWritten(m);
      const request = this.encoding.get(m.id);
      if (request === undefined) return;
      this.encoding.delete(m.id);
      if (m.zxid === request.zxid) request.resolve(m.bytes);
      else
        request.reject(
          new Error(`snapshot copy at ${m.zxid.toString(16)}, not ${request.zxid.toString(16)}`),
        );
    });
    this.worker.on("error", options.onError);
    this.worker.unref();
    const init: SnapshotterMessage = {
      kind: "init",
      snapshot: options.snapshot,
      dataDir: options.dataDir,
      snapCount: options.snapCount,
      extendedTypesEnabled: options.extendedTypesEnabled,
    };
    // A snapshot that owns its whole buffer (a file read at start) moves to the worker instead of
    // being copied: hundreds of MB the caller no longer needs once the core decoded them.
    const bytes = options.snapshot;
    const owned =
      bytes !== undefined && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
    this.worker.postMessage(init, owned ? [bytes.buffer as ArrayBuffer] : []);
  }

  /**
   * The snapshot of the committed tree at `at`, encoded by the worker. Called while a step's
   * effects are carried out; the request goes to the worker after that step's txns (observe).
   * Rejects at once when the worker's copy is not current (the caller encodes inline instead).
   */
  encodeAt(at: Zxid): Promise<Uint8Array> {
    if (!this.current) return Promise.reject(new Error("the snapshot copy is not current"));
    return new Promise((resolve, reject) =>
      this.toEncode.push({ id: this.nextEncodeId++, zxid: at, resolve, reject }),
    );
  }

  get isCurrent(): boolean {
    return this.current;
  }

  /**
   * The core applied these txns (an `applied` effect): the worker applies them to its copy. They
   * go in one packed message every few milliseconds: a message per step cost a tenth of the
   * leader's CPU under write load, and one per turn of the event loop still woke the worker a
   * thousand times a second. The copy only has to be current when asked (endOfStep posts then).
   */
  applied(txns: readonly Txn[]): void {
    if (!this.current) return; // a replaced tree: the reset that follows starts the copy over
    this.appliedZxid = txns[txns.length - 1]!.zxid;
    for (const txn of txns) this.unposted.push(txn);
    if (this.postTimer === undefined)
      this.postTimer = setTimeout(() => this.postApplied(), feedIntervalMs);
  }

  private postApplied(): void {
    clearTimeout(this.postTimer);
    this.postTimer = undefined;
    if (this.unposted.length === 0) return;
    const packed = packTxns(this.unposted);
    this.unposted = [];
    const message: SnapshotterMessage = { kind: "apply", packed };
    this.worker.postMessage(message, [packed.buffer as ArrayBuffer]);
  }

  /** The core's tree was replaced (a SNAP): the copy is stale until the reset with its bytes. */
  treeReplaced(): void {
    this.current = false;
  }

  /** After a step's effects: this step's encodeAt requests, behind the txns posted before them. */
  endOfStep(): void {
    if (this.toEncode.length > 0) this.postApplied(); // the copy must reach the zxid asked for
    for (const request of this.toEncode.splice(0)) {
      this.encoding.set(request.id, request);
      const message: SnapshotterMessage = { kind: "encode", id: request.id };
      this.worker.postMessage(message);
    }
  }

  /**
   * The tree was replaced wholesale (a SNAP from the leader): start the copy over from its bytes.
   */
  reset(snapshot: Uint8Array, at: bigint): void {
    this.appliedZxid = zxid(at);
    this.current = true;
    this.unposted = []; // older than the snapshot that replaces them
    const message: SnapshotterMessage = { kind: "reset", snapshot };
    this.worker.postMessage(message);
  }

  stop(): Promise<number> {
    clearTimeout(this.postTimer);
    for (const request of [...this.toEncode.splice(0), ...this.encoding.values()])
      request.reject(new Error("server stopping"));
    this.encoding.clear();
    return this.worker.terminate();
  }
}
