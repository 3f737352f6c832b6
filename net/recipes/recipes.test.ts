// The recipes over TCP: against a 3-member ensemble of this server (with its leader killed under
// them) and against Apache ZooKeeper 3.8; a lock holder paused past its session timeout (behind a
// proxy that stops forwarding) is told it lost the lock, and the fencing token of the next holder
// lets the guarded resource refuse it.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NoNodeError, ZooKeeperClient } from "../client/index.ts";
import { startPausableProxy } from "../test/pausable-proxy.ts";
import { referenceAvailable, startReferenceZooKeeper } from "../test/reference-zookeeper.ts";
import type { TestCluster } from "../testing.ts";
import { startTestEnsemble } from "../testing.ts";
import {
  Barrier,
  ConfigWatcher,
  decideLock,
  DistributedQueue,
  DoubleBarrier,
  Group,
  holdsLease,
  jsonConfig,
  LeaderLatch,
  LeaderSelector,
  LockTimeoutError,
  Mutex,
  ReadWriteLock,
  Semaphore,
  SharedCounter,
} from "./index.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await sleep(10);
  }
}

/** A resource guarded by fencing tokens: it refuses any token below the highest it has accepted. */
class FencedResource {
  highest = -1n;
  accepted: bigint[] = [];
  refused: bigint[] = [];

  write(token: bigint): boolean {
    if (token < this.highest) {
      this.refused.push(token);
      return false;
    }
    this.highest = token;
    this.accepted.push(token);
    return true;
  }
}

describe("recipe decisions (no I/O)", () => {
  it("group: a group made between the watcher's two reads is read with a child watch", async () => {
    let exists = false;
    let childWatch: (() => void) | undefined;
    const session = {
      state: "connected",
      getChildren: async (path: string, options: { watch?: () => void }) => {
        if (!exists) {
          exists = true; // a member's join creates the group right after this read
          throw new NoNodeError(path);
        }
        childWatch = options.watch;
        return ["alpha"];
      },
      exists: async () => (exists ? {} : null),
      getData: async () => ({ data: new Uint8Array() }),
    };
    const seen: string[][] = [];
    new Group(session as unknown as ZooKeeperClient, "/g").watch((list) =>
      seen.push(list.map((m) => m.id)),
    );
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual([["alpha"]]);
    expect(childWatch).toBeDefined(); // later joins and leaves are seen
  });

  it("group: a refresh overtaken by a later one is not shown last", async () => {
    // One session's replies in the order its requests were sent, delivered one at a time.
    const replies: (() => void)[] = [];
    const members = new Map<string, Uint8Array>();
    for (let i = 0; i < 10; i++) members.set(`m${i}`, new Uint8Array([i]));
    let childWatch: (() => void) | undefined;
    const session = {
      state: "connected",
      getChildren: (_path: string, options: { watch?: () => void }) =>
        new Promise<string[]>((resolve) =>
          replies.push(() => {
            childWatch = options.watch;
            resolve([...members.keys()]);
          }),
        ),
      getData: (path: string) =>
        new Promise<{ data: Uint8Array }>((resolve, reject) =>
          replies.push(() => {
            const data = members.get(path.slice(path.lastIndexOf("/") + 1));
            if (data === undefined) reject(new NoNodeError(path));
            else resolve({ data });
          }),
        ),
    };
    const deliver = async (count: number) => {
      for (let i = 0; i < count && replies.length > 0; i++) {
        replies.shift()!();
        await new Promise((r) => setImmediate(r));
      }
    };
    const seen: string[][] = [];
    new Group(session as unknown as ZooKeeperClient, "/g").watch((list) =>
      seen.push(list.map((m) => m.id)),
    );
    await deliver(3); // the children, then m0 and m1 read
    // Nine members leave at once (their sessions expired): the watch starts a second refresh,
    // which reads one member while the first still reads the other eight, who are gone.
    for (let i = 1; i < 10; i++) members.delete(`m${i}`);
    childWatch!();
    await deliver(100);
    expect(seen.at(-1)).toEqual(["m0"]);
  });

  const n = (prefix: string, seq: number) => `${prefix}${String(seq).padStart(10, "0")}`;

  it("a writer waits on the node before it, a reader on the last writer before it", () => {
    const children = [
      n("_c_b-read-", 3),
      n("_c_a-write-", 1),
      n("_c_c-read-", 2),
      n("_c_d-write-", 4),
    ];
    expect(decideLock(children, n("_c_a-write-", 1), "write")).toEqual({ type: "acquired" });
    expect(decideLock(children, n("_c_c-read-", 2), "read")).toEqual({
      type: "wait",
      predecessor: n("_c_a-write-", 1),
    });
    expect(decideLock(children, n("_c_d-write-", 4), "write")).toEqual({
      type: "wait",
      predecessor: n("_c_b-read-", 3),
    });
    const withoutFirst = children.filter((c) => c !== n("_c_a-write-", 1));
    expect(decideLock(withoutFirst, n("_c_c-read-", 2), "read")).toEqual({ type: "acquired" });
    expect(decideLock(withoutFirst, n("_c_b-read-", 3), "read")).toEqual({ type: "acquired" });
    expect(decideLock(children, n("_c_e-write-", 5), "write")).toEqual({ type: "lost" });
  });

  it("a semaphore admits the first N in sequence order", () => {
    const children = ["lease-0000000007", "lease-0000000003", "lease-0000000005"];
    expect(holdsLease(children, "lease-0000000003", 2)).toBe(true);
    expect(holdsLease(children, "lease-0000000005", 2)).toBe(true);
    expect(holdsLease(children, "lease-0000000007", 2)).toBe(false);
    expect(holdsLease(children, "lease-0000000009", 2)).toBe("lost");
  });
});

