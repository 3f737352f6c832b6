// Differential test: the same operations against Apache ZooKeeper 3.8 (Debian package, started by
// the test) and against the core's standalone server must give the same results, error codes and
// Stat fields, with zxids and times normalized to their order of appearance and session ids to the
// session's index. Where the two differ, ZooKeeper is right.

import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authenticate, digestId } from "../core/acl.ts";
import { fromUtf8, utf8 } from "../core/bytes.ts";
import type { ClientOp } from "../core/replica/index.ts";
import type { MultiWriteOp, OpResult, Reply, Request, RequestContext } from "../core/requests.ts";
import { StandaloneServer, standaloneConfig } from "../core/standalone.ts";
import type { Acl, Stat } from "../core/types.ts";
import { CreateMode, openAclUnsafe, Perms } from "../core/types.ts";
import type { ReferenceZooKeeper } from "./test/reference-zookeeper.ts";
import {
  referenceAvailable,
  startReferenceZooKeeper,
  superCredentials,
} from "./test/reference-zookeeper.ts";
import { JuteWriter } from "./jute-io.ts";
import type { TestEnsemble } from "./test/ensemble.ts";
import { startEnsemble } from "./test/ensemble.ts";
import { OpCode } from "./wire.ts";
import { ZkClient } from "./zk-client.ts";

type Step = { s: number; op: ClientOp } | { s: number; auth: string } | { s: number; close: true };

/** Normalizes what depends on the run (zxids, times, session ids) and on hash order (children). */
class Normalizer {
  private readonly zxids = new Map<bigint, string>();
  /** `times`: compare whether ctime equals mtime (off where one side's clock is coarser). */
  constructor(
    private readonly sessions: bigint[],
    private readonly times = true,
  ) {}

  zxid(z: bigint): string {
    if (z === 0n) return "z0";
    if (!this.zxids.has(z)) this.zxids.set(z, `z${this.zxids.size + 1}`);
    return this.zxids.get(z)!;
  }

  owner(o: bigint): string {
    const index = this.sessions.indexOf(o);
    return index >= 0 ? `session${index}` : `0x${BigInt.asUintN(64, o).toString(16)}`;
  }

  stat(s: Stat | undefined) {
    if (s === undefined) return undefined;
    return {
      czxid: this.zxid(s.czxid),
      mzxid: this.zxid(s.mzxid),
      pzxid: this.zxid(s.pzxid),
      ctimeIsMtime: this.times ? s.ctime === s.mtime : undefined,
      version: s.version,
      cversion: s.cversion,
      aversion: s.aversion,
      ephemeralOwner: this.owner(s.ephemeralOwner),
      dataLength: s.dataLength,
      numChildren: s.numChildren,
    };
  }

  /** Null data stays null (JSON null), apart from the empty string. */
  data(d: Uint8Array | null): string | null {
    return d === null ? null : fromUtf8(d);
  }

  result(r: OpResult) {
    switch (r.op) {
      case "create":
        return { op: r.op, path: r.path, stat: this.stat(r.stat) };
      case "setData":
        return { op: r.op, stat: this.stat(r.stat) };
      case "getData":
        return { op: r.op, data: this.data(r.data), stat: this.stat(r.stat) };
      case "getChildren":
        return { op: r.op, children: [...r.children].sort() };
      default:
        return r;
    }
  }

  reply(r: Reply) {
    return {
      err: r.err,
      zxid: this.zxid(r.zxid),
      path: r.path,
      stat: this.stat(r.stat),
      data: r.data === undefined ? undefined : this.data(r.data),
      acl: r.acl,
      children: r.children === undefined ? undefined : [...r.children].sort(),
      count: r.count,
      ephemerals: r.ephemerals === undefined ? undefined : [...r.ephemerals].sort(),
      // ZooKeeper keeps a connection's auth ids in a set: their order is not part of the contract.
      results: r.results?.map((x) => this.result(x)),
      clientInfo: r.clientInfo?.map((c) => `${c.authScheme}:${c.user}`).sort(),
    };
  }
}

