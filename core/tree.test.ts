import { afterAll, describe, expect, it } from "vitest";
import { digestId } from "./acl.ts";
import { fromUtf8, utf8 } from "./bytes.ts";
import { Err, errName } from "./errors.ts";
import type { Reply } from "./requests.ts";
import { sequenceSuffix } from "./prep.ts";
import {
  CreateMode,
  containerEphemeralOwner,
  openAclUnsafe,
  Perms,
  ttlEphemeralOwner,
} from "./types.ts";
import { Harness, nowMs } from "./test/helpers.ts";

// Every client-visible error code the tree can produce must be reached by some test here.
const reached = new Set<number>();
function expectErr(reply: Reply, err: number): Reply {
  expect(errName(reply.err)).toBe(errName(err));
  reached.add(err);
  return reply;
}

describe("tree: create", () => {
  it("creates in every mode with ZooKeeper's stat", () => {
    const h = new Harness({ extendedTypesEnabled: true });
    const created = expectErr(h.create("/a", { data: "hello" }), Err.OK);
    expect(created.path).toBe("/a");
    expect(created.stat).toMatchObject({
      version: 0,
      cversion: 0,
      aversion: 0,
      dataLength: 5,
      numChildren: 0,
      ephemeralOwner: 0n,
      ctime: nowMs,
      mtime: nowMs,
    });
    expect(created.stat!.czxid).toBe(created.zxid);
    expect(created.stat!.pzxid).toBe(created.zxid);
    expect(h.create("/a/e", { flags: CreateMode.EPHEMERAL }).stat!.ephemeralOwner).toBe(
      h.ctx.sessionId,
    );
    expect(h.create("/a/s", { flags: CreateMode.PERSISTENT_SEQUENTIAL }).path).toBe(
      "/a/s0000000001",
    );
    expect(h.create("/a/es", { flags: CreateMode.EPHEMERAL_SEQUENTIAL }).path).toBe(
      "/a/es0000000002",
    );
    const container = h.send({
      op: "createContainer",
      path: "/c",
      data: utf8(""),
      acl: openAclUnsafe,
      flags: CreateMode.CONTAINER,
      ttl: -1,
    });
    // Clients see ephemeralOwner 0 on containers and TTL nodes (ZooKeeper's
    // getClientEphemeralOwner).
    expect(container.stat!.ephemeralOwner).toBe(0n);
    expect(h.server.db.tree.get("/c")!.ephemeralOwner).toBe(containerEphemeralOwner);
    expect(
      h.create("/t", { flags: CreateMode.PERSISTENT_WITH_TTL, ttl: 5000 }).stat!.ephemeralOwner,
    ).toBe(0n);
    expect(h.server.db.tree.get("/t")!.ephemeralOwner).toBe(ttlEphemeralOwner(5000));
    expect(
      h.create("/ts", { flags: CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL, ttl: 5000 }).path,
    ).toBe("/ts0000000003");
    const parent = h.send({ op: "exists", path: "/a", watch: false });
    expect(parent.stat).toMatchObject({ cversion: 3, numChildren: 3 });
  });

  it("the sequential counter counts creates; the cversion counts creates and deletes", () => {
    const h = new Harness();
    h.create("/q");
    expect(h.create("/q/n-", { flags: CreateMode.PERSISTENT_SEQUENTIAL }).path).toBe(
      "/q/n-0000000000",
    );
    expect(h.create("/q/plain").path).toBe("/q/plain");
    h.send({ op: "delete", path: "/q/plain", version: -1 });
    const deleted = h.send({ op: "delete", path: "/q/n-0000000000", version: -1 });
    expect(h.create("/q/n-", { flags: CreateMode.PERSISTENT_SEQUENTIAL }).path).toBe(
      "/q/n-0000000002",
    );
    const stat = h.send({ op: "exists", path: "/q", watch: false }).stat!;
    expect(stat.cversion).toBe(5); // 3 creates + 2 deletes, as Apache ZooKeeper 3.8 reports it
    expect(h.server.db.tree.get("/q")!.cversion).toBe(3);
    expect(stat.pzxid > deleted.zxid).toBe(true);
  });

  it("formats the suffix as %010d of a signed 32-bit counter", () => {
    expect(sequenceSuffix(0)).toBe("0000000000");
    expect(sequenceSuffix(2147483647)).toBe("2147483647");
    expect(sequenceSuffix(-2147483648)).toBe("-2147483648");
    expect(sequenceSuffix(-5)).toBe("-000000005");
  });

  it("refuses what ZooKeeper refuses, with ZooKeeper's code", () => {
    const h = new Harness();
    h.create("/a");
    expectErr(h.create("/a"), Err.NODEEXISTS);
    expectErr(h.create("/"), Err.NODEEXISTS);
    expectErr(h.create("/missing/child"), Err.NONODE);
    expectErr(h.create("/missing/"), Err.NONODE); // parent looked up before the path is validated
    expectErr(h.create("/a/"), Err.BADARGUMENTS);
    expectErr(h.create("/a/./b"), Err.NONODE);
    expectErr(h.create("/."), Err.BADARGUMENTS);
    expectErr(h.create("relative"), Err.BADARGUMENTS);
    expectErr(h.create("/a\u0000b"), Err.BADARGUMENTS);
    expect(h.create("/a/", { flags: CreateMode.PERSISTENT_SEQUENTIAL }).path).toBe("/a/0000000000");
    expectErr(h.create("/x", { flags: 7 }), Err.BADARGUMENTS);
    expectErr(h.create("/e", { flags: CreateMode.EPHEMERAL }), Err.OK);
    expectErr(h.create("/e/child"), Err.NOCHILDRENFOREPHEMERALS);
    expectErr(h.create("/e", { flags: CreateMode.EPHEMERAL }), Err.NODEEXISTS); // exists wins
    expectErr(
      h.create("/t", { flags: CreateMode.PERSISTENT_WITH_TTL, ttl: 100 }),
      Err.UNIMPLEMENTED,
    );
    expectErr(h.create("/big", { data: "x".repeat(0xfffff + 1) }), Err.BADARGUMENTS);
    expectErr(h.create("/acl", { acl: [] }), Err.INVALIDACL);
  });

  it("validates TTLs when extended types are on", () => {
    const h = new Harness({ extendedTypesEnabled: true });
    expectErr(h.create("/t", { flags: CreateMode.PERSISTENT_WITH_TTL, ttl: 0 }), Err.BADARGUMENTS);
    expectErr(h.create("/t", { flags: CreateMode.PERSISTENT, ttl: 10 }), Err.BADARGUMENTS);
    expectErr(
      h.create("/t", { flags: CreateMode.PERSISTENT_WITH_TTL, ttl: 2 ** 40 }),
      Err.BADARGUMENTS,
    );
  });
});

