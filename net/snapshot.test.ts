// The snapshotter writes snapshots in pieces from captures of the tree; a restart recovers from the
// newest one plus the log after it; old logs and snapshots are purged.

import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { utf8 } from "../core/bytes.ts";
import { openAclUnsafe } from "../core/types.ts";
import { startEnsemble, waitFor } from "./test/ensemble.ts";
import { ZkClient } from "./zk-client.ts";

describe("net: snapshots off the event loop", () => {
  it("snapshots every snapCount txns, recovers from snapshot + log, purges old files", async () => {
    const ensemble = await startEnsemble(1, "snapCount=50\nautopurge.snapRetainCount=3");
    const server = ensemble.servers[0]!;
    const client = await ZkClient.connect("127.0.0.1", ensemble.clientPorts[0]!);
    for (let i = 0; i < 400; i++) {
      const reply = await client.request({
        op: "create",
        path: `/n${i}`,
        data: utf8(`v${i}`),
        acl: openAclUnsafe,
        flags: 0,
        ttl: -1,
      });
      expect(reply.err).toBe(0);
    }
    await waitFor(() => server.snapshotsWritten >= 5, 20_000);
    await client.close();
    // Counted once the server has stopped: a snapshot may still be in flight until then.
    await server.stop();
    const dataDir = server.config.dataDir;
    const snapshots = readdirSync(dataDir).filter((f) => /^snapshot\.[0-9a-f]{16}$/.test(f));
    expect(snapshots.length).toBeGreaterThanOrEqual(1);
    expect(snapshots.length).toBeLessThanOrEqual(3);
    const logs = readdirSync(dataDir).filter((f) => /^log\.[0-9a-f]{16}$/.test(f));
    expect(logs.length).toBeLessThanOrEqual(4);
    // Restart on the same data directory: everything is back.
    const { ZkServer } = await import("./server.ts");
    const again = new ZkServer(server.config, () => {});
    await again.start();
    await waitFor(
      () =>
        again.inspect().status.role === "leading" && again.inspect().status.phase === "broadcast",
      20_000,
    );
    const reader = await ZkClient.connect("127.0.0.1", ensemble.clientPorts[0]!);
    for (const i of [0, 199, 399]) {
      const reply = await reader.request({ op: "getData", path: `/n${i}`, watch: false });
      expect(reply.err).toBe(0);
    }
    await reader.close();
    await again.stop();
    rmSync(join(dataDir, ".."), { recursive: true, force: true });
  }, 60_000);
});
