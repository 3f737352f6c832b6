// The client across server failures: a 3-member ensemble loses the member a client is on; the
// client moves to another with the same session, its ephemerals and every kind of watch kept,
// including changes made while it was away. With no server at all, calls time out, queued calls
// wait for the next connection, and a session silent past its timeout is declared expired.

import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { frame, Framer } from "../framing.ts";
import { JuteWriter } from "../jute-io.ts";
import type { TestCluster } from "../testing.ts";
import { startTestEnsemble, startTestServer } from "../testing.ts";
import { decodeConnectRequest } from "../wire.ts";
import type { ConnectionState } from "./index.ts";
import {
  ConnectionLossError,
  RequestTimeoutError,
  SessionExpiredError,
  text,
  ZooKeeperClient,
} from "./index.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await sleep(10);
  }
}

const memberOf = (cluster: TestCluster, client: ZooKeeperClient) =>
  cluster.members.find((m) => m.connectString === client.connectedServer)!;

/**
 * The followers' connect string: a test that kills its client's member to see the client move
 * must not kill the leader, whose death drops every client while an election runs (the leader's
 * death has tests of its own).
 */
const followersOf = (cluster: TestCluster) =>
  cluster.members
    .filter((m) => m.id !== cluster.leader())
    .map((m) => m.connectString)
    .join(",");

let cluster: TestCluster | undefined;
const clients: ZooKeeperClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  await cluster?.stop();
  cluster = undefined;
});

async function connect(connectString: string, options = {}): Promise<ZooKeeperClient> {
  const client = await ZooKeeperClient.connect(connectString, {
    sessionTimeoutMs: 6_000,
    ...options,
  });
  clients.push(client);
  return client;
}