describe("tree: delete, setData, check, setACL", () => {
  it("deletes with version checks; parents with children refuse", () => {
    const h = new Harness();
    h.create("/a");
    h.create("/a/b");
    expectErr(h.send({ op: "delete", path: "/a", version: -1 }), Err.NOTEMPTY);
    expectErr(h.send({ op: "delete", path: "/a/b", version: 3 }), Err.BADVERSION);
    expectErr(h.send({ op: "delete", path: "/a/zz", version: -1 }), Err.NONODE);
    expectErr(h.send({ op: "delete", path: "/", version: -1 }), Err.BADARGUMENTS);
    expectErr(h.send({ op: "delete", path: "/zookeeper", version: -1 }), Err.BADARGUMENTS);
    expectErr(h.send({ op: "delete", path: "/zookeeper/quota", version: -1 }), Err.BADARGUMENTS);
    expectErr(h.send({ op: "delete", path: "/a/b", version: 0 }), Err.OK);
    expect(h.send({ op: "exists", path: "/a", watch: false }).stat!.numChildren).toBe(0);
  });

  it("setData bumps version and mzxid; CAS fails on a stale version", () => {
    const h = new Harness();
    const created = h.create("/a", { data: "1" });
    const set = expectErr(
      h.send({ op: "setData", path: "/a", data: utf8("22"), version: 0 }, h.ctx, nowMs + 5),
      Err.OK,
    );
    expect(set.stat).toMatchObject({
      version: 1,
      dataLength: 2,
      mtime: nowMs + 5,
      ctime: nowMs,
      czxid: created.zxid,
      mzxid: set.zxid,
    });
    expectErr(h.send({ op: "setData", path: "/a", data: utf8("3"), version: 0 }), Err.BADVERSION);
    expectErr(h.send({ op: "setData", path: "/nope", data: utf8("3"), version: -1 }), Err.NONODE);
    expectErr(
      h.send({ op: "setData", path: "/a/", data: utf8("3"), version: -1 }),
      Err.BADARGUMENTS,
    );
    const got = h.send({ op: "getData", path: "/a", watch: false });
    expect(fromUtf8(got.data!)).toBe("22");
    expectErr(h.send({ op: "check", path: "/a", version: 1 }), Err.OK);
    expectErr(h.send({ op: "check", path: "/a", version: 0 }), Err.BADVERSION);
  });

  it("failed writes take a zxid, as ZooKeeper's error txns do", () => {
    const h = new Harness();
    const a = h.create("/a");
    const failed = h.create("/a");
    expect(failed.zxid).toBe(a.zxid + 1n);
    expect(h.create("/b").zxid).toBe(a.zxid + 2n);
  });

  it("setACL checks ADMIN and aversion; getACL masks digests without ADMIN", () => {
    const alice = { scheme: "digest", id: digestId("alice:pw") };
    const h = new Harness({}, [alice]);
    const other = h.session();
    h.create("/a", {
      acl: [
        { perms: Perms.ALL, id: alice },
        { perms: Perms.READ, id: { scheme: "world", id: "anyone" } },
      ],
    });
    expectErr(
      h.send({ op: "setACL", path: "/a", acl: openAclUnsafe, version: -1 }, other),
      Err.NOAUTH,
    );
    expect(h.send({ op: "getACL", path: "/a" }, other).acl![0]!.id.id).toBe("alice:x");
    expect(h.send({ op: "getACL", path: "/a" }).acl![0]!.id.id).toBe(alice.id);
    expectErr(h.send({ op: "setACL", path: "/a", acl: openAclUnsafe, version: 1 }), Err.BADVERSION);
    expectErr(
      h.send({
        op: "setACL",
        path: "/a",
        acl: [{ perms: Perms.ALL, id: { scheme: "digest", id: "bad" } }],
        version: -1,
      }),
      Err.INVALIDACL,
    );
    const set = expectErr(
      h.send({ op: "setACL", path: "/a", acl: openAclUnsafe, version: 0 }),
      Err.OK,
    );
    expect(set.stat!.aversion).toBe(1);
    expectErr(h.send({ op: "getACL", path: "/nope" }), Err.NONODE);
  });

  it("enforces READ, WRITE, CREATE, DELETE and ADMIN separately; super bypasses all", () => {
    const h = new Harness({ superDigest: digestId("super:secret") });
    const admin = h.server.authenticate("digest", "super:secret")!;
    const su = h.session(admin);
    h.create("/r", { acl: [{ perms: Perms.CREATE, id: { scheme: "world", id: "anyone" } }] });
    expectErr(h.send({ op: "getData", path: "/r", watch: false }), Err.NOAUTH);
    expectErr(h.send({ op: "getChildren", path: "/r", watch: false }), Err.NOAUTH);
    expectErr(h.send({ op: "getAllChildrenNumber", path: "/r" }), Err.NOAUTH);
    expectErr(h.send({ op: "setData", path: "/r", data: utf8("x"), version: -1 }), Err.NOAUTH);
    expectErr(h.send({ op: "check", path: "/r", version: -1 }), Err.NOAUTH);
    expectErr(h.create("/r/child"), Err.OK);
    expectErr(h.send({ op: "delete", path: "/r/child", version: -1 }), Err.NOAUTH);
    // 3.8.0: exists checks no ACL
    expect(h.send({ op: "exists", path: "/r", watch: false }).err).toBe(Err.OK);
    expectErr(h.send({ op: "getData", path: "/r", watch: false }, su), Err.OK);
    expectErr(h.send({ op: "delete", path: "/r/child", version: -1 }, su), Err.OK);
    expectErr(
      h.send({ op: "setData", path: "/zookeeper/config", data: utf8("x"), version: -1 }),
      Err.NOAUTH,
    );
  });

  it("a closed or unknown session cannot write", () => {
    const h = new Harness();
    h.server.closeSession(h.ctx.sessionId, nowMs);
    expectErr(h.create("/a"), Err.SESSIONEXPIRED);
    expectErr(h.server.closeSession(h.ctx.sessionId, nowMs), Err.SESSIONEXPIRED);
  });
});