let zk: ReferenceZooKeeper | undefined;

function stepLabel(step: Step): string {
  const what =
    "op" in step
      ? JSON.stringify(step.op, (_k, v) =>
          v instanceof Uint8Array ? fromUtf8(v) : typeof v === "bigint" ? String(v) : v,
        )
      : "auth" in step
        ? `auth ${step.auth}`
        : "close";
  return `s${step.s} ${what}`;
}

/** Runs the steps against both servers; returns the normalized replies side by side. */
async function runBoth(steps: Step[], sessionCount: number) {
  const clients = await Promise.all(
    Array.from({ length: sessionCount }, () =>
      ZkClient.connect("127.0.0.1", zk!.port, { timeoutMs: 30_000 }),
    ),
  );
  const core = new StandaloneServer(
    standaloneConfig({ extendedTypesEnabled: true, superDigest: digestId(superCredentials) }),
  );
  const ctxs: RequestContext[] = clients.map(() => ({
    sessionId: core.createSession(30_000, 1_000).sessionId,
    cxid: 0,
    authIds: [{ scheme: "ip", id: "127.0.0.1" }],
  }));
  const zkNorm = new Normalizer(clients.map((c) => c.sessionId));
  const coreNorm = new Normalizer(ctxs.map((c) => c.sessionId));
  // Both sides created their sessions: align the zxids those took.
  const out: { step: string; zk: unknown; core: unknown }[] = [];
  let clockMs = 2_000;
  for (const step of steps) {
    const label = stepLabel(step);
    let zkReply: Reply;
    let coreReply: Reply;
    if ("auth" in step) {
      zkReply = await clients[step.s]!.addAuth("digest", step.auth);
      const ids = authenticate("digest", step.auth, digestId(superCredentials));
      for (const id of ids ?? [])
        if (!ctxs[step.s]!.authIds.some((a) => a.scheme === id.scheme && a.id === id.id))
          (ctxs[step.s]!.authIds as unknown[]).push(id);
      coreReply = { err: ids === undefined ? -115 : 0, zxid: core.db.lastZxid };
      out.push({ step: label, zk: { err: zkReply.err }, core: { err: coreReply.err } });
      continue;
    }
    if ("close" in step) {
      await clients[step.s]!.close();
      coreReply = core.closeSession(ctxs[step.s]!.sessionId, 2_000);
      out.push({ step: label, zk: "closed", core: coreReply.err === 0 ? "closed" : coreReply.err });
      continue;
    }
    try {
      zkReply = await clients[step.s]!.request(step.op);
    } catch (error) {
      throw new Error(
        `Apache ZooKeeper dropped the connection at step "${label}": ${(error as Error).message}`,
      );
    }
    clockMs += 1_000; // every step at its own time, as ZooKeeper's wall clock moves on
    coreReply = core.submit(
      { ...ctxs[step.s]!, cxid: ctxs[step.s]!.cxid++ },
      step.op as Request,
      clockMs,
    );
    out.push({ step: label, zk: zkNorm.reply(zkReply), core: coreNorm.reply(coreReply) });
  }
  for (const c of clients) await c.close();
  return out;
}

const bytes = (s: string) => utf8(s);

/** Field-level differences, one line each, e.g. `stat.cversion: zk=2 core=3`. */
function fieldDiffs(zk: unknown, core: unknown, at = ""): string[] {
  if (JSON.stringify(zk) === JSON.stringify(core)) return [];
  if (typeof zk !== "object" || typeof core !== "object" || zk === null || core === null)
    return [`${at || "value"}: zk=${JSON.stringify(zk)} core=${JSON.stringify(core)}`];
  const keys = [...new Set([...Object.keys(zk), ...Object.keys(core)])];
  return keys.flatMap((k) =>
    fieldDiffs(
      (zk as Record<string, unknown>)[k],
      (core as Record<string, unknown>)[k],
      at ? `${at}.${k}` : k,
    ),
  );
}

