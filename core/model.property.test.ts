import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fromUtf8, utf8 } from "./bytes.ts";
import { Err } from "./errors.ts";
import { decodeLog, decodeSnapshot, encodeLogRecord, encodeSnapshot } from "./storage.ts";
import { replay, StandaloneServer, standaloneConfig } from "./standalone.ts";
import type { MultiWriteOp, Reply, RequestContext } from "./requests.ts";
import type { Stat } from "./types.ts";
import { CreateMode, openAclUnsafe } from "./types.ts";
import { Database } from "./database.ts";
import { RefTree } from "./test/reference-model.ts";
import type { RefNode, RefWrite } from "./test/reference-model.ts";

const paths = ["/a", "/b", "/a/x", "/a/y", "/a/x/z", "/b/q", "/a/s-"];
const pathArb = fc.constantFrom(...paths);
const versionArb = fc.constantFrom(-1, 0, 1, 2);
const dataArb = fc.constantFrom("", "v1", "v22", "v333");

const writeArb: fc.Arbitrary<RefWrite> = fc.oneof(
  fc.record({
    op: fc.constant("create" as const),
    path: pathArb,
    data: dataArb,
    ephemeral: fc.boolean(),
    sequential: fc.boolean(),
  }),
  fc.record({ op: fc.constant("delete" as const), path: pathArb, version: versionArb }),
  fc.record({
    op: fc.constant("setData" as const),
    path: pathArb,
    data: dataArb,
    version: versionArb,
  }),
  fc.record({ op: fc.constant("check" as const), path: pathArb, version: versionArb }),
);

type Step =
  | { kind: "write"; session: 0 | 1; write: RefWrite }
  | { kind: "multi"; session: 0 | 1; ops: RefWrite[] }
  | { kind: "read"; session: 0 | 1; path: string }
  | { kind: "restartSession" };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("write" as const),
      session: fc.constantFrom(0 as const, 1 as const),
      write: writeArb,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("multi" as const),
      session: fc.constantFrom(0 as const, 1 as const),
      ops: fc.array(writeArb, { minLength: 1, maxLength: 4 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("read" as const),
      session: fc.constantFrom(0 as const, 1 as const),
      path: pathArb,
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "restartSession" as const }) },
);

function toRequest(w: RefWrite): MultiWriteOp {
  switch (w.op) {
    case "create":
      return {
        op: "create2",
        path: w.path,
        data: utf8(w.data),
        acl: openAclUnsafe,
        flags:
          (w.ephemeral ? CreateMode.EPHEMERAL : 0) |
          (w.sequential ? CreateMode.PERSISTENT_SEQUENTIAL : 0),
        ttl: -1,
      };
    case "delete":
      return { op: "delete", path: w.path, version: w.version };
    case "setData":
      return { op: "setData", path: w.path, data: utf8(w.data), version: w.version };
    case "check":
      return { op: "check", path: w.path, version: w.version };
  }
}

/** Compares a real Stat with the reference node, zxids as counters of the single epoch. */
function expectStat(stat: Stat | undefined, node: RefNode, children: number) {
  const counter = (z: bigint) => (z === 0n ? 0n : z - (1n << 32n));
  expect(stat).toBeDefined();
  expect({
    version: stat!.version,
    cversion: stat!.cversion,
    dataLength: stat!.dataLength,
    numChildren: stat!.numChildren,
    czxid: counter(stat!.czxid),
    mzxid: counter(stat!.mzxid),
    pzxid: counter(stat!.pzxid),
  }).toEqual({
    // ZooKeeper reports cversion as creates plus deletes: 2 * creates - current children.
    version: node.version,
    cversion: 2 * node.cversion - children,
    dataLength: utf8(node.data).length,
    numChildren: children,
    czxid: node.czxid,
    mzxid: node.mzxid,
    pzxid: node.pzxid,
  });
}

