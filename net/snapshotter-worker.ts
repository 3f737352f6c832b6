// The snapshot worker: a copy of the committed tree, fed the txns the server applied; it writes a
// snapshot every snapCount txns or so. See snapshotter.ts.

import { closeSync, fsyncSync, openSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parentPort } from "node:worker_threads";
import { Database } from "../core/database.ts";
import { decodeSnapshot, encodeSnapshot } from "../core/storage.ts";
import type { SnapshotterMessage } from "./snapshotter.ts";
import { unpackTxns } from "./txn-bytes.ts";

let db: Database | undefined;
let dataDir = "";
let snapCount = 100_000;
let sinceSnapshot = 0;
let snapAfter = 100_000;

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
let extended = false;

const load = (bytes: Uint8Array | undefined) =>
  bytes === undefined
    ? new Database({ extendedTypesEnabled: extended })
    : decodeSnapshot(bytes, { extendedTypesEnabled: extended });

function writeSnapshot(): void {
  const started = performance.now();
  const bytes = encodeSnapshot(db!);
  const path = join(dataDir, `snapshot.${db!.lastZxid.toString(16).padStart(16, "0")}`);
  const temp = `${path}.tmp`;
  writeFileSync(temp, bytes);
  const fd = openSync(temp, "r+");
  fsyncSync(fd);
  closeSync(fd);
  renameSync(temp, path);
  const dir = openSync(dataDir, "r");
  fsyncSync(dir);
  closeSync(dir);
  parentPort!.postMessage({
    kind: "written",
    zxid: db!.lastZxid,
    path,
    tookMs: performance.now() - started,
    znodes: db!.tree.size,
  });
}

parentPort!.on("message", (m: SnapshotterMessage) => {
  switch (m.kind) {
    case "init":
      dataDir = m.dataDir;
      snapCount = m.snapCount;
      snapAfter = drawSnapAfter(snapCount);
      extended = m.extendedTypesEnabled;
      db = load(m.snapshot);
      return;
    case "reset":
      db = load(m.snapshot);
      sinceSnapshot = 0;
      return;
    case "encode": {
      const bytes = encodeSnapshot(db!);
      parentPort!.postMessage({ kind: "encoded", id: m.id, zxid: db!.lastZxid, bytes }, [
        bytes.buffer as ArrayBuffer,
      ]);
      return;
    }
    case "apply":
      for (const txn of unpackTxns(m.packed)) {
        if (txn.zxid <= db!.lastZxid) continue;
        db!.applyTxn(txn);
        sinceSnapshot++;
      }
      if (sinceSnapshot >= snapAfter) {
        sinceSnapshot = 0;
        snapAfter = drawSnapAfter(snapCount);
        writeSnapshot();
      }
      return;
  }
});