interface Target {
  connectString: string;
  /** The port of one server, for a proxy in front of it. */
  onePort: number;
  /** Session timeout for the pause test (within the server's bounds). */
  shortSessionMs: number;
  cluster?: TestCluster;
  stop(): Promise<void>;
}

function recipeSuite(name: string, start: () => Promise<Target>) {
  describe(name, () => {
    let target: Target;
    const clients: ZooKeeperClient[] = [];
    let seq = 0;
    const fresh = () => `/recipes/r${process.pid}-${seq++}`;
    const connect = async (connectString = target.connectString, sessionTimeoutMs = 10_000) => {
      const client = await ZooKeeperClient.connect(connectString, { sessionTimeoutMs });
      clients.push(client);
      return client;
    };

    beforeAll(async () => {
      target = await start();
    }, 120_000);
    afterAll(async () => {
      for (const c of clients) await c.close();
      await target?.stop();
    });

    it("mutex: holders never overlap and their tokens only grow", async () => {
      const path = fresh();
      const contenders = await Promise.all([connect(), connect(), connect()]);
      const resource = new FencedResource();
      let inside = 0;
      let maxInside = 0;
      let counter = 0;
      await Promise.all(
        contenders.map(async (client) => {
          const mutex = new Mutex(client, path);
          for (let i = 0; i < 5; i++) {
            await mutex.withLock(async (lock) => {
              inside++;
              maxInside = Math.max(maxInside, inside);
              expect(resource.write(lock.token)).toBe(true);
              const seen = counter;
              await sleep(2);
              counter = seen + 1;
              inside--;
            });
          }
        }),
      );
      expect(maxInside).toBe(1);
      expect(counter).toBe(15);
      expect(resource.refused).toEqual([]);
      expect([...resource.accepted].sort((a, b) => (a < b ? -1 : 1))).toEqual(resource.accepted);
      const [first] = contenders;
      expect(await first!.getChildren(path)).toEqual([]);
    });

    it("mutex: acquire gives up on timeout or abort and leaves no node behind", async () => {
      const path = fresh();
      const [a, b] = await Promise.all([connect(), connect()]);
      const held = await new Mutex(a, path).acquire();
      await expect(new Mutex(b, path).acquire({ timeoutMs: 0 })).rejects.toBeInstanceOf(
        LockTimeoutError,
      );
      await expect(new Mutex(b, path).acquire({ timeoutMs: 100 })).rejects.toBeInstanceOf(
        LockTimeoutError,
      );
      const controller = new AbortController();
      const aborted = new Mutex(b, path)
        .acquire({ signal: controller.signal })
        .catch((e: unknown) => e);
      await sleep(50);
      controller.abort(new Error("no longer needed"));
      expect(await aborted).toMatchObject({ message: "no longer needed" });
      expect(await a.getChildren(path)).toHaveLength(1);
      await held.release();
      expect(await a.getChildren(path)).toHaveLength(0);
    });

    it("mutex: a holder paused past its session timeout learns it lost the lock", async () => {
      const path = fresh();
      const proxy = await startPausableProxy(target.onePort);
      try {
        const holderClient = await connect(`127.0.0.1:${proxy.port}`, target.shortSessionMs);
        const waiterClient = await connect();
        const resource = new FencedResource();
        const held = await new Mutex(holderClient, path).acquire();
        expect(resource.write(held.token)).toBe(true);
        const waiting = new Mutex(waiterClient, path).acquire();
        proxy.pause(); // the holder's process stops: no pings, no replies
        const next = await waiting; // its session expires, its lock node goes
        expect(next.token).toBeGreaterThan(held.token);
        expect(resource.write(next.token)).toBe(true);
        proxy.resume();
        await until(() => held.signal.aborted);
        expect(holderClient.state).toBe("expired");
        // Had the stale holder written before noticing, the resource would have refused it.
        expect(resource.write(held.token)).toBe(false);
        await next.release();
      } finally {
        await proxy.close();
      }
    }, 60_000);

    it("read-write lock: readers share; a writer excludes, holds back later readers", async () => {
      const path = fresh();
      const [a, b, c, d] = await Promise.all([connect(), connect(), connect(), connect()]);
      const r1 = await new ReadWriteLock(a, path).readLock.acquire();
      const r2 = await new ReadWriteLock(b, path).readLock.acquire();
      let writerIn = false;
      const writer = new ReadWriteLock(c, path).writeLock.acquire().then((w) => {
        writerIn = true;
        return w;
      });
      await sleep(100);
      let lateReaderIn = false;
      const lateReader = new ReadWriteLock(d, path).readLock.acquire().then((r) => {
        lateReaderIn = true;
        return r;
      });
      await sleep(100);
      expect(writerIn).toBe(false);
      expect(lateReaderIn).toBe(false);
      await r1.release();
      await r2.release();
      const w = await writer;
      await sleep(50);
      expect(lateReaderIn).toBe(false);
      await w.release();
      await (await lateReader).release();
    });

    it("semaphore: never more holders than leases", async () => {
      const path = fresh();
      const contenders = await Promise.all([connect(), connect(), connect(), connect()]);
      let inside = 0;
      let maxInside = 0;
      await Promise.all(
        contenders.map(async (client) => {
          const semaphore = new Semaphore(client, path, 2);
          for (let i = 0; i < 3; i++) {
            const lease = await semaphore.acquire();
            inside++;
            maxInside = Math.max(maxInside, inside);
            await sleep(10);
            inside--;
            await lease.release();
          }
        }),
      );
      expect(maxInside).toBe(2);
    });

    it("leader latch: one leader at a time, terms grow, the next takes over", async () => {
      const path = fresh();
      const latches = (await Promise.all([connect(), connect(), connect()])).map(
        (client, i) => new LeaderLatch(client, path, `p${i}`),
      );
      for (const latch of latches) latch.start();
      const terms: bigint[] = [];
      for (let round = 0; round < 3; round++) {
        await until(() => latches.some((l) => l.isLeader));
        expect(latches.filter((l) => l.isLeader)).toHaveLength(1);
        const leader = latches.find((l) => l.isLeader)!;
        expect(await leader.leaderId()).toBe(leader.id);
        terms.push(leader.term!);
        await leader.close();
        latches.splice(latches.indexOf(leader), 1);
      }
      expect(terms[0]! < terms[1]! && terms[1]! < terms[2]!).toBe(true);
    });

    it("leader selector: each participant leads in turn", async () => {
      const path = fresh();
      const led: string[] = [];
      let leading = 0;
      let overlap = false;
      const selectors = (await Promise.all([connect(), connect()])).map(
        (client, i) =>
          new LeaderSelector(
            client,
            path,
            async () => {
              leading++;
              overlap ||= leading > 1;
              led.push(`s${i}`);
              await sleep(20);
              leading--;
            },
            `s${i}`,
          ),
      );
      for (const s of selectors) s.start();
      await until(() => led.length >= 4);
      for (const s of selectors) await s.stop();
      expect(overlap).toBe(false);
      expect(new Set(led)).toEqual(new Set(["s0", "s1"]));
    });

    it("shared counter: concurrent increments are never lost", async () => {
      const path = fresh();
      const counters = (await Promise.all([connect(), connect(), connect()])).map(
        (c) => new SharedCounter(c, path),
      );
      await Promise.all(
        counters.map(async (counter) => {
          for (let i = 0; i < 10; i++) await counter.increment();
        }),
      );
      expect((await counters[0]!.get()).value).toBe(30n);
      const seen = await counters[0]!.get();
      await counters[1]!.add(5n);
      expect(await counters[0]!.trySet(seen, 0n)).toBe(false);
    });

    it("config watcher: follows creation, every change and deletion", async () => {
      const path = fresh();
      const [writer, reader] = await Promise.all([connect(), connect()]);
      const config = await ConfigWatcher.start(reader, path, jsonConfig({ level: "info" }));
      const seen: string[] = [];
      config.onChange((v) => seen.push(v.level));
      expect(config.value).toEqual({ level: "info" });
      await writer.create(path.slice(0, path.lastIndexOf("/"))).catch(() => {});
      await writer.create(path, JSON.stringify({ level: "debug" }));
      await until(() => config.value.level === "debug");
      await writer.setData(path, JSON.stringify({ level: "warn" }));
      await until(() => config.value.level === "warn");
      await writer.delete(path);
      await until(() => config.value.level === "info");
      expect(seen).toEqual(["debug", "warn", "info"]);
      config.stop();
    });

    it("queue: every item is taken exactly once, in order per consumer", async () => {
      const path = fresh();
      const [p, c1, c2, c3] = await Promise.all([connect(), connect(), connect(), connect()]);
      const producer = new DistributedQueue(p, path);
      const taken: string[] = [];
      const total = 30;
      const consumers = [c1, c2, c3].map(async (client) => {
        const queue = new DistributedQueue(client, path);
        const mine: number[] = [];
        while (taken.length < total) {
          const controller = new AbortController();
          const stop = setInterval(() => {
            if (taken.length >= total) controller.abort(new Error("done"));
          }, 20);
          try {
            const item = new TextDecoder().decode(await queue.take(controller.signal));
            taken.push(item);
            mine.push(Number(item));
          } catch {
            break;
          } finally {
            clearInterval(stop);
          }
        }
        expect([...mine].sort((a, b) => a - b)).toEqual(mine);
      });
      for (let i = 0; i < total; i++) await producer.put(String(i));
      await Promise.all(consumers);
      expect([...taken].sort((a, b) => Number(a) - Number(b))).toEqual(
        Array.from({ length: total }, (_, i) => String(i)),
      );
      expect(await producer.poll()).toBeUndefined();
    });

    it("barrier and double barrier", async () => {
      const path = fresh();
      const [a, b, c] = await Promise.all([connect(), connect(), connect()]);
      const barrier = new Barrier(a, `${path}-gate`);
      await barrier.set();
      let passed = false;
      const waiting = new Barrier(b, `${path}-gate`).wait().then(() => {
        passed = true;
      });
      await sleep(100);
      expect(passed).toBe(false);
      await barrier.remove();
      await waiting;

      // Nobody gets through enter() before all three called it, nor through leave() before all
      // three called that (what each saw is counted when it gets through: the clients' events
      // arrive on separate connections, so their order among themselves is not fixed).
      let entering = 0;
      let leaving = 0;
      const enteringSeen: number[] = [];
      const leavingSeen: number[] = [];
      await Promise.all(
        [a, b, c].map(async (client, i) => {
          const double = new DoubleBarrier(client, path, 3, `m${i}`);
          await sleep(i * 50);
          entering++;
          await double.enter();
          enteringSeen.push(entering);
          await sleep(i * 50);
          leaving++;
          await double.leave();
          leavingSeen.push(leaving);
        }),
      );
      expect(enteringSeen).toEqual([3, 3, 3]);
      expect(leavingSeen).toEqual([3, 3, 3]);
    });

    it("group: members join, are listed with their data, and go with their session", async () => {
      const path = fresh();
      const [observer, m1, m2] = await Promise.all([connect(), connect(), connect()]);
      const seen: string[][] = [];
      const stop = new Group(observer, path).watch((members) =>
        seen.push(members.map((m) => m.id)),
      );
      await new Group(m1, path).join("alpha", "10.0.0.1:80");
      await new Group(m2, path).join("beta", "10.0.0.2:80");
      await until(() => seen.at(-1)?.join() === "alpha,beta");
      const members = await new Group(observer, path).members();
      expect(new TextDecoder().decode(members[0]!.data)).toBe("10.0.0.1:80");
      await m2.close();
      await until(() => seen.at(-1)?.join() === "alpha");
      stop();
    });
  });
}