describe("tree: multi", () => {
  it("applies all ops at one zxid", () => {
    const h = new Harness();
    const reply = h.send({
      op: "multi",
      ops: [
        { op: "create", path: "/m", data: utf8("a"), acl: openAclUnsafe, flags: 0, ttl: -1 },
        {
          op: "create2",
          path: "/m/s",
          data: utf8(""),
          acl: openAclUnsafe,
          flags: CreateMode.PERSISTENT_SEQUENTIAL,
          ttl: -1,
        },
        { op: "setData", path: "/m", data: utf8("b"), version: 0 },
        { op: "check", path: "/m", version: 1 },
        { op: "delete", path: "/m/s0000000000", version: -1 },
      ],
    });
    expectErr(reply, Err.OK);
    expect(reply.results!.map((r) => r.op)).toEqual([
      "create",
      "create",
      "setData",
      "check",
      "delete",
    ]);
    // create2 in a multi: no Stat, as ZooKeeper
    expect(reply.results![1]).toEqual({ op: "create", path: "/m/s0000000000" });
    expect(reply.results![2]).toMatchObject({ stat: { version: 1, mzxid: reply.zxid } });
    expect(h.send({ op: "exists", path: "/m", watch: false }).stat).toMatchObject({
      cversion: 2,
      numChildren: 0,
      pzxid: reply.zxid,
    });
  });

  it("aborts at the first failure: OK, its code, RUNTIMEINCONSISTENCY; nothing changes", () => {
    const h = new Harness();
    h.create("/a");
    const before = h.server.db.tree.digest();
    const reply = h.send({
      op: "multi",
      ops: [
        { op: "create", path: "/a/x", data: utf8(""), acl: openAclUnsafe, flags: 0, ttl: -1 },
        { op: "check", path: "/a", version: 7 },
        { op: "delete", path: "/a", version: -1 },
      ],
    });
    expect(reply.err).toBe(Err.OK);
    expect(reply.results).toEqual([
      { op: "error", err: Err.OK },
      { op: "error", err: Err.BADVERSION },
      { op: "error", err: Err.RUNTIMEINCONSISTENCY },
    ]);
    reached.add(Err.RUNTIMEINCONSISTENCY);
    expect(h.server.db.tree.digest()).toBe(before);
    expect(h.create("/a/x").err).toBe(Err.OK); // the speculative create was rolled back
  });

  it("multiRead answers each read on its own", () => {
    const h = new Harness();
    h.create("/a", { data: "v" });
    const reply = h.send({
      op: "multiRead",
      ops: [
        { op: "getData", path: "/a", watch: false },
        { op: "getChildren", path: "/nope", watch: false },
        { op: "getChildren", path: "/", watch: false },
      ],
    });
    expect(reply.results![0]).toMatchObject({ op: "getData", data: utf8("v") });
    expect(reply.results![1]).toEqual({ op: "error", err: Err.NONODE });
    expect(reply.results![2]).toEqual({ op: "getChildren", children: ["zookeeper", "a"] });
  });
});

