// The client against this project's server (in-process) and against Apache ZooKeeper 3.8 (Debian's
// package, started by the test): every op, every error path a caller can meet, watches of each
// kind, auth, chroot, multi and multiRead results, pipelining, expiry.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { digestId } from "../../core/acl.ts";
import { Perms } from "../../core/types.ts";
import { referenceAvailable, startReferenceZooKeeper } from "../test/reference-zookeeper.ts";
import { expireSessionOn, startTestServer } from "../testing.ts";
import type { WatchEvent } from "./index.ts";
import {
  AuthFailedError,
  BadArgumentsError,
  BadVersionError,
  ConnectionLossError,
  NoAuthError,
  NoChildrenForEphemeralsError,
  NodeExistsError,
  NoNodeError,
  NotEmptyError,
  NoWatcherError,
  SessionExpiredError,
  text,
  ZooKeeperClient,
  ZooKeeperError,
} from "./index.ts";

interface Target {
  connectString: string;
  /** Ends a session as an expiry does. */
  expire(client: ZooKeeperClient): Promise<void>;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await sleep(10);
  }
}

function opsSuite(name: string, start: () => Promise<Target>) {
  describe(name, () => {
    let target: Target;
    let zk: ZooKeeperClient;
    let seq = 0;
    const fresh = () => `/t${process.pid}-${seq++}`;

    beforeAll(async () => {
      target = await start();
      zk = await ZooKeeperClient.connect(target.connectString, { sessionTimeoutMs: 10_000 });
    });
    afterAll(async () => {
      await zk?.close();
      await target?.stop();
    });

    it("creates in every mode, with the Stat each mode implies", async () => {
      const base = fresh();
      expect(await zk.create(base, "root")).toBe(base);
      const { path, stat } = await zk.create2(`${base}/p`, "data");
      expect(path).toBe(`${base}/p`);
      expect(stat.dataLength).toBe(4);
      expect(stat.ephemeralOwner).toBe(0n);
      const eph = await zk.create2(`${base}/e`, "", { mode: "ephemeral" });
      expect(eph.stat.ephemeralOwner).toBe(zk.sessionId);
      const s1 = await zk.create(`${base}/s-`, "", { mode: "persistentSequential" });
      const s2 = await zk.create(`${base}/s-`, "", { mode: "ephemeralSequential" });
      expect(s1).toMatch(/\/s-\d{10}$/);
      expect(Number(s2.slice(-10))).toBe(Number(s1.slice(-10)) + 1);
      const container = await zk.create2(`${base}/c`, "", { mode: "container" });
      expect(container.stat.ephemeralOwner).toBe(0n); // ZooKeeper does not show the container mark
      const ttl = await zk.create2(`${base}/ttl`, "", { mode: "persistentWithTtl", ttlMs: 60_000 });
      expect(ttl.stat.ephemeralOwner).toBe(0n); // nor the TTL
      const ttlSeq = await zk.create(`${base}/ttls-`, "", {
        mode: "persistentSequentialWithTtl",
        ttlMs: 60_000,
      });
      expect(ttlSeq).toMatch(/ttls-\d{10}$/);
      expect(await zk.getAllChildrenNumber(base)).toBe(7);
      expect((await zk.getEphemerals(base)).sort()).toEqual([`${base}/e`, s2].sort());
    });

    it("fails creates with typed errors carrying ZooKeeper's code, name and the path", async () => {
      const base = fresh();
      await zk.create(base);
      const exists = await zk.create(base).catch((e: unknown) => e);
      expect(exists).toBeInstanceOf(NodeExistsError);
      expect(exists).toBeInstanceOf(ZooKeeperError);
      expect(exists).toMatchObject({ code: -110, codeName: "NODEEXISTS", path: base });
      await expect(zk.create(`${base}/missing/child`)).rejects.toBeInstanceOf(NoNodeError);
      await zk.create(`${base}/eph`, "", { mode: "ephemeral" });
      await expect(zk.create(`${base}/eph/child`)).rejects.toBeInstanceOf(
        NoChildrenForEphemeralsError,
      );
      await expect(zk.create("no-slash")).rejects.toBeInstanceOf(BadArgumentsError);
      await expect(
        zk.create(`${base}/ttl`, "", { mode: "persistentWithTtl", ttlMs: 0 }),
      ).rejects.toBeInstanceOf(BadArgumentsError);
    });

    it("reads, writes and deletes with versions", async () => {
      const path = fresh();
      await zk.create(path, "v0");
      const read = await zk.getData(path);
      expect(text(read.data)).toBe("v0");
      const stat = await zk.setData(path, "v1", read.stat.version);
      expect(stat.version).toBe(1);
      await expect(zk.setData(path, "v2", 0)).rejects.toBeInstanceOf(BadVersionError);
      expect((await zk.exists(path))?.version).toBe(1);
      expect(await zk.exists(`${path}/none`)).toBeNull();
      await expect(zk.getData(`${path}/none`)).rejects.toBeInstanceOf(NoNodeError);
      await expect(zk.setData(`${path}/none`, "")).rejects.toBeInstanceOf(NoNodeError);
      await zk.create(`${path}/child`);
      await expect(zk.delete(path)).rejects.toBeInstanceOf(NotEmptyError);
      await expect(zk.delete(`${path}/child`, 5)).rejects.toBeInstanceOf(BadVersionError);
      await zk.delete(`${path}/child`, 0);
      await expect(zk.delete(`${path}/child`)).rejects.toBeInstanceOf(NoNodeError);
      expect(await zk.getChildren(path)).toEqual([]);
      const { children, stat: parent } = await zk.getChildren2(path);
      expect(children).toEqual([]);
      expect(parent.cversion).toBe(2);
      await expect(zk.getChildren(`${path}/none`)).rejects.toBeInstanceOf(NoNodeError);
      await zk.delete(path);
    });

    it("fires one-shot watches of each kind once", async () => {
      const path = fresh();
      const events: WatchEvent[] = [];
      const record = (e: WatchEvent) => events.push(e);
      expect(await zk.exists(path, { watch: record })).toBeNull();
      await zk.create(path);
      await zk.getData(path, { watch: record });
      await zk.getChildren(path, { watch: record });
      await zk.setData(path, "x");
      await zk.setData(path, "y"); // the data watch is spent
      await zk.create(`${path}/c`);
      await zk.delete(`${path}/c`);
      await zk.exists(path, { watch: record });
      await zk.delete(path);
      await zk.sync("/");
      await until(() => events.length >= 4);
      expect(events.map((e) => `${e.type} ${e.path}`)).toEqual([
        `NodeCreated ${path}`,
        `NodeDataChanged ${path}`,
        `NodeChildrenChanged ${path}`,
        `NodeDeleted ${path}`,
      ]);
    });

    it("keeps persistent and recursive watches until removed", async () => {
      const path = fresh();
      await zk.create(path);
      const persistent: string[] = [];
      const recursive: string[] = [];
      // Two sessions: ZooKeeper 3.8 keeps one watch mode per session and path (3.9 keeps both).
      const other = await ZooKeeperClient.connect(target.connectString);
      await zk.addWatch(path, (e) => persistent.push(`${e.type} ${e.path}`), "persistent");
      await other.addWatch(
        path,
        (e) => recursive.push(`${e.type} ${e.path}`),
        "persistentRecursive",
      );
      await zk.setData(path, "1");
      await zk.setData(path, "2");
      await zk.create(`${path}/a`);
      await zk.create(`${path}/a/b`);
      await zk.setData(`${path}/a/b`, "3");
      await zk.sync("/");
      await until(() => recursive.length >= 5);
      expect(persistent).toEqual([
        `NodeDataChanged ${path}`,
        `NodeDataChanged ${path}`,
        `NodeChildrenChanged ${path}`,
      ]);
      expect(recursive).toEqual([
        `NodeDataChanged ${path}`,
        `NodeDataChanged ${path}`,
        `NodeCreated ${path}/a`,
        `NodeCreated ${path}/a/b`,
        `NodeDataChanged ${path}/a/b`,
      ]);
      // "any": ZooKeeper 3.8 knows no watcher type for persistent watches alone (3.9 does).
      await zk.removeWatches(path, "any");
      expect(persistent.at(-1)).toBe(`PersistentWatchRemoved ${path}`);
      await expect(zk.removeWatches(path, "any")).rejects.toBeInstanceOf(NoWatcherError);
      await other.removeWatches(path, "any");
      expect(recursive.at(-1)).toBe(`PersistentWatchRemoved ${path}`);
      await other.close();
      await zk.setData(path, "4");
      await zk.sync("/");
      await sleep(50);
      expect(persistent).toHaveLength(4);
      expect(recursive).toHaveLength(6);
      const dataEvents: string[] = [];
      await zk.getData(path, { watch: (e) => dataEvents.push(e.type) });
      await zk.removeWatches(path, "data");
      expect(dataEvents).toEqual(["DataWatchRemoved"]);
      await expect(zk.removeWatches(path, "children")).rejects.toBeInstanceOf(NoWatcherError);
    });

    it("applies multi atomically with typed results, and reports which op failed", async () => {
      const path = fresh();
      const results = await zk.multi([
        { type: "create", path, data: "a" },
        { type: "create", path: `${path}/seq-`, mode: "persistentSequential" },
        { type: "setData", path, data: "b", version: 0 },
        { type: "check", path, version: 1 },
      ]);
      expect(results[0]).toEqual({ type: "create", path });
      expect(results[1].path).toMatch(/seq-\d{10}$/);
      expect(results[2].stat.version).toBe(1);
      expect(results[3]).toEqual({ type: "check" });
      const failure = await zk
        .multi([
          { type: "delete", path: results[1].path },
          { type: "check", path, version: 7 },
          { type: "setData", path, data: "c" },
        ])
        .catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(BadVersionError);
      expect((failure as ZooKeeperError).path).toBe(path);
      expect((failure as ZooKeeperError).results).toEqual([
        { type: "error", code: 0 },
        { type: "error", code: -103 },
        { type: "error", code: -2 },
      ]);
      expect(await zk.getChildren(path)).toHaveLength(1); // the delete was rolled back
      const reads = await zk.multiRead([
        { type: "getData", path },
        { type: "getChildren", path },
        { type: "getData", path: `${path}/none` },
      ]);
      expect(text((reads[0] as { data: Uint8Array }).data)).toBe("b");
      expect((reads[1] as { children: string[] }).children).toHaveLength(1);
      expect(reads[2]).toBeInstanceOf(NoNodeError);
    });

    it("sets ACLs, refuses without auth, admits digest auth, says who it is", async () => {
      const path = fresh();
      const credentials = "alice:secret";
      const acl = [{ perms: Perms.ALL, id: { scheme: "digest", id: digestId(credentials) } }];
      await zk.create(path, "private", { acl });
      await expect(zk.getData(path)).rejects.toBeInstanceOf(NoAuthError);
      await expect(zk.getACL(path)).rejects.toBeInstanceOf(NoAuthError);
      const other = await ZooKeeperClient.connect(target.connectString, {
        auth: [{ scheme: "digest", credentials }],
      });
      try {
        const { acl: read, stat } = await other.getACL(path);
        expect(read).toEqual(acl);
        expect(stat.aversion).toBe(0);
        expect(text((await other.getData(path)).data)).toBe("private");
        expect((await other.whoAmI()).map((i) => `${i.scheme}:${i.user}`)).toContain(
          "digest:alice",
        );
        await expect(other.setACL(path, acl, 3)).rejects.toBeInstanceOf(BadVersionError);
        const readOnly = [{ perms: Perms.READ, id: { scheme: "world", id: "anyone" } }];
        expect((await other.setACL(path, readOnly, 0)).aversion).toBe(1);
        await expect(other.setACL(path, acl)).rejects.toBeInstanceOf(NoAuthError); // no ADMIN left
      } finally {
        await other.close();
      }
      expect(text((await zk.getData(path)).data)).toBe("private");
      await expect(zk.setData(path, "x")).rejects.toBeInstanceOf(NoAuthError);
      await expect(zk.getACL(`${path}/none`)).rejects.toBeInstanceOf(NoNodeError);
    });

    it("adds auth on a live session; refused credentials are terminal", async () => {
      const path = fresh();
      const acl = [{ perms: Perms.ALL, id: { scheme: "digest", id: digestId("bob:pw") } }];
      await zk.create(path, "b", { acl });
      const client = await ZooKeeperClient.connect(target.connectString);
      await client.addAuth("digest", "bob:pw");
      expect(text((await client.getData(path)).data)).toBe("b");
      await client.close();
      const refused = await ZooKeeperClient.connect(target.connectString);
      const states: string[] = [];
      refused.on("state", (s) => states.push(s));
      await expect(refused.addAuth("no-such-scheme", "x")).rejects.toBeInstanceOf(AuthFailedError);
      expect(refused.state).toBe("authFailed");
      expect(states).toEqual(["authFailed"]);
      await expect(refused.exists("/")).rejects.toBeInstanceOf(AuthFailedError);
    });

    it("works under a chroot", async () => {
      const root = fresh();
      await zk.create(root);
      const chrooted = await ZooKeeperClient.connect(`${target.connectString}${root}`);
      try {
        expect(await chrooted.create("/x", "in")).toBe("/x");
        const seq = await chrooted.create("/s-", "", { mode: "ephemeralSequential" });
        expect(seq).toMatch(/^\/s-\d{10}$/);
        expect(text((await zk.getData(`${root}/x`)).data)).toBe("in");
        expect((await chrooted.getChildren("/")).sort()).toEqual(["s-0000000001", "x"].sort());
        expect(await chrooted.getEphemerals("/")).toEqual([seq]);
        const events: string[] = [];
        await chrooted.getData("/x", { watch: (e) => events.push(`${e.type} ${e.path}`) });
        await zk.setData(`${root}/x`, "changed");
        await until(() => events.length > 0);
        expect(events).toEqual(["NodeDataChanged /x"]);
        const [created] = await chrooted.multi([{ type: "create", path: "/m" }]);
        expect(created.path).toBe("/m");
      } finally {
        await chrooted.close();
      }
    });

    it("pipelines many requests in order under a small in-flight bound", async () => {
      const base = fresh();
      await zk.create(base);
      const client = await ZooKeeperClient.connect(target.connectString, { maxInFlight: 8 });
      const paths = await Promise.all(
        Array.from({ length: 500 }, () =>
          client.create(`${base}/n-`, "", { mode: "persistentSequential" }),
        ),
      );
      expect(paths.map((p) => Number(p.slice(-10)))).toEqual(
        Array.from({ length: 500 }, (_, i) => i),
      );
      await client.close();
    });

    it("aborts a call with its signal's reason", async () => {
      const controller = new AbortController();
      controller.abort(new Error("stop"));
      await expect(zk.exists("/", { signal: controller.signal })).rejects.toThrow("stop");
      const late = new AbortController();
      const call = zk.getData("/", { signal: late.signal });
      late.abort(new Error("too late"));
      await expect(call).rejects.toThrow("too late");
      expect(await zk.exists("/")).not.toBeNull(); // the stream stays in step
    });

    it("sees its session expire: ephemerals gone, calls failing, a terminal state", async () => {
      const path = fresh();
      const client = await ZooKeeperClient.connect(target.connectString, {
        sessionTimeoutMs: 10_000,
      });
      const states: string[] = [];
      client.on("state", (s) => states.push(s));
      await client.create(path, "", { mode: "ephemeral" });
      const watchEvents: string[] = [];
      await zk.exists(path, { watch: (e) => watchEvents.push(e.type) });
      await target.expire(client);
      await until(() => client.state === "expired");
      expect(states.at(-1)).toBe("expired");
      await until(() => watchEvents.length > 0);
      expect(watchEvents).toEqual(["NodeDeleted"]);
      await expect(client.exists("/")).rejects.toBeInstanceOf(SessionExpiredError);
      await client.close();
    });

    it("closes: ephemerals go at once", async () => {
      const path = fresh();
      const client = await ZooKeeperClient.connect(target.connectString);
      await client.create(path, "", { mode: "ephemeral" });
      await client.close();
      expect(client.state).toBe("closed");
      expect(await zk.exists(path)).toBeNull();
    });

    it("is refused politely when nothing listens", async () => {
      const started = Date.now();
      await expect(
        ZooKeeperClient.connect("127.0.0.1:1", { initialConnectTimeoutMs: 500 }),
      ).rejects.toBeInstanceOf(ConnectionLossError);
      expect(Date.now() - started).toBeLessThan(3_000);
    });
  });
}

opsSuite("client against this server", async () => {
  const zk = await startTestServer({ extraConfig: "extendedTypesEnabled=true" });
  return {
    connectString: zk.connectString,
    expire: (c) => zk.expireSession(c),
    stop: () => zk.stop(),
  };
});

if (referenceAvailable) {
  opsSuite("client against Apache ZooKeeper 3.8", async () => {
    const zk = await startReferenceZooKeeper();
    const connectString = `127.0.0.1:${zk.port}`;
    const expire = (c: ZooKeeperClient) => expireSessionOn(zk.port, c);
    return { connectString, expire, stop: () => zk.stop() };
  });
} else {
  describe.skip("client against Apache ZooKeeper 3.8 (zookeeper package not installed)", () => {
    it("skipped", () => {});
  });
}
