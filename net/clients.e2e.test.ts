// Real ZooKeeper clients against a 3-server ensemble of ours: node-zookeeper-client (npm) and
// kazoo (Debian python3-kazoo, including its Lock and Election recipes).

import { execFile } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import zookeeper from "node-zookeeper-client";
import type { TestEnsemble } from "./test/ensemble.ts";
import { startEnsemble } from "./test/ensemble.ts";
import { referenceAvailable, startReferenceZooKeeper } from "./test/reference-zookeeper.ts";

const run = promisify(execFile);
let ensemble: TestEnsemble;

beforeAll(async () => {
  ensemble = await startEnsemble(3);
}, 60_000);
afterAll(async () => ensemble?.stop());

function client(port: number): Promise<zookeeper.Client> {
  return new Promise((resolve, reject) => {
    const c = zookeeper.createClient(`127.0.0.1:${port}`, { sessionTimeout: 8000, retries: 0 });
    const timer = setTimeout(() => reject(new Error("connect timed out")), 10_000);
    c.once("connected", () => {
      clearTimeout(timer);
      resolve(c);
    });
    c.connect();
  });
}

const call = <T>(fn: (cb: (err: unknown, value: T) => void) => void) =>
  new Promise<T>((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value))));

describe("node-zookeeper-client against the ensemble", () => {
  it("create, get, set, delete, sequential nodes, multi, across servers", async () => {
    const a = await client(ensemble.clientPorts[0]!);
    const b = await client(ensemble.clientPorts[2]!);
    expect(await call<string>((cb) => a.create("/e2e", Buffer.from("v1"), cb))).toBe("/e2e");
    const seq1 = await call<string>((cb) =>
      a.create("/e2e/s-", Buffer.from(""), zookeeper.CreateMode.PERSISTENT_SEQUENTIAL, cb),
    );
    const seq2 = await call<string>((cb) =>
      b.create("/e2e/s-", Buffer.from(""), zookeeper.CreateMode.PERSISTENT_SEQUENTIAL, cb),
    );
    expect([seq1, seq2]).toEqual(["/e2e/s-0000000000", "/e2e/s-0000000001"]);
    const stat = await call<zookeeper.Stat>((cb) => b.setData("/e2e", Buffer.from("v2"), 0, cb));
    expect(stat.version).toBe(1);
    await expect(call((cb) => b.setData("/e2e", Buffer.from("v3"), 0, cb))).rejects.toMatchObject({
      code: -103,
    });
    const data = await new Promise<Buffer>((resolve, reject) =>
      a.getData("/e2e", (err, d) => (err ? reject(err) : resolve(d))),
    );
    expect(data.toString()).toBe("v2");
    const results = await call<unknown[]>((cb) =>
      a.transaction().create("/e2e/t").setData("/e2e", Buffer.from("v4"), 1).commit(cb),
    );
    expect(results).toHaveLength(2);
    await expect(
      call((cb) => a.transaction().create("/e2e/u").check("/e2e", 99).commit(cb)),
    ).rejects.toMatchObject({ code: -103 });
    expect(await call<boolean>((cb) => a.exists("/e2e/u", (err, s) => cb(err, s !== null)))).toBe(
      false,
    );
    await call((cb) => a.remove("/e2e/t", -1, (err) => cb(err, undefined)));
    a.close();
    b.close();
  });

  it("ephemerals vanish when their session closes; watches fire", async () => {
    const a = await client(ensemble.clientPorts[1]!);
    const b = await client(ensemble.clientPorts[0]!);
    await call((cb) => a.create("/eph", Buffer.from(""), zookeeper.CreateMode.EPHEMERAL, cb));
    const fired = new Promise<string>((resolve) =>
      b.exists(
        "/eph",
        (event) => resolve(event.getName()),
        () => {},
      ),
    );
    a.close();
    expect(await fired).toBe("NODE_DELETED");
    b.close();
  });

  it("digest ACLs: NOAUTH without the credentials, allowed with them", async () => {
    const a = await client(ensemble.clientPorts[0]!);
    a.addAuthInfo("digest", Buffer.from("alice:secret"));
    const acl = [new zookeeper.ACL(zookeeper.Permission.ALL, new zookeeper.Id("auth", ""))];
    await call((cb) =>
      a.create("/private", Buffer.from("s"), acl, zookeeper.CreateMode.PERSISTENT, cb),
    );
    const b = await client(ensemble.clientPorts[2]!);
    await expect(
      new Promise((resolve, reject) =>
        b.getData("/private", (err, d) => (err ? reject(err) : resolve(d))),
      ),
    ).rejects.toMatchObject({ code: -102 });
    b.addAuthInfo("digest", Buffer.from("alice:secret"));
    const data = await new Promise<Buffer>((resolve, reject) =>
      b.getData("/private", (err, d) => (err ? reject(err) : resolve(d))),
    );
    expect(data.toString()).toBe("s");
    a.close();
    b.close();
  });
});