function describeDifferences(results: { step: string; zk: unknown; core: unknown }[]): string[] {
  return results.flatMap((r) => fieldDiffs(r.zk, r.core).map((d) => `${r.step} -> ${d}`));
}
/** A create of `data` (null allowed) with the open ACL, as `kind` (create or create2). */
const createData = (
  kind: "create" | "create2",
  path: string,
  data: Uint8Array | null,
): ClientOp => ({ op: kind, path, data, acl: openAclUnsafe, flags: 0, ttl: -1 });
const getData = (path: string) => ({ op: "getData" as const, path, watch: false });

/**
 * ZooKeeper's data tree keys the root by "" as well as "/": reads of "" answer as the root, writes
 * fail path validation (BADARGUMENTS).
 */
function emptyPathSteps(): Step[] {
  const reads: ClientOp[] = [
    { op: "exists", path: "", watch: false },
    getData(""),
    { op: "getChildren", path: "", watch: false },
    { op: "getChildren2", path: "", watch: false },
    { op: "getACL", path: "" },
    { op: "getAllChildrenNumber", path: "" },
    { op: "getEphemerals", prefixPath: "" },
    { op: "sync", path: "" },
    { op: "multiRead", ops: [getData(""), { op: "getChildren", path: "", watch: false }] },
  ];
  const writes: ClientOp[] = [
    createData("create", "", null),
    create("", CreateMode.PERSISTENT_SEQUENTIAL),
    { op: "delete", path: "", version: -1 },
    { op: "setData", path: "", data: bytes("x"), version: -1 },
    { op: "setACL", path: "", acl: openAclUnsafe, version: -1 },
    { op: "multi", ops: [{ op: "check", path: "", version: -1 }] },
  ];
  return [...reads, ...writes].map((o) => ({ s: 0, op: o }));
}

/** Null data (jute length -1) reads back as null, apart from empty data, through every op. */
function nullDataSteps(root: string): Step[] {
  const ops: ClientOp[] = [
    createData("create", root, null),
    getData(root),
    createData("create2", `${root}/c2`, null),
    createData("create2", `${root}/empty`, bytes("")),
    getData(`${root}/empty`),
    { op: "setData", path: `${root}/empty`, data: null, version: -1 },
    getData(`${root}/empty`),
    { op: "setData", path: root, data: bytes(""), version: -1 },
    getData(root),
    {
      op: "multi",
      ops: [
        createData("create", `${root}/m`, null) as MultiWriteOp,
        createData("create2", `${root}/m2`, null) as MultiWriteOp,
        { op: "setData", path: `${root}/c2`, data: null, version: 0 },
      ],
    },
    { op: "multiRead", ops: [getData(`${root}/m`), getData(root)] },
    getData(`${root}/c2`),
    { op: "exists", path: `${root}/m2`, watch: false },
  ];
  return ops.map((o) => ({ s: 0, op: o }));
}

const create = (
  path: string,
  flags = 0,
  data = "d",
  acl: readonly Acl[] = openAclUnsafe,
): ClientOp => ({ op: "create2", path, data: bytes(data), acl, flags, ttl: -1 });
const op = (o: ClientOp) => o;

beforeAll(async () => {
  if (referenceAvailable) zk = await startReferenceZooKeeper();
}, 90_000);
afterAll(async () => zk?.stop());

const requireReference = process.env.CI_REQUIRE_PEERS === "1";

