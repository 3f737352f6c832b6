// Snapshots without stalling the commit path and without a second copy of the tree. Node has one
// event loop, and serializing a million-znode tree takes seconds, so a snapshot is encoded from a
// copy-on-write capture of the core's tree (core/storage.ts SnapshotEncoder) a piece at a time,
// each piece written out before the next is made: the replica goes on stepping in between. Every
// snapCount/2 to snapCount applied txns (drawn, as ZooKeeper does) a snapshot file is written
// (temp file, fsync, rename) and the server is told, so that it rolls the txn log and purges.
// The same captures serve SNAP syncs: a leader's SYNC names its applied zxid, the tree is
// captured there and encoded in pieces, so a follower's catch-up does not stall the leader either.

import { open, rename } from "node:fs/promises";
import { join } from "node:path";
import { concatBytes } from "../core/bytes.ts";
import { snapshotHeaderBytes } from "../core/storage.ts";
import type { SnapshotEncoder } from "../core/storage.ts";
import type { Zxid } from "../core/types.ts";

/**
 * How much of a snapshot is encoded per piece: about a millisecond of the event loop, and the
 * tree keeps only the nodes that change during a snapshot, so the pieces may be small.
 */
const pieceBytes = 256 * 1024;

export interface SnapshotWritten {
  zxid: bigint;
  path: string;
  tookMs: number;
  znodes: number;
  /** Nodes that changed while it was written: the copies the tree kept for it. */
  changedMeanwhile: number;
}

/** Thrown into an encoding the tree replaced under it (a SNAP) or a stopping server gave up. */
class Abandoned extends Error {}

export class Snapshotter {
  private sinceSnapshot = 0;
  private snapAfter: number;
  /** The snapshot file being written, if any; at most one at a time. */
  private writing: Promise<void> | undefined;
  /** Encoders still running (a file, SNAP syncs): a replaced tree or a stop gives them up. */
  private readonly running = new Set<SnapshotEncoder>();
  private stopped = false;

  constructor(
    private readonly options: {
      capture: () => SnapshotEncoder;
      dataDir: string;
      snapCount: number;
      onWritten: (w: SnapshotWritten) => void;
      onError: (e: Error) => void;
    },
  ) {
    this.snapAfter = drawSnapAfter(options.snapCount);
  }

  /** The core applied `count` txns (an `applied` effect). */
  applied(count: number): void {
    this.sinceSnapshot += count;
    if (this.sinceSnapshot < this.snapAfter || this.writing !== undefined || this.stopped) return;
    this.sinceSnapshot = 0;
    this.snapAfter = drawSnapAfter(this.options.snapCount);
    this.writing = this.writeFile(this.start())
      .catch((error: Error) => {
        if (!(error instanceof Abandoned)) this.options.onError(error);
      })
      .finally(() => {
        this.writing = undefined;
      });
  }

  /**
   * The snapshot of the committed tree, which must be at `at` now (a SYNC's zxid, while its
   * step's effects are carried out), encoded in pieces between turns of the event loop.
   */
  encodeAt(at: Zxid): Promise<Uint8Array> {
    const encoder = this.start();
    if (encoder.zxid !== at) {
      this.finish(encoder);
      const error = `the tree is at ${encoder.zxid.toString(16)}, not ${at.toString(16)}`;
      return Promise.reject(new Error(error));
    }
    return this.encodeInMemory(encoder);
  }

  /** The core's tree was replaced (a SNAP): what was being encoded from the old one is dropped. */
  treeReplaced(): void {
    for (const encoder of this.running) encoder.release();
    this.running.clear();
  }

  /** Gives up every encoding and waits for a snapshot file being written to let go of it. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.treeReplaced();
    await this.writing;
  }

  private start(): SnapshotEncoder {
    const encoder = this.options.capture();
    this.running.add(encoder);
    return encoder;
  }

  private finish(encoder: SnapshotEncoder): void {
    encoder.release();
    this.running.delete(encoder);
  }

  /** The next piece, unless the encoding was given up meanwhile. */
  private nextPiece(encoder: SnapshotEncoder): Uint8Array {
    if (!this.running.has(encoder)) throw new Abandoned("snapshot given up");
    return encoder.nextPiece(pieceBytes);
  }

  private async encodeInMemory(encoder: SnapshotEncoder): Promise<Uint8Array> {
    try {
      const pieces: Uint8Array[] = [];
      while (!encoder.done) {
        pieces.push(this.nextPiece(encoder).slice()); // the encoder reuses its buffer
        if (!encoder.done) await new Promise((resolve) => setImmediate(resolve));
      }
      return concatBytes([encoder.header(), ...pieces]);
    } finally {
      this.finish(encoder);
    }
  }

  /** Writes the snapshot beside the log: the pieces after room for the header, then the header. */
  private async writeFile(encoder: SnapshotEncoder): Promise<void> {
    const started = performance.now();
    const { dataDir } = this.options;
    const path = join(dataDir, `snapshot.${encoder.zxid.toString(16).padStart(16, "0")}`);
    const temp = `${path}.tmp`;
    let changedMeanwhile = 0;
    try {
      const file = await open(temp, "w");
      try {
        let position = snapshotHeaderBytes;
        while (!encoder.done) {
          const piece = this.nextPiece(encoder);
          await file.write(piece, 0, piece.length, position);
          position += piece.length;
        }
        changedMeanwhile = encoder.changedSince;
        const header = encoder.header();
        await file.write(header, 0, header.length, 0);
        await file.sync();
      } finally {
        await file.close();
      }
    } finally {
      this.finish(encoder);
    }
    if (this.stopped) return; // a stopping server's last snapshot stays a temp file
    await rename(temp, path);
    const dir = await open(dataDir, "r");
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
    this.options.onWritten({
      zxid: encoder.zxid,
      path,
      tookMs: performance.now() - started,
      znodes: encoder.nodeCount,
      changedMeanwhile,
    });
  }
}

/**
 * As ZooKeeper does, the next snapshot comes after a random count in [snapCount/2 + 1, snapCount]:
 * members that apply the same txns would otherwise all write theirs at once, and a write burst
 * stalls the whole ensemble's commits together.
 */
function drawSnapAfter(count: number): number {
  if (!Number.isFinite(count)) return count;
  const half = Math.floor(count / 2);
  return half + 1 + Math.floor(Math.random() * (count - half));
}