describe("client failover", () => {
  it("moves to another member with its session, ephemerals and every watch", async () => {
    cluster = await startTestEnsemble(3);
    const client = await connect(followersOf(cluster));
    const states: ConnectionState[] = [];
    client.on("state", (s) => states.push(s));
    const session = client.sessionId;
    const first = memberOf(cluster, client);
    await client.create("/a", "0");
    await client.create("/p");
    await client.create("/r");
    await client.create("/eph", "", { mode: "ephemeral" });
    const events: string[] = [];
    const record = (name: string) => (e: { type: string; path: string }) =>
      events.push(`${name} ${e.type} ${e.path}`);
    await client.getData("/a", { watch: record("data") });
    await client.getChildren("/a", { watch: record("child") });
    await client.exists("/missing", { watch: record("exist") });
    await client.addWatch("/p", record("persistent"), "persistent");
    await client.addWatch("/r", record("recursive"), "persistentRecursive");

    const other = await connect(
      cluster.members
        .filter((m) => m.id !== first.id)
        .map((m) => m.connectString)
        .join(","),
    );
    const inFlight = client.getData("/a").catch((e: unknown) => e);
    await cluster.kill(first.id);
    expect(await inFlight).toBeInstanceOf(ConnectionLossError);
    // Changes while the client is between servers: setWatches2 from its last zxid fires the
    // one-shot watches whose change it missed. Persistent and recursive watches are re-added only
    // (as ZooKeeper does), so their changes come after the move: made earlier, they are missed
    // whenever the reconnect is slower than the writes (when the killed member led, say).
    await other.setData("/a", "1");
    await other.create("/a/child");
    await other.create("/missing");
    await until(() => client.state === "connected");
    await until(() => events.length >= 3);
    expect(events.sort()).toEqual([
      "child NodeChildrenChanged /a",
      "data NodeDataChanged /a",
      "exist NodeCreated /missing",
    ]);
    expect(client.sessionId).toBe(session);
    expect(client.connectedServer).not.toBe(first.connectString);
    expect(states).toEqual(["disconnected", "connected"]);
    expect(await other.exists("/eph")).not.toBeNull();
    // The persistent ones were carried over, and stay after they fire.
    await other.setData("/p", "x");
    await other.create("/r/deep");
    await other.setData("/p", "y");
    await other.setData("/r/deep", "z");
    await until(() => events.length >= 7);
    expect(events.slice(3).sort()).toEqual([
      "persistent NodeDataChanged /p",
      "persistent NodeDataChanged /p",
      "recursive NodeCreated /r/deep",
      "recursive NodeDataChanged /r/deep",
    ]);
    expect(text((await client.getData("/a")).data)).toBe("1");
  }, 60_000);

  it("re-registers more watches than fit in one setWatches packet", async () => {
    cluster = await startTestEnsemble(3);
    const client = await connect(followersOf(cluster));
    const first = memberOf(cluster, client);
    const other = await connect(
      cluster.members
        .filter((m) => m.id !== first.id)
        .map((m) => m.connectString)
        .join(","),
    );
    // 10,000 paths of ~110 bytes: more than a frame may hold (jute.maxbuffer, 1 MB) in one packet.
    const paths = Array.from({ length: 10_000 }, (_, i) => `/w-${"x".repeat(100)}-${i}`);
    const fired = new Set<string>();
    await Promise.all(paths.map((p) => client.exists(p, { watch: (e) => fired.add(e.path) })));
    await cluster.kill(first.id);
    await until(() => client.state === "connected");
    const chosen = [paths[0]!, paths[4_999]!, paths[9_999]!];
    for (const p of chosen) await other.create(p);
    await until(() => fired.size === chosen.length);
    expect([...fired].sort()).toEqual([...chosen].sort());
  }, 60_000);

  it("backs off between rounds of failed attempts", async () => {
    const accepted: number[] = [];
    const refuser = createServer((socket) => {
      accepted.push(Date.now());
      socket.destroy();
    });
    await new Promise<void>((resolve) => refuser.listen(0, "127.0.0.1", resolve));
    const port = (refuser.address() as AddressInfo).port;
    const failure = ZooKeeperClient.connect(`127.0.0.1:${port}`, {
      initialConnectTimeoutMs: 1_500,
      backoffBaseMs: 100,
      backoffMaxMs: 400,
      random: () => 0,
    }).catch((e: unknown) => e);
    expect(await failure).toBeInstanceOf(ConnectionLossError);
    await new Promise((resolve) => refuser.close(resolve));
    // random() = 0 takes half of each ceiling: 100, 200, 200, ... ms after the first attempt.
    const gaps = accepted.slice(1).map((t, i) => t - accepted[i]!);
    expect(accepted.length).toBeGreaterThanOrEqual(4);
    expect(accepted.length).toBeLessThanOrEqual(10);
    expect(gaps[0]).toBeGreaterThanOrEqual(90);
    expect(Math.min(...gaps.slice(1))).toBeGreaterThanOrEqual(190);
  }, 30_000);

  it("asks for and reports a read-only server", async () => {
    let askedReadOnly: boolean | undefined;
    const readOnlyServer = createServer((socket) => {
      const framer = new Framer(1 << 20);
      socket.on("data", (chunk: Buffer) => {
        for (const payload of framer.push(new Uint8Array(chunk))) {
          if (askedReadOnly !== undefined) continue;
          askedReadOnly = decodeConnectRequest(payload).readOnly;
          const password = new Uint8Array(16);
          const response = new JuteWriter().int(0).int(4_000).long(0n).buffer(password).bool(true);
          socket.write(frame(response.finish()));
        }
      });
      socket.on("error", () => {});
    });
    await new Promise<void>((resolve) => readOnlyServer.listen(0, "127.0.0.1", resolve));
    const port = (readOnlyServer.address() as AddressInfo).port;
    const client = await connect(`127.0.0.1:${port}`, { canBeReadOnly: true });
    expect(askedReadOnly).toBe(true);
    expect(client.state).toBe("connectedReadOnly");
    clients.splice(clients.indexOf(client), 1);
    await client.close();
    await new Promise((resolve) => readOnlyServer.close(resolve));
  });

  it("survives the leader's death, and the one after", async () => {
    cluster = await startTestEnsemble(3);
    const client = await connect(cluster.connectString);
    await client.create("/n", "0");
    for (let round = 1; round <= 2; round++) {
      const leader = cluster.leader()!;
      await cluster.kill(leader);
      await retry(() => client.setData("/n", String(round)));
      expect(text((await client.getData("/n")).data)).toBe(String(round));
      await cluster.restart(leader);
    }
  }, 90_000);

  it("with no server: calls time out or wait, and the session ends past its timeout", async () => {
    cluster = await startTestServer();
    const client = await connect(cluster.connectString, { sessionTimeoutMs: 2_000 });
    const session = client.sessionId;
    await cluster.kill(1);
    await until(() => client.state === "disconnected");
    await expect(client.exists("/", { timeoutMs: 100 })).rejects.toBeInstanceOf(
      RequestTimeoutError,
    );
    const queued = client.create("/queued");
    await cluster.restart(1);
    expect(await queued).toBe("/queued");
    expect(client.sessionId).toBe(session);
    const states: ConnectionState[] = [];
    client.on("state", (s) => states.push(s));
    await cluster.kill(1);
    // A call made before the client saw the connection drop fails with a connection loss, as in
    // ZooKeeper; one made after it waits for the session's end.
    await until(() => client.state === "disconnected");
    const waiting = client.exists("/").catch((e: unknown) => e);
    await until(() => client.state === "expired", 10_000);
    expect(await waiting).toBeInstanceOf(SessionExpiredError);
    expect(states).toEqual(["disconnected", "expired"]);
  }, 60_000);
});

/** Retries a call that may meet a connection loss while the ensemble elects a new leader. */
async function retry<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof ConnectionLossError) || attempt > 50) throw error;
      await sleep(100);
    }
  }
}