describe.skipIf(!referenceAvailable && !requireReference)(
  "differential: Apache ZooKeeper 3.8 vs the core",
  () => {
    it("scripted: create modes, counters, deletes, /zookeeper, multi, ACLs, sessions", async () => {
      const alice = { perms: Perms.ALL, id: { scheme: "digest", id: digestId("alice:pw") } };
      const steps: Step[] = [
        { s: 0, op: op({ op: "getChildren2", path: "/", watch: false }) },
        { s: 0, op: op({ op: "getChildren2", path: "/zookeeper", watch: false }) },
        { s: 0, op: op({ op: "getACL", path: "/zookeeper/config" }) },
        { s: 0, op: op({ op: "getAllChildrenNumber", path: "/" }) },
        ...emptyPathSteps(),
        { s: 0, op: create("/a") },
        { s: 0, op: create("/a") },
        { s: 0, op: create("/a/seq-", CreateMode.PERSISTENT_SEQUENTIAL) },
        { s: 0, op: create("/a/plain") },
        { s: 0, op: op({ op: "delete", path: "/a/plain", version: -1 }) },
        { s: 1, op: create("/a/seq-", CreateMode.EPHEMERAL_SEQUENTIAL) },
        { s: 0, op: op({ op: "delete", path: "/a/seq-0000000000", version: -1 }) },
        { s: 0, op: create("/a/seq-", CreateMode.PERSISTENT_SEQUENTIAL) },
        { s: 0, op: op({ op: "getChildren2", path: "/a", watch: false }) },
        { s: 1, op: create("/e", CreateMode.EPHEMERAL) },
        { s: 0, op: create("/e/child") },
        {
          s: 0,
          op: op({
            op: "createContainer",
            path: "/c",
            data: bytes(""),
            acl: openAclUnsafe,
            flags: CreateMode.CONTAINER,
            ttl: -1,
          }),
        },
        {
          s: 0,
          op: op({
            op: "createTTL",
            path: "/t",
            data: bytes("x"),
            acl: openAclUnsafe,
            flags: CreateMode.PERSISTENT_WITH_TTL,
            ttl: 60_000,
          }),
        },
        {
          s: 0,
          op: op({
            op: "createTTL",
            path: "/ts",
            data: bytes("x"),
            acl: openAclUnsafe,
            flags: CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL,
            ttl: 60_000,
          }),
        },
        {
          s: 0,
          op: op({
            op: "createTTL",
            path: "/bad",
            data: bytes("x"),
            acl: openAclUnsafe,
            flags: CreateMode.PERSISTENT_WITH_TTL,
            ttl: 0,
          }),
        },
        {
          s: 0,
          op: op({
            op: "create",
            path: "/plainreply",
            data: bytes("x"),
            acl: openAclUnsafe,
            flags: 0,
            ttl: -1,
          }),
        },
        { s: 0, op: op({ op: "setData", path: "/a", data: bytes("v2"), version: 0 }) },
        { s: 0, op: op({ op: "setData", path: "/a", data: bytes("v3"), version: 0 }) },
        { s: 0, op: op({ op: "setData", path: "/missing", data: bytes("v3"), version: -1 }) },
        { s: 0, op: op({ op: "delete", path: "/a", version: -1 }) },
        { s: 0, op: op({ op: "delete", path: "/a/seq-0000000002", version: 5 }) },
        { s: 0, op: op({ op: "delete", path: "/", version: -1 }) },
        { s: 0, op: op({ op: "delete", path: "/zookeeper", version: -1 }) },
        { s: 0, op: op({ op: "delete", path: "/zookeeper/quota", version: -1 }) },
        { s: 0, op: op({ op: "exists", path: "/nope", watch: false }) },
        { s: 0, op: op({ op: "getData", path: "/a", watch: false }) },
        // A standalone check (opcode 13) makes ZooKeeper 3.8 drop the connection (it serializes a
        // null Stat); checks are compared inside multi instead.
        { s: 0, op: op({ op: "getAllChildrenNumber", path: "/a" }) },
        { s: 1, op: op({ op: "getEphemerals", prefixPath: "/" }) },
        { s: 1, op: op({ op: "getEphemerals", prefixPath: "/a" }) },
        { s: 0, op: op({ op: "getEphemerals", prefixPath: "/" }) },
        {
          s: 0,
          op: op({
            op: "multi",
            ops: [
              { op: "create", path: "/m", data: bytes("1"), acl: openAclUnsafe, flags: 0, ttl: -1 },
              {
                op: "create2",
                path: "/m/x",
                data: bytes(""),
                acl: openAclUnsafe,
                flags: 2,
                ttl: -1,
              },
              { op: "setData", path: "/m", data: bytes("2"), version: 0 },
              { op: "check", path: "/m", version: 1 },
            ],
          }),
        },
        {
          s: 0,
          op: op({
            op: "multi",
            ops: [
              { op: "create", path: "/n", data: bytes(""), acl: openAclUnsafe, flags: 0, ttl: -1 },
              { op: "check", path: "/m", version: 7 },
              { op: "delete", path: "/m", version: -1 },
            ],
          }),
        },
        { s: 0, op: op({ op: "exists", path: "/n", watch: false }) },
        {
          s: 0,
          op: op({
            op: "multiRead",
            ops: [
              { op: "getData", path: "/m", watch: false },
              { op: "getChildren", path: "/nope", watch: false },
              { op: "getChildren", path: "/m", watch: false },
            ],
          }),
        },
        { s: 0, op: op({ op: "getACL", path: "/m" }) },
        { s: 0, op: op({ op: "setACL", path: "/m", acl: openAclUnsafe, version: 3 }) },
        {
          s: 0,
          op: op({
            op: "setACL",
            path: "/m",
            acl: [{ perms: Perms.READ, id: { scheme: "world", id: "anyone" } }],
            version: 0,
          }),
        },
        { s: 0, op: op({ op: "setData", path: "/m", data: bytes("3"), version: -1 }) },
        {
          s: 0,
          op: op({
            op: "setACL",
            path: "/m",
            acl: [{ perms: Perms.ALL, id: { scheme: "auth", id: "" } }],
            version: -1,
          }),
        },
        {
          s: 0,
          op: op({
            op: "setACL",
            path: "/m",
            acl: [{ perms: Perms.ALL, id: { scheme: "digest", id: "malformed" } }],
            version: -1,
          }),
        },
        {
          s: 0,
          op: op({
            op: "setACL",
            path: "/m",
            acl: [{ perms: Perms.ALL, id: { scheme: "ip", id: "10.0.0.0/33" } }],
            version: -1,
          }),
        },
        { s: 0, auth: "alice:pw" },
        {
          s: 0,
          op: create("/private", 0, "p", [
            alice,
            { perms: Perms.READ, id: { scheme: "world", id: "anyone" } },
          ]),
        },
        { s: 1, op: op({ op: "getACL", path: "/private" }) },
        { s: 0, op: op({ op: "getACL", path: "/private" }) },
        { s: 1, op: op({ op: "setData", path: "/private", data: bytes("q"), version: -1 }) },
        { s: 0, op: op({ op: "setData", path: "/private", data: bytes("q"), version: -1 }) },
        {
          s: 0,
          op: create("/authed", 0, "p", [{ perms: Perms.ALL, id: { scheme: "auth", id: "" } }]),
        },
        {
          s: 1,
          op: create("/authless", 0, "p", [{ perms: Perms.ALL, id: { scheme: "auth", id: "" } }]),
        },
        {
          s: 1,
          op: create("/ipacl", 0, "p", [
            { perms: Perms.ALL, id: { scheme: "ip", id: "10.0.0.0/8" } },
          ]),
        },
        { s: 1, op: op({ op: "getData", path: "/ipacl", watch: false }) },
        {
          s: 1,
          op: create("/iplocal", 0, "p", [
            { perms: Perms.ALL, id: { scheme: "ip", id: "127.0.0.1" } },
          ]),
        },
        { s: 1, op: op({ op: "getData", path: "/iplocal", watch: false }) },
        { s: 1, op: op({ op: "getData", path: "/authed", watch: false }) },
        { s: 1, auth: superCredentials },
        { s: 1, op: op({ op: "getData", path: "/authed", watch: false }) },
        { s: 0, op: op({ op: "whoAmI" }) },
        { s: 1, op: op({ op: "whoAmI" }) },
        ...["/bad/", "/a//b", "/a/./b", "/a/../b", "/.", "/..", "/x\u0001", "relative"].flatMap(
          (p): Step[] => [
            { s: 0, op: create(p) },
            { s: 0, op: op({ op: "setData", path: p, data: bytes(""), version: -1 }) },
            { s: 0, op: op({ op: "delete", path: p, version: -1 }) },
            { s: 0, op: op({ op: "getData", path: p, watch: false }) },
          ],
        ),
        { s: 0, op: create("/m/", CreateMode.PERSISTENT_SEQUENTIAL) },
        { s: 0, op: op({ op: "sync", path: "/m" }) },
        { s: 1, close: true },
        { s: 0, op: op({ op: "exists", path: "/e", watch: false }) },
        { s: 0, op: op({ op: "getChildren2", path: "/a", watch: false }) },
        { s: 0, op: op({ op: "getChildren2", path: "/", watch: false }) },
        { s: 0, op: op({ op: "getAllChildrenNumber", path: "/" }) },
        ...nullDataSteps("/null"),
        ...emptyPathSteps(),
      ];
      const results = await runBoth(steps, 2);
      expect(describeDifferences(results)).toEqual([]);
      expect(results.length).toBe(steps.length);
    }, 120_000);

    it("random op sequences over a small namespace agree", async () => {
      let run = 0;
      let compared = 0;
      const pathArb = fc.constantFrom("a", "a/b", "a/b/c", "c", "a/s-");
      const stepArb = (root: string): fc.Arbitrary<Step> =>
        fc.oneof(
          fc.record({
            s: fc.integer({ min: 0, max: 1 }),
            op: fc
              .tuple(pathArb, fc.integer({ min: 0, max: 3 }), fc.string({ maxLength: 3 }))
              .map(([p, flags, d]) => create(`${root}/${p}`, flags, d)),
          }),
          fc.record({
            s: fc.integer({ min: 0, max: 1 }),
            op: fc
              .tuple(pathArb, fc.integer({ min: -1, max: 2 }))
              .map(([p, v]): ClientOp => ({ op: "delete", path: `${root}/${p}`, version: v })),
          }),
          fc.record({
            s: fc.integer({ min: 0, max: 1 }),
            op: fc.tuple(pathArb, fc.integer({ min: -1, max: 2 }), fc.string({ maxLength: 3 })).map(
              ([p, v, d]): ClientOp => ({
                op: "setData",
                path: `${root}/${p}`,
                data: bytes(d),
                version: v,
              }),
            ),
          }),
          fc.record({
            s: fc.integer({ min: 0, max: 1 }),
            op: pathArb.map(
              (p): ClientOp => ({ op: "getData", path: `${root}/${p}`, watch: false }),
            ),
          }),
          fc.record({
            s: fc.integer({ min: 0, max: 1 }),
            op: pathArb.map(
              (p): ClientOp => ({ op: "getChildren2", path: `${root}/${p}`, watch: false }),
            ),
          }),
          fc.record({
            s: fc.integer({ min: 0, max: 1 }),
            op: fc
              .array(fc.tuple(pathArb, fc.integer({ min: -1, max: 1 })), {
                minLength: 1,
                maxLength: 3,
              })
              .map(
                (xs): ClientOp => ({
                  op: "multi",
                  ops: xs.map(([p, v], i) =>
                    i % 2 === 0
                      ? {
                          op: "create" as const,
                          path: `${root}/${p}`,
                          data: bytes(""),
                          acl: openAclUnsafe,
                          flags: 0,
                          ttl: -1,
                        }
                      : { op: "check" as const, path: `${root}/${p}`, version: v },
                  ),
                }),
              ),
          }),
        );
      await fc.assert(
        fc.asyncProperty(
          fc.array(stepArb("/r"), { minLength: 5, maxLength: 25 }),
          async (steps) => {
            const root = `/r${run++}`;
            const rooted: Step[] = [
              { s: 0, op: create(root) },
              ...steps.map((st) =>
                "op" in st
                  ? {
                      ...st,
                      op: JSON.parse(
                        JSON.stringify(st.op).replaceAll(/\/r\d+/g, root),
                        (_k, v) => v,
                      ),
                    }
                  : st,
              ),
            ];
            // Uint8Arrays do not survive JSON: rebuild data fields.
            for (const st of rooted)
              if ("op" in st) restoreBytes(st.op as unknown as Record<string, unknown>);
            const results = await runBoth(rooted, 2);
            compared += results.length;
            expect(describeDifferences(results)).toEqual([]);
          },
        ),
        { numRuns: 25, seed: 20261124 },
      );
      expect(compared).toBeGreaterThan(25 * 5);
    }, 300_000);
  },
);

