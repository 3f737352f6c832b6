// A server restarts on the data a long run leaves behind: a log tail of hundreds of thousands of
// txns after the last snapshot (snapCount is 100,000 by default), and serves every znode again.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseZooCfg } from "./config.ts";
import { ZkServer } from "./server.ts";
import { buildDataDir, nodePath } from "./test/data-dir.ts";
import { freePort, waitFor } from "./test/ensemble.ts";
import { ZkClient } from "./zk-client.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("net: recovery of a large log tail", () => {
  it("starts from a snapshot and a 300,000-txn log after it, and serves all of it", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "zk-recovery-"));
    dirs.push(dataDir);
    const built = buildDataDir(dataDir, { creates: 310_000, snapshotAfter: 10_000 });
    expect(built.logTxns).toBe(300_000);
    const port = await freePort();
    const config = parseZooCfg([
      "tickTime=2000", `dataDir=${dataDir}`, `clientPort=${port}`, "clientPortAddress=127.0.0.1",
    ].join("\n")).config;
    const server = new ZkServer(config, () => {});
    await server.start();
    try {
      await waitFor(() => server.replica.role === "leading" && server.replica.leader!.phase === "broadcast", 30_000);
      expect(server.replica.db.tree.size).toBe(310_000 + 4); // and /, /zookeeper, its quota and config
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
});