describe("tree: reads and the /zookeeper subtree", () => {
  it("reports /zookeeper as ZooKeeper does", () => {
    const h = new Harness();
    const root = h.send({ op: "getChildren2", path: "/", watch: false });
    expect(root.children).toEqual(["zookeeper"]);
    expect(root.stat).toMatchObject({ czxid: 0n, cversion: -1, numChildren: 1, pzxid: 0n });
    expect(h.send({ op: "exists", path: "/zookeeper", watch: false }).stat).toMatchObject({
      cversion: -2,
      numChildren: 2,
    });
    expect(h.send({ op: "exists", path: "/zookeeper/config", watch: false }).stat).toMatchObject({
      aversion: -1,
    });
    expect(h.send({ op: "getChildren", path: "/zookeeper", watch: false }).children).toEqual([
      "quota",
      "config",
    ]);
    expect(h.send({ op: "getACL", path: "/zookeeper/config" }).acl).toEqual([
      { perms: Perms.READ, id: { scheme: "world", id: "anyone" } },
    ]);
    expect(h.send({ op: "getAllChildrenNumber", path: "/" }).count).toBe(3);
    h.create("/a");
    h.create("/a/b");
    h.create("/a/b/c");
    h.create("/ab");
    expect(h.send({ op: "getAllChildrenNumber", path: "/a" }).count).toBe(2);
    expect(h.send({ op: "getAllChildrenNumber", path: "/" }).count).toBe(7);
    expectErr(h.send({ op: "getData", path: "/nope", watch: false }), Err.NONODE);
    expectErr(h.send({ op: "exists", path: "/nope", watch: false }), Err.NONODE);
    expectErr(h.send({ op: "exists", path: "/a\u0000", watch: false }), Err.BADARGUMENTS);
    expect(h.send({ op: "sync", path: "/a" }).path).toBe("/a");
  });

  it("reads of the empty path answer as the root; writes of it are BADARGUMENTS", () => {
    const h = new Harness();
    h.create("/a");
    const root = h.send({ op: "getChildren2", path: "/", watch: false });
    for (const op of ["exists", "getData", "getChildren2"] as const) {
      expect(expectErr(h.send({ op, path: "", watch: false }), Err.OK).stat).toEqual(root.stat);
    }
    const children = h.send({ op: "getChildren", path: "", watch: false }).children!;
    expect(children.sort()).toEqual(["a", "zookeeper"]);
    expect(h.send({ op: "getACL", path: "" }).acl).toEqual(openAclUnsafe);
    // ZooKeeper counts keys starting with "/": every node, the root's own "/" key included.
    expect(h.send({ op: "getAllChildrenNumber", path: "" }).count).toBe(5);
    expect(h.send({ op: "getAllChildrenNumber", path: "/" }).count).toBe(4);
    const read = h.send({ op: "multiRead", ops: [{ op: "getData", path: "", watch: false }] });
    expect(read.results![0]!.op).toBe("getData");
    const createEmpty = {
      op: "create2",
      path: "",
      data: null,
      acl: openAclUnsafe,
      flags: 0,
      ttl: -1,
    } as const;
    expectErr(h.send(createEmpty), Err.BADARGUMENTS);
    expectErr(h.send({ op: "setData", path: "", data: null, version: -1 }), Err.BADARGUMENTS);
    expectErr(h.send({ op: "delete", path: "", version: -1 }), Err.BADARGUMENTS);
    const setAcl = { op: "setACL", path: "", acl: openAclUnsafe, version: -1 } as const;
    expectErr(h.send(setAcl), Err.BADARGUMENTS);
  });

  it("getEphemerals lists the session's own, by string prefix", () => {
    const h = new Harness();
    const other = h.session();
    h.create("/e1", { flags: CreateMode.EPHEMERAL });
    h.create("/e2", { flags: CreateMode.EPHEMERAL });
    h.create("/f", { flags: CreateMode.EPHEMERAL, ctx: other });
    expect(h.send({ op: "getEphemerals", prefixPath: "/" }).ephemerals).toEqual(["/e1", "/e2"]);
    expect(h.send({ op: "getEphemerals", prefixPath: "/e1" }).ephemerals).toEqual(["/e1"]);
    expect(h.send({ op: "getEphemerals", prefixPath: "/e" }).ephemerals).toEqual(["/e1", "/e2"]);
    expect(h.send({ op: "getEphemerals", prefixPath: "" }, other).ephemerals).toEqual(["/f"]);
  });

  it("whoAmI lists the connection's ids", () => {
    const alice = { scheme: "digest", id: digestId("alice:pw") };
    const h = new Harness({}, [{ scheme: "ip", id: "127.0.0.1" }, alice]);
    expect(h.send({ op: "whoAmI" }).clientInfo).toEqual([
      { authScheme: "ip", user: "127.0.0.1" },
      { authScheme: "digest", user: "alice" },
    ]);
  });
});