/** One step of a wire-level run: an op, or a request record the client has no op for. */
type WireStep =
  | { op: ClientOp; errOnly?: boolean }
  | { raw: number; name: string; record: Uint8Array };

const describeOp = (o: ClientOp) =>
  JSON.stringify(o, (_k, v) => (v instanceof Uint8Array ? fromUtf8(v) : v));

/** Answers "open" if the client's connection still answers a request, else "closed". */
function connectionState(c: ZkClient): Promise<string> {
  return Promise.race([
    c.request({ op: "exists", path: "/", watch: false }).then(
      () => "open",
      () => "closed",
    ),
    new Promise<string>((resolve) => setTimeout(() => resolve("closed"), 2_000)),
  ]);
}

/**
 * Runs the steps over the wire against Apache ZooKeeper and against a server of ours, one session
 * each; returns the normalized replies side by side, then whether each connection is still open.
 * `errOnly` steps (and raw requests, whose failed reconfig takes a zxid in ZooKeeper only) compare
 * the error code alone.
 */
async function runWire(zkPort: number, oursPort: number, steps: WireStep[]) {
  const connect = (port: number) => ZkClient.connect("127.0.0.1", port, { timeoutMs: 30_000 });
  const clients = await Promise.all([connect(zkPort), connect(oursPort)]);
  const sides = ["Apache ZooKeeper", "our server"];
  // Two quick writes share a millisecond on one server and not on the other: times are compared
  // apart (net/session-expiry.test.ts: a znode's ctime is its request's time).
  const norms = clients.map((c) => new Normalizer([c.sessionId], false));
  const out: { step: string; zk: unknown; core: unknown }[] = [];
  for (const step of steps) {
    const label = "raw" in step ? step.name : describeOp(step.op);
    const send = (c: ZkClient, i: number) => {
      const reply = "raw" in step ? c.requestRaw(step.raw, step.record) : c.request(step.op);
      return reply.catch((error: Error) => {
        throw new Error(`${sides[i]} dropped the connection at step "${label}": ${error.message}`);
      });
    };
    const replies = await Promise.all(clients.map(send));
    const errOnly = "raw" in step || step.errOnly === true;
    const [zkSide, oursSide] = replies.map((r, i) =>
      errOnly ? { err: r.err } : norms[i]!.reply(r),
    );
    out.push({ step: label, zk: zkSide, core: oursSide });
  }
  const [zkState, oursState] = await Promise.all(clients.map(connectionState));
  out.push({ step: "connection after the last step", zk: zkState, core: oursState });
  await Promise.all(clients.map((c) => c.close()));
  return out;
}

