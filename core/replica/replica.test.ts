import { describe, expect, it } from "vitest";
import { utf8, fromUtf8 } from "../bytes.ts";
import { Err } from "../errors.ts";
import { CreateMode, openAclUnsafe } from "../types.ts";
import type { ClientOp } from "./io.ts";
import { Cluster } from "./test/cluster.ts";
import { connectionRequestsMax } from "../limits.ts";
import type { ClientView } from "./test/cluster.ts";

const create = (path: string, data = "", flags = 0): ClientOp => ({
  op: "create",
  path,
  data: utf8(data),
  acl: openAclUnsafe,
  flags,
  ttl: -1,
});
const getData = (path: string, watch = false): ClientOp => ({ op: "getData", path, watch });

function elect(ids = [1, 2, 3]): Cluster {
  const cluster = new Cluster(ids);
  cluster.run(2_000);
  expect(cluster.leader()).toBeDefined();
  return cluster;
}

function connected(cluster: Cluster, node: number, timeoutMs?: number): ClientView {
  const client = cluster.connect(node, timeoutMs === undefined ? {} : { timeoutMs });
  cluster.stabilize();
  expect(client.closed).toBeUndefined();
  expect(client.sessionId).toBeDefined();
  return client;
}

describe("replica: election and broadcast", () => {
  it("elects the node with the highest id among equals and replicates a write to all", () => {
    const cluster = elect();
    expect(cluster.leader()).toBe(3);
    const client = connected(cluster, 1);
    cluster.request(client, 1, create("/a", "x"));
    cluster.stabilize();
    expect(client.replies.get(1)).toMatchObject({ err: Err.OK, path: "/a" });
    for (const id of [1, 2, 3]) expect(cluster.view(id).tree.get("/a")).toBeDefined();
    const digests = [1, 2, 3].map((id) => cluster.view(id).tree.digest());
    expect(new Set(digests).size).toBe(1);
  });

  it("a single server elects itself and serves", () => {
    const cluster = elect([1]);
    const client = connected(cluster, 1);
    cluster.request(client, 1, create("/solo"));
    cluster.stabilize();
    expect(client.replies.get(1)?.err).toBe(Err.OK);
  });

  it("keeps per-client FIFO: a read after a write on a follower sees the write", () => {
    const cluster = elect();
    const client = connected(cluster, 1);
    cluster.request(client, 1, create("/k", "v1"));
    cluster.request(client, 2, getData("/k"));
    cluster.stabilize();
    expect(client.replies.get(1)?.err).toBe(Err.OK);
    expect(fromUtf8(client.replies.get(2)!.data!)).toBe("v1");
  });

  it("does not commit without a quorum, and commits once one is back", () => {
    const cluster = elect();
    const client = connected(cluster, 3);
    cluster.partition([3]);
    cluster.request(client, 1, create("/lonely"));
    cluster.stabilize();
    expect(client.replies.get(1)).toBeUndefined();
    expect(cluster.view(3).tree.get("/lonely")).toBeUndefined();
  });

  it("a follower that accepted a later epoch (a failed attempt's) gets one it can follow", () => {
    const cluster = elect();
    const leader = cluster.leader()!;
    const epoch = cluster.view(leader).currentEpoch;
    const behind = [1, 2, 3].find((id) => id !== leader)!;
    cluster.crash(behind);
    // What a leader attempt that reached only this server leaves on its disk: a promise not to
    // follow any epoch below epoch + 2. Without a new election it could never rejoin.
    cluster.node(behind).disk.acceptedEpoch = epoch + 2;
    cluster.start(behind);
    cluster.run(5_000);
    const newLeader = cluster.leader()!;
    expect(cluster.view(newLeader).currentEpoch).toBeGreaterThanOrEqual(epoch + 2);
    expect(cluster.view(behind).status.role).toBe("following");
    expect(cluster.view(behind).currentEpoch).toBe(cluster.view(newLeader).currentEpoch);
  });

  it("elects a new leader after the leader crashes, keeping every acknowledged write", () => {
    const cluster = elect();
    const client = connected(cluster, 1);
    for (let i = 1; i <= 5; i++) cluster.request(client, i, create(`/n${i}`));
    cluster.stabilize();
    expect([...client.replies.values()].every((r) => r.err === Err.OK)).toBe(true);
    cluster.crash(3);
    cluster.run(3_000);
    const leader = cluster.leader();
    expect(leader).toBeDefined();
    expect(leader).not.toBe(3);
    for (let i = 1; i <= 5; i++) expect(cluster.view(leader!).tree.get(`/n${i}`)).toBeDefined();
    cluster.start(3);
    cluster.run(3_000);
    expect(cluster.view(3).status.role).toBe("following");
    expect(cluster.view(3).tree.digest()).toBe(cluster.view(leader!).tree.digest());
  });

  it("sessions: ephemerals vanish when the session expires", () => {
    const cluster = elect();
    const client = connected(cluster, 2, 1000);
    cluster.request(client, 1, create("/eph", "", CreateMode.EPHEMERAL));
    cluster.stabilize();
    expect(cluster.view(3).tree.get("/eph")).toBeDefined();
    cluster.input(2, { type: "clientDisconnect", connId: client.connId });
    cluster.run(10_000);
    expect(cluster.view(3).tree.get("/eph")).toBeUndefined();
    expect(cluster.view(1).sessions.has(client.sessionId!)).toBe(false);
  });

  // The core's clock used to move only on ticks, so a ping between two ticks was dated at the
  // earlier one and the session expired up to a tick early (2 s with ZooKeeper's tickTime).
  for (const [where, ids, node] of [
    ["the leader", [1, 2, 3], 3],
    ["a follower", [1, 2, 3], 1],
    ["a standalone server", [1], 1],
  ] as const) {
    it(`a session pinged between ticks on ${where} lives its whole timeout after the ping`, () => {
      const tickMs = 2_000;
      const timeoutMs = 4_000;
      const cluster = new Cluster([...ids], { tickMs, maxSessionTimeoutMs: 60_000 });
      cluster.run(20_000);
      expect(cluster.leader()).toBe(ids.length);
      const client = connected(cluster, node, timeoutMs);
      const sessionId = client.sessionId!;
      cluster.tick(tickMs); // a tick has just passed everywhere
      cluster.nowMs += tickMs - 100; // most of a tick later, with no tick in between
      cluster.request(client, 1, { op: "ping" });
      cluster.stabilize();
      const lastHeardMs = cluster.nowMs;
      cluster.input(node, { type: "clientDisconnect", connId: client.connId });
      const leader = cluster.leader()!;
      while (cluster.view(leader).sessions.has(sessionId)) {
        cluster.tick(50);
        cluster.stabilize();
        expect(cluster.nowMs - lastHeardMs).toBeLessThan(timeoutMs + 3 * tickMs);
      }
      expect(cluster.nowMs - lastHeardMs).toBeGreaterThanOrEqual(timeoutMs);
    });
  }

  it("hangs up on a client with more requests outstanding than its connection may hold", () => {
    const cluster = elect();
    const client = connected(cluster, 1);
    // A sync on a follower waits for the leader's quorum round: nothing is answered meanwhile.
    for (let xid = 1; xid <= connectionRequestsMax; xid++)
      cluster.request(client, xid, { op: "sync", path: "/" });
    expect(client.closed).toBeUndefined();
    cluster.request(client, connectionRequestsMax + 1, { op: "sync", path: "/" });
    expect(client.closed).toMatch(/requests outstanding/);
  });

  it("a write pipelined behind a sync is answered after it, with a later zxid", () => {
    const cluster = elect();
    const client = connected(cluster, 1); // a follower: the sync waits for the leader's round
    cluster.request(client, 1, create("/s"));
    cluster.stabilize();
    cluster.request(client, 2, { op: "sync", path: "/s" });
    cluster.request(client, 3, { op: "setData", path: "/s", data: utf8("after"), version: -1 });
    cluster.run(1_000);
    const sync = client.replies.get(2)!;
    const write = client.replies.get(3)!;
    expect(write.err).toBe(Err.OK);
    // A session's replies never go back in time: the write the session sent after the sync cannot
    // be already applied when the sync is answered.
    expect(write.zxid).toBeGreaterThan(sync.zxid);
  });

  it("dates a znode with the time its request reached the leader, not the last tick", () => {
    const cluster = elect();
    const client = connected(cluster, 3);
    cluster.nowMs += 77;
    cluster.request(client, 1, create("/dated"));
    cluster.stabilize();
    expect(cluster.view(1).tree.get("/dated")!.ctime).toBe(cluster.nowMs);
  });

  it("watches fire before the reply that reflects the change", () => {
    const cluster = elect();
    const watcher = connected(cluster, 1);
    const writer = connected(cluster, 2);
    cluster.request(writer, 1, create("/w", "a"));
    cluster.stabilize();
    cluster.request(watcher, 1, getData("/w", true));
    cluster.stabilize();
    cluster.request(writer, 2, { op: "setData", path: "/w", data: utf8("b"), version: -1 });
    cluster.request(watcher, 2, getData("/w"));
    cluster.stabilize();
    expect(watcher.events).toHaveLength(1);
    expect(watcher.events[0]).toMatchObject({ path: "/w" });
  });

  it("sync then read through a follower is answered only with the leader's quorum", () => {
    const cluster = elect();
    const client = connected(cluster, 1);
    cluster.request(client, 1, { op: "sync", path: "/" });
    cluster.stabilize();
    expect(client.replies.get(1)?.err).toBe(Err.OK);
  });

  it("refuses a client that has seen a newer zxid than the server has applied", () => {
    const cluster = elect();
    const writer = connected(cluster, 3);
    cluster.request(writer, 1, create("/x"));
    cluster.stabilize();
    const ahead = cluster.connect(1, {
      lastZxidSeen: (cluster.view(3).appliedZxid + 100n) as never,
    });
    cluster.stabilize();
    expect(ahead.closed).toMatch(/ahead of this server/);
  });

  it("re-registers watches after a session moves (setWatches fires what changed meanwhile)", () => {
    const cluster = elect();
    const client = connected(cluster, 1);
    cluster.request(client, 1, create("/w", "a"));
    cluster.request(client, 2, getData("/w", true));
    cluster.stabilize();
    const seen = client.lastZxid;
    cluster.input(1, { type: "clientDisconnect", connId: client.connId });
    const writer = connected(cluster, 2);
    cluster.request(writer, 1, { op: "setData", path: "/w", data: utf8("b"), version: -1 });
    cluster.stabilize();
    const moved = cluster.connect(3, {
      sessionId: client.sessionId!,
      password: client.password,
      lastZxidSeen: seen,
    });
    cluster.stabilize();
    expect(moved.sessionId).toBe(client.sessionId);
    cluster.request(moved, 3, {
      op: "setWatches",
      relativeZxid: seen,
      data: ["/w"],
      exist: [],
      child: [],
      persistent: [],
      persistentRecursive: [],
    });
    cluster.stabilize();
    expect(moved.events.map((e) => [e.type, e.path])).toEqual([[3, "/w"]]);
  });

  it("answers addWatch, checkWatches and removeWatches with ZooKeeper's codes", () => {
    const cluster = elect();
    const client = connected(cluster, 1);
    cluster.request(client, 1, { op: "addWatch", path: "/p", mode: 1 });
    cluster.request(client, 2, { op: "checkWatches", path: "/p", watcherType: 5 });
    cluster.request(client, 3, { op: "removeWatches", path: "/p", watcherType: 5 });
    cluster.request(client, 4, { op: "checkWatches", path: "/p", watcherType: 5 });
    cluster.request(client, 5, { op: "addWatch", path: "/p", mode: 7 });
    cluster.request(client, 6, { op: "removeWatches", path: "/p", watcherType: 9 });
    cluster.stabilize();
    expect([1, 2, 3, 4, 5, 6].map((xid) => client.replies.get(xid)?.err)).toEqual([
      Err.OK,
      Err.OK,
      Err.OK,
      Err.NOWATCHER,
      Err.MARSHALLINGERROR,
      Err.MARSHALLINGERROR,
    ]);
  });

  it("the leader reaps empty containers and expired TTLs with txns every replica applies", () => {
    const cluster = new Cluster([1, 2, 3], { extendedTypesEnabled: true });
    cluster.run(2_000);
    const client = connected(cluster, 1);
    cluster.request(client, 1, {
      op: "createContainer",
      path: "/c",
      data: utf8(""),
      acl: openAclUnsafe,
      flags: CreateMode.CONTAINER,
      ttl: -1,
    });
    cluster.request(client, 2, create("/c/child"));
    cluster.request(client, 3, {
      op: "createTTL",
      path: "/t",
      data: utf8(""),
      acl: openAclUnsafe,
      flags: CreateMode.PERSISTENT_WITH_TTL,
      ttl: 500,
    });
    cluster.request(client, 4, { op: "delete", path: "/c/child", version: -1 });
    cluster.stabilize();
    expect([1, 2, 3, 4].map((xid) => client.replies.get(xid)?.err)).toEqual([0, 0, 0, 0]);
    cluster.run(2_000);
    for (const id of [1, 2, 3]) {
      expect(cluster.view(id).tree.get("/c")).toBeUndefined();
      expect(cluster.view(id).tree.get("/t")).toBeUndefined();
    }
  });
});