function runAgainstReference(steps: Step[]): StandaloneServer {
  const server = new StandaloneServer(standaloneConfig({ keepLog: true }));
  const ref = new RefTree();
  const sessions: RequestContext[] = [0, 1].map(() => ({
    sessionId: server.createSession(10_000, 1).sessionId,
    cxid: 0,
    authIds: [],
  }));
  ref.zxid = 2n; // two createSession txns
  for (const step of steps) {
    if (step.kind === "restartSession") {
      server.closeSession(sessions[1]!.sessionId, 2);
      ref.closeSession(BigInt(sessions[1]!.sessionId));
      sessions[1] = { sessionId: server.createSession(10_000, 3).sessionId, cxid: 0, authIds: [] };
      ref.zxid++;
      continue;
    }
    const ctx = sessions[step.session]!;
    if (step.kind === "read") {
      const reply = server.submit(ctx, { op: "getData", path: step.path, watch: false }, 4);
      const node = ref.nodes.get(step.path);
      expect(reply.err).toBe(node === undefined ? Err.NONODE : Err.OK);
      if (node !== undefined) {
        expect(fromUtf8(reply.data!)).toBe(node.data);
        expectStat(reply.stat, node, ref.children(step.path).length);
        const children = server.submit(ctx, { op: "getChildren", path: step.path, watch: false }, 4)
          .children!;
        expect([...children].sort()).toEqual(ref.children(step.path).sort());
      }
    } else if (step.kind === "write") {
      const reply: Reply = server.submit(ctx, toRequest(step.write), 4);
      const expected = ref.write(step.write, BigInt(ctx.sessionId));
      expect(reply.err).toBe(expected.err);
      expect(reply.path).toBe(
        expected.err === Err.OK && step.write.op === "create" ? expected.path : undefined,
      );
      if (expected.node !== undefined)
        expectStat(
          reply.stat,
          expected.node,
          ref.children(expected.path ?? step.write.path).length,
        );
    } else {
      const reply = server.submit(ctx, { op: "multi", ops: step.ops.map(toRequest) }, 4);
      const expected = ref.multi(step.ops, BigInt(ctx.sessionId));
      const failed = expected.some((r) => r.err !== Err.OK);
      expect(reply.results!.map((r) => (r.op === "error" ? r.err : Err.OK))).toEqual(
        expected.map((r) => r.err),
      );
      expect(reply.results!.every((r) => r.op === "error")).toBe(failed);
    }
  }
  return server;
}

describe("tree vs a deliberately simple reference model", () => {
  it("random op sequences give the same results, data, children and stats", () => {
    fc.assert(
      fc.property(
        fc.array(stepArb, { minLength: 10, maxLength: 60, size: "max" }),
        (steps) => void runAgainstReference(steps),
      ),
      { numRuns: 300 },
    );
  });
});

describe("event sourcing: replay and snapshots", () => {
  it("replaying the txn log rebuilds the same digest; so does snapshot + tail", () => {
    fc.assert(
      fc.property(
        fc.array(stepArb, { minLength: 10, maxLength: 60, size: "max" }),
        fc.nat(),
        (steps, cut) => {
          const server = runAgainstReference(steps);
          const log = server.log;
          const digest = server.db.tree.digest();
          expect(server.db.tree.recomputeDigest()).toBe(digest);
          expect(replay(log, { extendedTypesEnabled: false }).tree.digest()).toBe(digest);
          const k = log.length === 0 ? 0 : cut % log.length;
          const snapshot = encodeSnapshot(replay(log.slice(0, k), { extendedTypesEnabled: false }));
          const restored = decodeSnapshot(snapshot, { extendedTypesEnabled: false });
          for (const txn of log.slice(k)) restored.applyTxn(txn);
          expect(restored.tree.digest()).toBe(digest);
          expect(restored.lastZxid).toBe(server.db.lastZxid);
          expect([...restored.sessions]).toEqual([...server.db.sessions]);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("a log decodes to the same txns; a torn tail is dropped, never misread", () => {
    fc.assert(
      fc.property(
        fc.array(stepArb, { minLength: 5, maxLength: 30, size: "max" }),
        fc.nat(),
        (steps, cut) => {
          const txns = runAgainstReference(steps).log;
          const records = txns.map(encodeLogRecord);
          const bytes = new Uint8Array(records.reduce((n, r) => n + r.length, 0));
          let offset = 0;
          const ends: number[] = [];
          for (const r of records) {
            bytes.set(r, offset);
            offset += r.length;
            ends.push(offset);
          }
          expect(decodeLog(bytes)).toEqual({ txns, validBytes: bytes.length, tornTail: false });
          const tornAt = cut % bytes.length;
          const whole = ends.filter((end) => end <= tornAt).length;
          const torn = decodeLog(bytes.slice(0, tornAt));
          expect(torn.txns).toEqual(txns.slice(0, whole));
          expect(torn.tornTail).toBe(tornAt !== (whole === 0 ? 0 : ends[whole - 1]));
          const flipped = bytes.slice();
          flipped[tornAt] = flipped[tornAt]! ^ 0x40;
          const corrupt = decodeLog(flipped);
          expect(corrupt.tornTail).toBe(true);
          expect(txns.slice(0, corrupt.txns.length)).toEqual(corrupt.txns);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("a damaged snapshot is refused", () => {
    const server = runAgainstReference([
      {
        kind: "write",
        session: 0,
        write: { op: "create", path: "/a", data: "x", ephemeral: false, sequential: false },
      },
    ]);
    const snapshot = encodeSnapshot(server.db);
    expect(decodeSnapshot(snapshot, { extendedTypesEnabled: false }).tree.digest()).toBe(
      server.db.tree.digest(),
    );
    for (const index of [0, 5, 12, snapshot.length - 1]) {
      const damaged = snapshot.slice();
      damaged[index] = damaged[index]! ^ 1;
      expect(() => decodeSnapshot(damaged, { extendedTypesEnabled: false })).toThrow(/snapshot/);
    }
    expect(new Database({ extendedTypesEnabled: false }).tree.digest()).not.toBe(
      server.db.tree.digest(),
    );
  });
});