/** A CreateRequest record (null data, open ACL, persistent), then `trailing` as an extra int. */
function createRecord(path: string, trailing: number): Uint8Array {
  const w = new JuteWriter().ustring(path).buffer(null);
  w.vector(openAclUnsafe, (a) => w.int(a.perms).ustring(a.id.scheme).ustring(a.id.id));
  return w.int(0).int(trailing).finish();
}

const record = () => new JuteWriter();
const reconfigRecord = record()
  .ustring("server.5=127.0.0.1:1234:1235;1236")
  .ustring(null)
  .ustring(null)
  .long(-1n)
  .finish();
const raw = (name: string, type: number, bytes: Uint8Array): WireStep => ({
  raw: type,
  name,
  record: bytes,
});
const multiHeader = (w: JuteWriter, type: number) => w.int(type).bool(false).int(-1);

const wireSuite = "differential over the wire: ZooKeeper vs ours";
describe.skipIf(!referenceAvailable && !requireReference)(wireSuite, () => {
  let ours: TestEnsemble | undefined;
  afterAll(async () => ours?.stop());

  it("null data, watches on the empty path, opcodes this server does not implement", async () => {
    ours = await startEnsemble(1);
    const watchType = { children: 1, data: 2, any: 3 };
    const checkWatches = (watcherType: number): ClientOp => ({
      op: "checkWatches",
      path: "",
      watcherType,
    });
    const removeAny: ClientOp = { op: "removeWatches", path: "", watcherType: watchType.any };
    const steps: WireStep[] = [
      ...nullDataSteps("/wire-null").map((st) => ({ op: (st as { op: ClientOp }).op })),
      // The root's stat and children depend on what else ran against each server: codes only.
      { op: { op: "exists", path: "", watch: true }, errOnly: true },
      { op: checkWatches(watchType.data) },
      { op: { op: "getChildren", path: "", watch: true }, errOnly: true },
      { op: checkWatches(watchType.children) },
      { op: removeAny },
      { op: removeAny },
      { op: { op: "addWatch", path: "", mode: 0 } },
      { op: checkWatches(watchType.any) },
      { op: removeAny },
      // Failed reconfig and deleteContainer requests take a zxid in ZooKeeper (error txns), not
      // here: nothing after them compares reply zxids.
      raw("reconfig (reconfigEnabled=false)", OpCode.reconfig, reconfigRecord),
      raw("sasl without a SASL login", OpCode.sasl, record().buffer(new Uint8Array(0)).finish()),
      raw("createSession on an open session", OpCode.createSession, new Uint8Array(0)),
      raw(
        "deleteContainer of a jute path",
        OpCode.deleteContainer,
        record().ustring("/wire-null").finish(),
      ),
      // A record that does not read is MARSHALLINGERROR and the connection goes on; bytes after a
      // whole record are ignored.
      raw("getData without its watch flag", OpCode.getData, record().ustring("/").finish()),
      raw(
        "getData with trailing bytes",
        OpCode.getData,
        record().ustring("/").bool(false).int(7).finish(),
      ),
      raw("create with trailing bytes", OpCode.create, createRecord("/wire-trailing", 9)),
      raw(
        "multi cut short",
        OpCode.multi,
        multiHeader(record(), OpCode.create).ustring("/x").finish(),
      ),
      raw(
        "multi holding a getData",
        OpCode.multi,
        multiHeader(record(), OpCode.getData)
          .ustring("/")
          .bool(false)
          .int(-1)
          .bool(true)
          .int(-1)
          .finish(),
      ),
      raw("setWatches2 cut short", OpCode.setWatches2, record().long(0n).finish()),
      { op: { op: "exists", path: "/wire-trailing", watch: false }, errOnly: true },
      // ZooKeeper answers an opcode it does not know, then drops the connection: last.
      { raw: 99, name: "unknown opcode 99", record: new Uint8Array(0) },
    ];
    const results = await runWire(zk!.port, ours.clientPorts[0]!, steps);
    expect(describeDifferences(results)).toEqual([]);
    expect(results.at(-1)!.core).toBe("closed");
  }, 60_000);

  it("reconfigEnabled=true: reconfig on a standalone server is UNIMPLEMENTED", async () => {
    const zkReconfig = await startReferenceZooKeeper("reconfigEnabled=true");
    const oursReconfig = await startEnsemble(1, "reconfigEnabled=true");
    try {
      const reconfig = raw("reconfig (reconfigEnabled=true)", OpCode.reconfig, reconfigRecord);
      const results = await runWire(zkReconfig.port, oursReconfig.clientPorts[0]!, [reconfig]);
      expect(describeDifferences(results)).toEqual([]);
      expect(results.map((r) => r.core)).toEqual([{ err: -6 }, "open"]);
    } finally {
      await oursReconfig.stop();
      await zkReconfig.stop();
    }
  }, 90_000);
});

function restoreBytes(op: Record<string, unknown>): void {
  if (op.data !== undefined && !(op.data instanceof Uint8Array))
    op.data = bytes(
      Object.values(op.data as Record<string, number>)
        .map((c) => String.fromCharCode(c))
        .join(""),
    );
  if (Array.isArray(op.ops))
    for (const inner of op.ops) restoreBytes(inner as Record<string, unknown>);
}