describe("tree: sessions, containers and TTL nodes", () => {
  it("closing a session deletes its ephemerals and moves their parents' pzxid", () => {
    const h = new Harness();
    const other = h.session();
    h.create("/p");
    h.create("/p/e", { flags: CreateMode.EPHEMERAL_SEQUENTIAL });
    h.create("/keep", { flags: CreateMode.EPHEMERAL, ctx: other });
    const closed = h.server.closeSession(h.ctx.sessionId, nowMs);
    expect(h.send({ op: "getChildren2", path: "/p", watch: false }, other)).toMatchObject({
      children: [],
      stat: { pzxid: closed.zxid, cversion: 2 },
    });
    expect(h.send({ op: "exists", path: "/keep", watch: false }, other).err).toBe(Err.OK);
    expect(h.server.db.tree.ephemerals.has(h.ctx.sessionId)).toBe(false);
  });

  it("reaps containers that had children and TTL nodes idle past their TTL", () => {
    const h = new Harness({ extendedTypesEnabled: true });
    const container = (path: string) =>
      h.send({
        op: "createContainer",
        path,
        data: utf8(""),
        acl: openAclUnsafe,
        flags: CreateMode.CONTAINER,
        ttl: -1,
      });
    container("/used");
    container("/never");
    h.create("/used/child");
    h.create("/t", { flags: CreateMode.PERSISTENT_WITH_TTL, ttl: 1000 });
    expect(h.server.reap(nowMs + 500)).toEqual([]); // /used still has a child, /t is fresh
    h.send({ op: "delete", path: "/used/child", version: -1 });
    expect(h.server.reap(nowMs + 600)).toEqual(["/used"]);
    expect(h.server.reap(nowMs + 1001)).toEqual(["/t"]);
    expect(h.send({ op: "exists", path: "/never", watch: false }).err).toBe(Err.OK);
  });
});