recipeSuite("recipes against a 3-member ensemble of this server", async () => {
  const cluster = await startTestEnsemble(3);
  return {
    connectString: cluster.connectString,
    onePort: cluster.members[0]!.port,
    shortSessionMs: 2_000,
    cluster,
    stop: () => cluster.stop(),
  };
});

if (referenceAvailable) {
  recipeSuite("recipes against Apache ZooKeeper 3.8", async () => {
    const zk = await startReferenceZooKeeper();
    return {
      connectString: `127.0.0.1:${zk.port}`,
      onePort: zk.port,
      shortSessionMs: 4_000,
      stop: () => zk.stop(),
    };
  });
}

describe("recipes when the ensemble's leader dies", () => {
  let cluster: TestCluster;
  const clients: ZooKeeperClient[] = [];
  beforeAll(async () => {
    cluster = await startTestEnsemble(3);
  });
  afterAll(async () => {
    for (const c of clients) await c.close();
    await cluster?.stop();
  });

  it("a lock stays held across the leader's death, and passes on after", async () => {
    const connect = async () => {
      const client = await ZooKeeperClient.connect(cluster.connectString, {
        sessionTimeoutMs: 4_000,
      });
      clients.push(client);
      return client;
    };
    const [a, b] = await Promise.all([connect(), connect()]);
    const resource = new FencedResource();
    const held = await new Mutex(a, "/fail/lock").acquire();
    expect(resource.write(held.token)).toBe(true);
    const waiting = new Mutex(b, "/fail/lock").acquire();
    const leader = cluster.leader()!;
    await cluster.kill(leader);
    await cluster.waitUntilServing(30_000);
    await sleep(500);
    expect(held.signal.aborted).toBe(false); // the session moved; the lock is still ours
    let nextIn = false;
    void waiting.then(() => {
      nextIn = true;
    });
    await sleep(200);
    expect(nextIn).toBe(false);
    await held.release();
    const next = await waiting;
    expect(resource.write(next.token)).toBe(true);
    await next.release();
    await cluster.restart(leader);
  }, 90_000);

  it("a leader whose session expires is told, and the next participant leads", async () => {
    const latches = await Promise.all(
      [0, 1].map(async (i) => {
        const client = await ZooKeeperClient.connect(cluster.connectString, {
          sessionTimeoutMs: 4_000,
        });
        clients.push(client);
        const latch = new LeaderLatch(client, "/fail/expiry", `p${i}`);
        latch.start();
        return { client, latch };
      }),
    );
    await until(() => latches.some((l) => l.latch.isLeader));
    const leader = latches.find((l) => l.latch.isLeader)!;
    const follower = latches.find((l) => l !== leader)!;
    const events: string[] = [];
    leader.latch.on((event) => events.push(event));
    const term = leader.latch.term!;
    await cluster.expireSession(leader.client);
    await until(() => follower.latch.isLeader);
    await until(() => events.includes("notLeader"));
    expect(leader.latch.isLeader).toBe(false);
    expect(follower.latch.term!).toBeGreaterThan(term);
  }, 60_000);

  it("a config watcher stays current across the death of its client's server", async () => {
    const writer = await ZooKeeperClient.connect(cluster.connectString);
    clients.push(writer);
    await writer.create("/fail").catch(() => {}); // made already if earlier tests ran
    await writer.create("/fail/config", JSON.stringify({ n: 0 }));
    const reader = await ZooKeeperClient.connect(cluster.connectString, {
      sessionTimeoutMs: 4_000,
    });
    clients.push(reader);
    const config = await ConfigWatcher.start(reader, "/fail/config", jsonConfig({ n: -1 }));
    expect(config.value.n).toBe(0);
    const member = cluster.members.find((m) => m.connectString === reader.connectedServer)!;
    await cluster.kill(member.id);
    await cluster.waitUntilServing(30_000);
    for (let attempt = 0; ; attempt++) {
      try {
        await writer.setData("/fail/config", JSON.stringify({ n: 1 }));
        break;
      } catch (error) {
        if (attempt > 50) throw error; // the writer may have been on that member too
        await sleep(100);
      }
    }
    await until(() => config.value.n === 1);
    expect(config.running).toBe(true);
    config.stop();
    await cluster.restart(member.id);
  }, 90_000);

  it("a leader latch: one leader per term through the leader's death", async () => {
    const latches = await Promise.all(
      [0, 1, 2].map(async (i) => {
        const client = await ZooKeeperClient.connect(cluster.connectString, {
          sessionTimeoutMs: 4_000,
        });
        clients.push(client);
        const latch = new LeaderLatch(client, "/fail/election", `p${i}`);
        latch.start();
        return latch;
      }),
    );
    await until(() => latches.some((l) => l.isLeader));
    const first = latches.find((l) => l.isLeader)!;
    await cluster.kill(cluster.leader()!);
    await cluster.waitUntilServing(30_000);
    await sleep(500);
    expect(latches.filter((l) => l.isLeader)).toEqual([first]);
    const firstTerm = first.term!;
    await first.close();
    await until(() => latches.some((l) => l !== first && l.isLeader));
    const second = latches.filter((l) => l.isLeader);
    expect(second).toHaveLength(1);
    expect(second[0]!.term!).toBeGreaterThan(firstTerm);
  }, 90_000);
});
