// A follower too far behind for a DIFF gets a SNAP, encoded by the leader in pieces from a capture
// of its tree (a large tree takes seconds to serialize, which must not stall the leader's loop).

import { afterAll, describe, expect, it } from "vitest";
import { utf8 } from "../core/bytes.ts";
import { openAclUnsafe } from "../core/types.ts";
import { ZkServer } from "./server.ts";
import type { TestEnsemble } from "./test/ensemble.ts";
import { startEnsemble, waitFor } from "./test/ensemble.ts";
import { ZkClient } from "./zk-client.ts";

let ensemble: TestEnsemble | undefined;
afterAll(async () => ensemble?.stop());

describe("net: SNAP sync encoded in pieces", () => {
  it("syncs a follower 200 txns behind with a snapshot, off the leader's event loop", async () => {
    ensemble = await startEnsemble(3, "commitLogCount=20");
    const e = ensemble;
    const leaderIndex = e.servers.findIndex((s) => s.inspect().status.role === "leading");
    const followerIndex = (leaderIndex + 1) % 3;
    const follower = e.servers[followerIndex]!;
    await follower.stop();

    const writer = await ZkClient.connect("127.0.0.1", e.clientPorts[leaderIndex]!);
    for (let i = 0; i < 200; i++) {
      // /n0 holds null data and /n1 empty data: the snapshot must keep them apart.
      const data = i === 0 ? null : i === 1 ? new Uint8Array(0) : utf8(`v${i}`);
      const path = `/n${i}`;
      const acl = openAclUnsafe;
      const reply = await writer.request({ op: "create", path, data, acl, flags: 0, ttl: -1 });
      expect(reply.err).toBe(0);
    }
    const leader = e.servers[leaderIndex]!;
    const snapshotSyncsBefore = leader.stats.snapshotSyncs;

    const restarted = new ZkServer(follower.config, () => {});
    e.servers[followerIndex] = restarted; // stopped with the ensemble
    await restarted.start();
    await waitFor(
      () =>
        restarted.inspect().status.role === "following" &&
        restarted.inspect().appliedZxid >= leader.inspect().appliedZxid,
      20_000,
    );
    expect(leader.stats.snapshotSyncs).toBe(snapshotSyncsBefore + 1);
    expect(leader.stats.snapshotSyncsInline).toBe(0);

    // The follower serves what it got from the snapshot, and keeps up with new writes after it.
    expect(
      (await writer.request({ op: "setData", path: "/n7", data: utf8("after"), version: -1 })).err,
    ).toBe(0);
    const reader = await ZkClient.connect("127.0.0.1", e.clientPorts[followerIndex]!);
    expect((await reader.request({ op: "sync", path: "/" })).err).toBe(0);
    for (const i of [0, 100, 199]) {
      const reply = await reader.request({ op: "getData", path: `/n${i}`, watch: false });
      expect(reply.err).toBe(0);
    }
    const changed = await reader.request({ op: "getData", path: "/n7", watch: false });
    expect(new TextDecoder().decode(changed.data!)).toBe("after");
    expect((await reader.request({ op: "getData", path: "/n0", watch: false })).data).toBeNull();
    const empty = await reader.request({ op: "getData", path: "/n1", watch: false });
    expect(empty.data).toEqual(new Uint8Array(0));
    expect(restarted.inspect().tree.get("/n0")!.data).toBeNull();
    expect(restarted.inspect().tree.digest()).toBe(leader.inspect().tree.digest());
    await reader.close();
    await writer.close();
  }, 60_000);
});