describe("tree: digest", () => {
  it("counts nodes changed since it was last read, however often it is read", () => {
    // Two trees take the same 3,000 writes over 40 paths: one has its digest read after every
    // write, the other only at the end, past several recounts of what changed in between.
    const everyWrite = new Harness();
    const atEnd = new Harness();
    let seed = 7;
    const next = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    for (const h of [everyWrite, atEnd]) h.create("/d");
    for (let i = 0; i < 3000; i++) {
      const path = `/d/n${next(40)}`;
      const pick = next(3);
      for (const h of [everyWrite, atEnd]) {
        if (pick === 0) h.create(path, { data: `c${i}` });
        else if (pick === 1) h.send({ op: "setData", path, data: utf8(`s${i}`), version: -1 });
        else h.send({ op: "delete", path, version: -1 });
      }
      everyWrite.server.db.tree.digest();
    }
    const digest = atEnd.server.db.tree.digest();
    expect(everyWrite.server.db.tree.digest()).toBe(digest);
    // Hashes every node afresh, and fails if a node's cached hash is not current.
    expect(atEnd.server.db.tree.recomputeDigest()).toBe(digest);
    expect(everyWrite.server.db.tree.recomputeDigest()).toBe(digest);
  });
});

afterAll(() => {
  // The client-visible codes of the tree; the others belong to sessions, the wire and replication.
  const expected = [
    Err.OK,
    Err.NONODE,
    Err.NODEEXISTS,
    Err.NOTEMPTY,
    Err.BADVERSION,
    Err.NOCHILDRENFOREPHEMERALS,
    Err.NOAUTH,
    Err.INVALIDACL,
    Err.BADARGUMENTS,
    Err.UNIMPLEMENTED,
    Err.SESSIONEXPIRED,
    Err.RUNTIMEINCONSISTENCY,
  ];
  const missing = expected.filter((code) => !reached.has(code)).map(errName);
  expect(missing).toEqual([]);
});
