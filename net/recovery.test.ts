// A server restarts on the data a long run leaves behind: a log tail of hundreds of thousands of
// txns after the last snapshot (snapCount is 100,000 by default), and serves every znode again.

import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { crc32 } from "../core/codec.ts";
import { decodeSnapshot } from "../core/storage.ts";
import { parseZooCfg } from "./config.ts";
import type { Logger } from "./log.ts";
import { ZkServer } from "./server.ts";
import { buildDataDir, nodePath } from "./test/data-dir.ts";
import { freePort, waitFor } from "./test/ensemble.ts";
import { ZkClient } from "./zk-client.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A data directory of the test's own, removed after it. */
function freshDataDir(): string {
  const dataDir = mkdtempSync(join(tmpdir(), "zk-recovery-"));
  dirs.push(dataDir);
  return dataDir;
}

/** A standalone server on `dataDir` on a free port, `extra` zoo.cfg lines added, started. */
async function startOn(
  dataDir: string,
  extra: string[] = [],
  log: Logger = () => {},
): Promise<{ server: ZkServer; port: number }> {
  const port = await freePort();
  const lines = [`dataDir=${dataDir}`, `clientPort=${port}`, "clientPortAddress=127.0.0.1"];
  const server = new ZkServer(parseZooCfg([...lines, ...extra].join("\n")).config, log);
  await server.start();
  return { server, port };
}

const leading = (server: ZkServer) =>
  waitFor(
    () =>
      server.inspect().status.role === "leading" && server.inspect().status.phase === "broadcast",
    30_000,
  );

describe("net: recovery of a large log tail", () => {
  it("starts from a snapshot and a 300,000-txn log after it, and serves all of it", async () => {
    const dataDir = freshDataDir();
    const built = buildDataDir(dataDir, { creates: 310_000, snapshotAfter: 10_000 });
    expect(built.logTxns).toBe(300_000);
    const { server, port } = await startOn(dataDir, ["tickTime=2000"]);
    try {
      await leading(server);
      // and /, /zookeeper, its quota and config
      expect(server.inspect().tree.size).toBe(310_000 + 4);
      const client = await ZkClient.connect("127.0.0.1", port);
      for (const i of [0, 9_999, 10_000, 200_000, 309_999]) {
        const reply = await client.request({ op: "getData", path: nodePath(i), watch: false });
        expect(reply.err).toBe(0);
        expect(reply.data!.length).toBe(100);
      }
      const children = await client.request({ op: "getChildren", path: "/", watch: false });
      expect(children.children!.length).toBe(310 + 1);
      await client.close();
    } finally {
      await server.stop();
    }
  }, 90_000);

  it("skips newer snapshots failing their checksum or digest for the one before", async () => {
    const dataDir = freshDataDir();
    buildDataDir(dataDir, { creates: 2_000, snapshotAfter: 1_000 });
    const good = readdirSync(dataDir).find((f) => f.startsWith("snapshot."))!;
    const bytes = new Uint8Array(readFileSync(join(dataDir, good)));
    // A later snapshot with its digest field changed and the checksum recomputed over the change.
    const badDigest = bytes.slice();
    badDigest[12 + 8 + 7]! ^= 1;
    new DataView(badDigest.buffer).setUint32(8, crc32(badDigest.subarray(12)));
    writeFileSync(join(dataDir, "snapshot.00000001ffffff00"), badDigest);
    const badChecksum = bytes.slice();
    badChecksum[bytes.length - 1]! ^= 1;
    writeFileSync(join(dataDir, "snapshot.00000001ffffff01"), badChecksum);
    const notes: string[] = [];
    const { server } = await startOn(dataDir, [], (_level, msg, fields) => {
      if (msg === "recovery") notes.push(String(fields!.note));
    });
    try {
      await leading(server);
      expect(notes).toEqual([
        "skipping damaged snapshot.00000001ffffff01: snapshot checksum mismatch",
        "skipping damaged snapshot.00000001ffffff00: snapshot digest mismatch",
      ]);
      expect(server.inspect().tree.size).toBe(2_000 + 4);
    } finally {
      await server.stop();
    }
  });

  it("snapshots the whole tree past a recovered tail", async () => {
    const dataDir = freshDataDir();
    // 4,000 recovered txns, applied in one step: the core's log keeps 500 of them (commitLogCount).
    buildDataDir(dataDir, { creates: 5_000, snapshotAfter: 1_000 });
    const { server } = await startOn(dataDir, ["snapCount=3000"]);
    try {
      await waitFor(() => server.snapshotsWritten >= 1, 30_000);
      const newest = readdirSync(dataDir)
        .filter((f) => /^snapshot\.[0-9a-f]{16}$/.test(f))
        .sort()
        .at(-1)!;
      const written = decodeSnapshot(new Uint8Array(readFileSync(join(dataDir, newest))), {
        extendedTypesEnabled: false,
      });
      expect(written.tree.size).toBe(5_000 + 4);
      expect(written.lastZxid).toBe(server.inspect().appliedZxid);
      expect(written.tree.digest()).toBe(server.inspect().tree.digest());
    } finally {
      await server.stop();
    }
  });

  it("writes snapshots in pieces while writes go on, each one the tree at its zxid", async () => {
    const dataDir = freshDataDir();
    // 20,000 nodes of 100 bytes: a snapshot of about 3 MB, a dozen pieces.
    buildDataDir(dataDir, { creates: 20_000, snapshotAfter: 20_000 });
    const written: { zxid: bigint; changedMeanwhile: number }[] = [];
    const { server, port } = await startOn(dataDir, ["snapCount=2000"], (_level, msg, fields) => {
      if (msg === "snapshot written") written.push(fields as (typeof written)[number]);
    });
    await waitFor(() => server.inspect().status.phase === "broadcast", 30_000);
    const client = await ZkClient.connect("127.0.0.1", port);
    try {
      // Pipelined rounds of setData over every node, so snapshots run while nodes change.
      const values = new Map<number, number>();
      for (let round = 0; written.length < 3 && round < 40; round++) {
        const writes: Promise<unknown>[] = [];
        for (let k = 0; k < 500; k++) {
          const i = (round * 7919 + k * 31) % 20_000;
          values.set(i, round);
          const data = new TextEncoder().encode(`round ${round}`);
          const path = nodePath(i);
          writes.push(client.request({ op: "setData", path, data, version: -1 }));
        }
        await Promise.all(writes);
      }
      await waitFor(() => written.length >= 3, 30_000);
      expect(written.some((w) => w.changedMeanwhile > 0)).toBe(true);
      for (const name of readdirSync(dataDir).filter((f) => /^snapshot\.[0-9a-f]{16}$/.test(f))) {
        // decodeSnapshot checks the checksum and that the nodes hash to the digest recorded when
        // the tree was captured: a node written as it was after the capture fails it.
        const snapshot = decodeSnapshot(new Uint8Array(readFileSync(join(dataDir, name))), {
          extendedTypesEnabled: false,
        });
        expect(snapshot.lastZxid.toString(16).padStart(16, "0")).toBe(name.slice(9));
        expect(snapshot.tree.size).toBe(20_000 + 4);
      }
    } finally {
      await client.close();
      await server.stop();
    }
  }, 90_000);
});
