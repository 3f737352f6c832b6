// Benchmarks of the hot commit path on a tree of 1M znodes: txn apply alone (what every replica
// does per commit) and prep + apply (what the leader does), for setData, create+delete and a 3-op
// multi. Prints ops/s per case and the heap cost per znode. Run: npm run bench:tree (NODES=100000
// for a quicker run).

import b from "benny";
import { utf8 } from "../core/bytes.ts";
import type { Database } from "../core/database.ts";
import type { RequestContext } from "../core/requests.ts";
import { StandaloneServer, standaloneConfig } from "../core/standalone.ts";
import type { TxnBody } from "../core/txn.ts";
import { openAclUnsafe, sessionId } from "../core/types.ts";

const nodeCount = Number(process.env.NODES ?? 1_000_000);
const fanout = 1000;
const payload = utf8("x".repeat(100));

function heapUsedBytes(): number {
  globalThis.gc?.();
  return process.memoryUsage().heapUsed;
}

function buildTree(): { server: StandaloneServer; ctx: RequestContext } {
  const server = new StandaloneServer(standaloneConfig());
  const ctx: RequestContext = {
    sessionId: server.createSession(30_000, 0).sessionId,
    cxid: 0,
    authIds: [],
  };
  const before = heapUsedBytes();
  const started = performance.now();
  for (let i = 0; i < nodeCount; i++) {
    const path =
      i % fanout === 0 ? `/p${i / fanout}` : `/p${Math.floor(i / fanout)}/n${i % fanout}`;
    const reply = server.submit(
      ctx,
      { op: "create", path, data: payload, acl: openAclUnsafe, flags: 0, ttl: -1 },
      i,
    );
    if (reply.err !== 0) throw new Error(`setup create ${path} failed: ${reply.err}`);
    if (i % 100_000 === 0)
      process.stdout.write(
        `\rbuilding tree: ${i.toLocaleString()} / ${nodeCount.toLocaleString()}`,
      );
  }
  const buildMs = performance.now() - started;
  const perNode = (heapUsedBytes() - before) / nodeCount;
  console.log(
    `\rbuilt ${nodeCount.toLocaleString()} znodes (100-byte data) ` +
      `in ${(buildMs / 1000).toFixed(1)} s: ` +
      `${Math.round(nodeCount / (buildMs / 1000)).toLocaleString()} creates/s, ` +
      `heap ${perNode.toFixed(0)} bytes/znode` +
      `${globalThis.gc ? "" : " (run with --expose-gc for an exact figure)"}`,
  );
  return { server, ctx };
}

const { server, ctx } = buildTree();
const db: Database = server.db;
const anyNode = (i: number) => `/p${i % (nodeCount / fanout)}/n${1 + (i % (fanout - 1))}`;
const apply = (body: TxnBody) =>
  db.applyTxn({ zxid: server.allocateZxid(), sessionId: sessionId(1n), cxid: 0, timeMs: 0, body });
let i = 0;
let versionsSeen = 0;

await b.suite(
  `core: commit path on a ${nodeCount.toLocaleString()}-znode tree`,
  b.add("prep+apply setData (leader path)", () => {
    const reply = server.submit(
      ctx,
      { op: "setData", path: anyNode(i++), data: payload, version: -1 },
      0,
    );
    versionsSeen += reply.stat?.version ?? 0;
  }),
  b.add("prep+apply create+delete (leader path)", () => {
    const path = `/p${i++ % 10}/tmp`;
    server.submit(
      ctx,
      { op: "create", path, data: payload, acl: openAclUnsafe, flags: 0, ttl: -1 },
      0,
    );
    server.submit(ctx, { op: "delete", path, version: -1 }, 0);
  }),
  b.add("apply setData", () => {
    apply({ type: "setData", path: anyNode(i++), data: payload, version: i });
  }),
  b.add("apply create+delete", () => {
    const path = `/p${i++ % 10}/tmp`;
    apply({
      type: "create",
      path,
      data: payload,
      acl: openAclUnsafe,
      ephemeralOwner: 0n,
      parentCversion: -1,
    });
    apply({ type: "delete", path });
  }),
  b.add("apply multi(create, setData, delete)", () => {
    const path = `/p${i++ % 10}/tmp`;
    apply({
      type: "multi",
      ops: [
        {
          type: "create",
          path,
          data: payload,
          acl: openAclUnsafe,
          ephemeralOwner: 0n,
          parentCversion: -1,
        },
        { type: "setData", path, data: payload, version: 1 },
        { type: "delete", path },
      ],
    });
  }),
  b.cycle(),
  b.complete((summary) => {
    console.log("\nsummary (ops/s; create+delete counts one pair as one op):");
    for (const result of summary.results) {
      console.log(
        `  ${result.name.padEnd(42)} ` +
          `${Math.round(result.ops).toLocaleString().padStart(12)} ops/s  ±${result.margin}%`,
      );
    }
    console.log(
      `  tree digest ${db.tree.digest().toString(16)}, ${db.tree.size.toLocaleString()} znodes, ` +
        `checksum ${versionsSeen > 0}`,
    );
  }),
);