const kazooPython = "/usr/bin/python3";
const hasKazoo = existsSync("/usr/lib/python3/dist-packages/kazoo");

describe.skipIf(!hasKazoo && process.env.CI_REQUIRE_PEERS !== "1")(
  "kazoo against the ensemble",
  () => {
    it("basic ops, Lock and Election recipes", async () => {
      const script = join(tmpdir(), "kazoo-e2e.py");
      writeFileSync(
        script,
        `
import sys, threading
from kazoo.client import KazooClient
hosts = sys.argv[1]
zk = KazooClient(hosts=hosts, timeout=10)
zk.start(timeout=15)
zk.ensure_path("/kz/a")
zk.set("/kz/a", b"hello")
data, stat = zk.get("/kz/a")
assert data == b"hello" and stat.version == 1, (data, stat)
zk.create("/kz/e", b"", ephemeral=True)
assert zk.exists("/kz/e") is not None
tx = zk.transaction()
tx.create("/kz/t")
tx.set_data("/kz/a", b"x", version=1)
assert all(r is not Exception for r in tx.commit())
held = []
lock = zk.Lock("/kz/lock", "me")
with lock:
    other = KazooClient(hosts=hosts, timeout=10); other.start(timeout=15)
    l2 = other.Lock("/kz/lock", "other")
    assert not l2.acquire(blocking=False)
    other.stop()
elected = threading.Event()
election = zk.Election("/kz/election", "me")
t = threading.Thread(target=lambda: election.run(elected.set)); t.daemon = True; t.start()
assert elected.wait(10)
zk.stop()
print("kazoo ok")
`,
      );
      const { stdout } = await run(kazooPython, [script, ensemble.connectString], {
        timeout: 60_000,
      });
      expect(stdout).toContain("kazoo ok");
    }, 90_000);

    // kazoo's own test_create_null_data and test_set_null_data, under each of its handlers that
    // this machine can import, against a follower (writes forwarded) and, if installed, Apache
    // ZooKeeper.
    it("null data reads back as None, empty data as b'', under every kazoo handler", async () => {
      const script = join(tmpdir(), "kazoo-null-data.py");
      writeFileSync(script, kazooNullDataScript);
      const follower = ensemble.servers.findIndex((s) => s.inspect().status.role === "following");
      const targets = [{ name: "ours", hosts: `127.0.0.1:${ensemble.clientPorts[follower]}` }];
      const reference = referenceAvailable ? await startReferenceZooKeeper() : undefined;
      if (reference !== undefined) {
        targets.push({ name: "Apache ZooKeeper", hosts: `127.0.0.1:${reference.port}` });
      }
      try {
        const handlers: string[] = [];
        for (const handler of ["threading", "gevent", "eventlet"]) {
          const imports = run(kazooPython, ["-c", `import kazoo.handlers.${handler}`]);
          if (
            await imports.then(
              () => true,
              () => false,
            )
          )
            handlers.push(handler);
        }
        expect(handlers).toContain("threading");
        for (const target of targets) {
          for (const handler of handlers) {
            const args = [script, target.hosts, handler];
            const { stdout } = await run(kazooPython, args, { timeout: 60_000 });
            expect(stdout, `${target.name}, ${handler} handler`).toContain(
              `null data ok ${handler}`,
            );
          }
        }
      } finally {
        await reference?.stop();
      }
    }, 180_000);
  },
);

const kazooNullDataScript = `
import sys
hosts, handler_name = sys.argv[1], sys.argv[2]
if handler_name == "threading":
    from kazoo.handlers.threading import SequentialThreadingHandler as Handler
elif handler_name == "gevent":
    from kazoo.handlers.gevent import SequentialGeventHandler as Handler
else:
    from kazoo.handlers.eventlet import SequentialEventletHandler as Handler
from kazoo.client import KazooClient
zk = KazooClient(hosts=hosts, timeout=10, handler=Handler())
zk.start(timeout=15)
root = "/kz-null-" + handler_name
zk.create(root, b"")
zk.create(root + "/nulldata", None)
value, stat = zk.get(root + "/nulldata")
assert value is None and stat.dataLength == 0, (value, stat)
zk.create(root + "/empty", b"")
value, _ = zk.get(root + "/empty")
assert value == b"", value
zk.create(root + "/set", b"not none")
zk.set(root + "/set", None)
value, _ = zk.get(root + "/set")
assert value is None, value
zk.set(root + "/set", b"")
value, _ = zk.get(root + "/set")
assert value == b"", value
zk.delete(root, recursive=True)
zk.stop()
print("null data ok", handler_name)
`;
