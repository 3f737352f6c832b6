import {
  appendFileSync,
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { utf8 } from "../core/bytes.ts";
import { Database } from "../core/database.ts";
import { encodeLogRecord, encodeSnapshot } from "../core/storage.ts";
import type { Txn } from "../core/txn.ts";
import { makeZxid, openAclUnsafe, sessionId } from "../core/types.ts";
import { FileStorage } from "./storage.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const txn = (counter: number): Txn => ({
  zxid: makeZxid(1, counter),
  sessionId: sessionId(1n),
  cxid: counter,
  timeMs: 1000,
  body: {
    type: "create",
    path: `/n${counter}`,
    data: utf8("x"),
    acl: openAclUnsafe,
    ephemeralOwner: 0n,
    parentCversion: counter,
  },
});

function open(dir: string, durable: number[], purged: string[] = []) {
  return FileStorage.open({
    dataDir: dir,
    dataLogDir: join(dir, "log"),
    retainSnapshots: 3,
    onDurable: (id) => durable.push(id),
    onPurged: (removed) => {
      for (const r of removed) purged.push(r);
    },
  });
}

async function settle(): Promise<void> {
  for (let i = 0; i < 50; i++) await new Promise((r) => setTimeout(r, 2));
}

describe("net: file storage", () => {
  it("persistDone after fsync, one report per round for many; recovers the state", async () => {
    const dir = mkdtempSync(join(tmpdir(), "zkstore-"));
    dirs.push(dir);
    const done: number[] = [];
    const { storage } = open(dir, done);
    for (let i = 1; i <= 50; i++) storage.enqueue(i, [{ kind: "append", txns: [txn(i)] }]);
    storage.enqueue(51, [{ kind: "epochs", acceptedEpoch: 3, currentEpoch: 2 }]);
    expect(done).toEqual([]); // nothing is durable before the fsync round ran
    await settle();
    // Each report covers every persist up to its id: increasing, ending at the last one, one per
    // fsync round.
    expect(done.at(-1)).toBe(51);
    expect(done).toEqual([...done].sort((a, b) => a - b));
    expect(new Set(done).size).toBe(done.length);
    expect(done.length).toBe(storage.stats.fsyncs);
    expect(storage.stats.fsyncs).toBeLessThan(5);
    storage.close();
    const { durable } = open(dir, []);
    expect(durable.acceptedEpoch).toBe(3);
    expect(durable.currentEpoch).toBe(2);
    expect(durable.log.map((t) => t.cxid)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  it("drops a torn last record on recovery, truncating the file to the valid records", async () => {
    const dir = mkdtempSync(join(tmpdir(), "zkstore-"));
    dirs.push(dir);
    const { storage } = open(dir, []);
    storage.enqueue(1, [{ kind: "append", txns: [txn(1), txn(2)] }]);
    await settle();
    storage.close();
    const logDir = join(dir, "log");
    appendFileSync(join(logDir, readdirSync(logDir)[0]!), new Uint8Array([0, 0, 0, 40, 1, 2, 3]));
    const { durable, recoveryNotes } = open(dir, []);
    expect(durable.log.map((t) => t.cxid)).toEqual([1, 2]);
    expect(recoveryNotes.join()).toMatch(/torn/);
    expect(open(dir, []).recoveryNotes).toEqual([]);
  });

  it("grows the log by zeros ahead of its records, and reads them as its end", async () => {
    const dir = mkdtempSync(join(tmpdir(), "zkstore-"));
    dirs.push(dir);
    const logDir = join(dir, "log");
    const first = open(dir, []).storage;
    first.enqueue(1, [{ kind: "append", txns: [txn(1), txn(2)] }]);
    await settle();
    first.close();
    const file = join(logDir, readdirSync(logDir)[0]!);
    const records = encodeLogRecord(txn(1)).length + encodeLogRecord(txn(2)).length;
    expect(statSync(file).size).toBeGreaterThanOrEqual(records + (4 << 20));
    const again = open(dir, []);
    expect(again.recoveryNotes).toEqual([]);
    expect(again.durable.log.map((t) => t.cxid)).toEqual([1, 2]);
    // The next record goes right after the recovered ones, over the zeros.
    again.storage.enqueue(1, [{ kind: "append", txns: [txn(3)] }]);
    await settle();
    again.storage.close();
    const last = open(dir, []);
    expect(last.recoveryNotes).toEqual([]);
    expect(last.durable.log.map((t) => t.cxid)).toEqual([1, 2, 3]);
    last.storage.close();
  });

  it("after close, leaves the log's descriptor alone, with a round due or syncing", async () => {
    for (const syncing of [false, true]) {
      const dir = mkdtempSync(join(tmpdir(), "zkstore-"));
      dirs.push(dir);
      const done: number[] = [];
      const { storage } = open(dir, done);
      storage.enqueue(1, [{ kind: "append", txns: [txn(1)] }]);
      if (syncing) {
        await new Promise((r) => setImmediate(r)); // the round ran; its fdatasync is under way
        storage.enqueue(2, [{ kind: "append", txns: [txn(2)] }]);
      }
      storage.close();
      // The number close freed goes to the next file opened: nothing of the log may land there.
      const other = join(dir, "other");
      const fd = openSync(other, "w+");
      await settle();
      closeSync(fd);
      expect(statSync(other).size).toBe(0);
      expect(done).toEqual([]);
    }
  });

  it("removes a snapshot's temp file left by a crash, and recovers without it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "zkstore-"));
    dirs.push(dir);
    const { storage } = open(dir, []);
    storage.enqueue(1, [{ kind: "append", txns: [txn(1)] }]);
    await settle();
    storage.close();
    const leftover = join(dir, "snapshot.0000000100000001.tmp");
    writeFileSync(leftover, new Uint8Array([1, 2, 3]));
    const { durable, recoveryNotes } = open(dir, []);
    expect(existsSync(leftover)).toBe(false);
    expect(recoveryNotes).toEqual(["removed unfinished snapshot.0000000100000001.tmp"]);
    expect(durable.snapshot).toBeUndefined();
    expect(durable.log.map((t) => t.cxid)).toEqual([1]);
  });

  it("truncates an uncommitted tail, rolls logs at snapshots, keeps newest snapshots", async () => {
    const dir = mkdtempSync(join(tmpdir(), "zkstore-"));
    dirs.push(dir);
    const purged: string[] = [];
    const { storage } = open(dir, [], purged);
    storage.enqueue(1, [
      { kind: "append", txns: [txn(1), txn(2), txn(3)] },
      { kind: "truncate", zxid: makeZxid(1, 1) },
    ]);
    const db = new Database({ extendedTypesEnabled: false });
    for (let i = 0; i < 5; i++)
      storage.enqueue(2 + i, [
        {
          kind: "snapshot",
          zxid: makeZxid(1, 10 + i),
          bytes: encodeSnapshot(db),
          replaceLog: false,
        },
      ]);
    storage.enqueue(9, [{ kind: "append", txns: [txn(20)] }]);
    await settle();
    storage.close();
    const { durable } = open(dir, []);
    expect(durable.log.map((t) => t.cxid)).toEqual([20]);
    expect(readdirSync(dir).filter((f) => f.startsWith("snapshot.")).length).toBe(3);
    expect(durable.snapshot).toBeDefined();
    // The purge says what it removed (the server logs it): the two oldest snapshots, and logs.
    const purgedSnapshots = purged.filter((f) => f.startsWith("snapshot."));
    expect(purgedSnapshots).toEqual(["snapshot.000000010000000a", "snapshot.000000010000000b"]);
    expect(purged.some((f) => f.startsWith("log."))).toBe(true);
  });
});
