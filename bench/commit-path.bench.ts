// The commit path piece by piece, so that a regression in write throughput shows where it is:
// the wire decode and reply encode of a request, prep (request -> txn against the pending view),
// apply, txn and peer-message encode/decode, the log append (with and without fsync), and a whole
// commit through three replicas' `step` in memory (no sockets, no disk), also with every peer
// message through the peer codec. Every write is a setData of 100 bytes unless named otherwise, on
// a tree of TREE znodes (default 10,000).
// Run: npm run bench:commit (MAX_TIME=1 for about a second per case instead of 3).

import b from "benny";
import { closeSync, fsyncSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assert } from "../core/assert.ts";
import { fromUtf8, utf8 } from "../core/bytes.ts";
import { Database } from "../core/database.ts";
import { PendingChanges } from "../core/pending.ts";
import { prepareTxn } from "../core/prep.ts";
import type { PrepInput } from "../core/prep.ts";
import type {
  ClientOp,
  ConnId,
  Effect,
  EffectHandlers,
  Input,
  NodeId,
  ReplicaStatus,
} from "../core/replica/index.ts";
import { dispatchEffects, ReplicaDriver, replicaConfig } from "../core/replica/index.ts";
import type {
  CreateRequest,
  Reply,
  RequestContext,
  SetDataRequest,
  WriteRequest,
} from "../core/requests.ts";
import { decodeTxn, encodeLogRecord, encodeTxn } from "../core/storage.ts";
import type { Txn } from "../core/txn.ts";
import { openAclUnsafe, sessionId, zxid } from "../core/types.ts";
import type { Zxid } from "../core/types.ts";
import { decodePeerMessage, encodePeerFrame, encodePeerMessage } from "../net/peer-codec.ts";
import { FileStorage } from "../net/storage.ts";
import { decodeClientFrame, encodeReply, encodeRequest } from "../net/wire.ts";

const treeSize = Number(process.env.TREE ?? 10_000);
const maxTime = Number(process.env.MAX_TIME ?? 3);
const payload = utf8("x".repeat(100));
const nodePath = (i: number) => `/p${i % 100}/n${i % treeSize}`;
const session = sessionId(0x100n);
const ctx: RequestContext = { sessionId: session, cxid: 0, authIds: [] };

function buildDatabase(): Database {
  const db = new Database({ extendedTypesEnabled: false });
  let z = 0n;
  const create = (path: string) =>
    db.applyTxn({
      zxid: zxid(++z),
      sessionId: session,
      cxid: 0,
      timeMs: 0,
      body: {
        type: "create",
        path,
        data: payload,
        acl: openAclUnsafe,
        ephemeralOwner: 0n,
        parentCversion: -1,
      },
    });
  for (let p = 0; p < 100; p++) create(`/p${p}`);
  for (let i = 0; i < treeSize; i++) create(nodePath(i));
  return db;
}

// --- prep and apply on one database (the leader's two halves of a write) ---

const db = buildDatabase();
const pending = new PendingChanges();
let nextZxid = db.lastZxid;
const setData = (path: string): SetDataRequest => ({
  op: "setData",
  path,
  data: payload,
  version: -1,
});
const create = (path: string, flags: number): CreateRequest => ({
  op: "create",
  path,
  data: payload,
  acl: openAclUnsafe,
  flags,
  ttl: -1,
});
const prepInput = (z: Zxid): PrepInput => ({
  db,
  pending,
  ctx,
  sessionError: 0,
  zxid: z,
  nowMs: 0,
  config: { extendedTypesEnabled: false, dataBytesMax: 0xfffff },
});
let counter = 0;

function prepOnly(): Txn {
  const z = zxid(nextZxid + 1n);
  const txn = prepareTxn(prepInput(z), setData(nodePath(counter++)));
  // Nothing is applied here: forget the change records so the pending view stays empty.
  pending.prune(z);
  return txn;
}

function prepAndApply(request: WriteRequest): Txn {
  const z = (nextZxid = zxid(nextZxid + 1n));
  const txn = prepareTxn(prepInput(z), request);
  db.applyTxn(txn);
  pending.prune(z);
  return txn;
}

// --- codecs ---

const sampleTxn: Txn = {
  zxid: zxid(0x1_0000_0042n),
  sessionId: session,
  cxid: 7,
  timeMs: 1_700_000_000_000,
  body: { type: "setData", path: nodePath(42), data: payload, version: 3 },
};
const sampleTxnBytes = encodeTxn(sampleTxn);
const proposal = encodePeerMessage({ type: "PROPOSAL", txn: sampleTxn });
const setDataOp: ClientOp = setData(nodePath(42));
const requestFrame = encodeRequest(12, setDataOp);
const sampleOutcome = db.applyTxn({
  zxid: (nextZxid = zxid(nextZxid + 1n)),
  sessionId: session,
  cxid: 0,
  timeMs: 0,
  body: { type: "setData", path: nodePath(42), data: payload, version: 1 },
});
const sampleReply: Reply = { err: 0, zxid: nextZxid, stat: sampleOutcome.result.stat };

// --- three replicas in memory: every effect carried out at once, persists durable at once ---

class MemoryEnsemble {
  readonly drivers = new Map<NodeId, ReplicaDriver>();
  readonly statuses = new Map<NodeId, ReplicaStatus>();
  private readonly handlers = new Map<NodeId, EffectHandlers>();
  private readonly timers = new Map<NodeId, number>();
  private queue: { to: NodeId; input: Input }[] = [];
  private head = 0;
  readonly replies = new Map<ConnId, number>();
  readonly sessions = new Map<ConnId, bigint>();
  nowMs = 0;

  /** With `wired`, every peer message goes through the peer codec, as between servers. */
  constructor(
    readonly ids: NodeId[],
    private readonly wired = false,
  ) {
    for (const id of ids) {
      // Snapshots are the snapshotter's business in the server, as here: never inside a step.
      const config = replicaConfig({
        id,
        peers: ids,
        tickMs: 100,
        snapshotEveryTxns: Infinity,
        maxSessionTimeoutMs: 60_000,
      });
      const driver = new ReplicaDriver(id, config);
      this.drivers.set(id, driver);
      this.handlers.set(id, this.handlersFor(driver));
      this.carryOut(driver, driver.start(undefined, 0));
    }
    for (const a of ids) {
      for (const b of ids) if (a !== b) this.enqueue(a, { type: "peerUp", peer: b });
    }
  }

  enqueue(to: NodeId, input: Input): void {
    this.queue.push({ to, input });
  }

  private carryOut(driver: ReplicaDriver, effects: readonly Effect[]): void {
    dispatchEffects(effects, this.handlers.get(driver.id)!);
  }

  /** One handler table per server, built once: a table per step would cost more than a step. */
  private handlersFor(driver: ReplicaDriver): EffectHandlers {
    const id = driver.id;
    return {
      send: (e) => {
        const message = driver.encodeSnapshotFor(e.message);
        this.enqueue(e.to, {
          type: "peerMessage",
          from: id,
          // A frame's payload follows its 4-byte length.
          message: this.wired ? decodePeerMessage(encodePeerFrame(message).subarray(4)) : message,
        });
      },
      persist: (e) => this.enqueue(id, { type: "persistDone", id: e.id }),
      reply: (e) => {
        assert(e.reply.err === 0, `reply err ${e.reply.err}`);
        this.replies.set(e.connId, (this.replies.get(e.connId) ?? 0) + 1);
      },
      connectResponse: (e) => this.sessions.set(e.connId, e.sessionId),
      setTimer: (e) => this.timers.set(id, e.atMs),
      status: (e) => this.statuses.set(id, e.status),
      watchEvent: () => {},
      closeConnection: (e) => assert(false, `connection ${e.connId} closed: ${e.reason}`),
      applied: () => {},
      treeReplaced: () => {},
      sessionExpired: () => {},
    };
  }

  /** Delivers inputs until none is left. */
  drain(): void {
    while (this.head < this.queue.length) {
      const { to, input } = this.queue[this.head++]!;
      const driver = this.drivers.get(to)!;
      this.carryOut(driver, driver.deliver(input, this.nowMs));
    }
    this.queue = [];
    this.head = 0;
  }

  /** Moves the clock from timer to timer until `done` holds. */
  runUntil(done: () => boolean, limitMs = 60_000): void {
    this.drain();
    while (!done()) {
      const next = Math.min(...this.timers.values());
      assert(Number.isFinite(next) && next - this.nowMs < limitMs, "the ensemble settles");
      this.nowMs = Math.max(this.nowMs, next);
      for (const [id, at] of this.timers) {
        if (at > this.nowMs) continue;
        this.timers.delete(id);
        this.enqueue(id, { type: "tick" });
      }
      this.drain();
    }
  }

  leader(): NodeId | undefined {
    return this.ids.find((id) => {
      const status = this.statuses.get(id);
      return status?.role === "leading" && status.phase === "broadcast";
    });
  }

  connect(node: NodeId, connId: ConnId): void {
    this.enqueue(node, {
      type: "clientConnect",
      connId,
      clientAddr: "127.0.0.1",
      sessionId: sessionId(0n),
      password: new Uint8Array(16),
      timeoutMs: 30_000,
      lastZxidSeen: zxid(0n),
    });
    this.runUntil(() => this.sessions.has(connId));
  }
}

const leaderConn = 1;
const followerConn = 2;
let xid = 0;

/** Elects a leader, opens a session on it and one on a follower, creates the nodes written. */
function settle(ensemble: MemoryEnsemble) {
  ensemble.runUntil(
    () =>
      ensemble.leader() !== undefined &&
      [...ensemble.statuses.values()].every((s) => s.role !== "looking"),
  );
  const leaderId = ensemble.leader()!;
  const followerId = ensemble.ids.find((id) => id !== leaderId)!;
  ensemble.connect(leaderId, leaderConn);
  ensemble.connect(followerId, followerConn);
  const request = (node: NodeId, connId: ConnId, op: ClientOp) =>
    ensemble.enqueue(node, { type: "clientRequest", connId, xid: ++xid, request: op });
  const parents = ["/bench", ...Array.from({ length: 16 }, (_, i) => `/bench/n${i}`), "/bench/seq"];
  for (const path of parents) {
    request(leaderId, leaderConn, create(path, 0));
    ensemble.drain();
  }
  return { ensemble, leaderId, followerId, request };
}

const { ensemble, leaderId, followerId, request } = settle(new MemoryEnsemble([1, 2, 3]));
const wired = settle(new MemoryEnsemble([1, 2, 3], true));

function commitVia(node: NodeId, connId: ConnId, count: number): void {
  const before = ensemble.replies.get(connId) ?? 0;
  for (let i = 0; i < count; i++) request(node, connId, setData(`/bench/n${i % 16}`));
  ensemble.drain();
  assert((ensemble.replies.get(connId) ?? 0) === before + count, "every write answered");
}

function createDeleteVia(node: NodeId, connId: ConnId): void {
  const path = `/bench/seq/e${counter++}`;
  request(node, connId, create(path, 0));
  request(node, connId, { op: "delete", path, version: -1 });
  ensemble.drain();
}

/**
 * Through the peer codec, with paths decoded as from the wire: `pairs` creates and deletes sent
 * at once, as a pipelining client does (so ACKs and COMMITs cover many txns each, as between
 * servers), then the event loop turns (the codec keeps a txn's encoding for the rest of a turn).
 */
async function createDeleteWired(pairs: number): Promise<void> {
  const before = wired.ensemble.replies.get(leaderConn) ?? 0;
  for (let i = 0; i < pairs; i++) {
    const path = fromUtf8(utf8(`/bench/seq/w${counter++}`));
    wired.request(wired.leaderId, leaderConn, create(path, 0));
    wired.request(wired.leaderId, leaderConn, {
      op: "delete",
      path: fromUtf8(utf8(path)),
      version: -1,
    });
  }
  wired.ensemble.drain();
  assert(wired.ensemble.replies.get(leaderConn) === before + 2 * pairs, "every write answered");
  await new Promise((resolve) => setImmediate(resolve));
}

// --- log append on a real file ---

const logDir = mkdtempSync(join(tmpdir(), "bench-commit-"));
const rawLog = openSync(join(logDir, "raw.log"), "a");
const durableWaiters = new Map<number, () => void>();
const { storage } = FileStorage.open({
  dataDir: join(logDir, "data"),
  dataLogDir: join(logDir, "log"),
  retainSnapshots: 3,

  onDurable: (upTo) => {
    for (const [id, resolve] of durableWaiters) {
      if (id > upTo) continue;
      resolve();
      durableWaiters.delete(id);
    }
  },
});
let persistId = 0;
let logZxid = 0n;
const logTxn = (): Txn => ({ ...sampleTxn, zxid: zxid(++logZxid) });

function persistBatch(count: number): Promise<void> {
  const done: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const id = ++persistId;
    done.push(new Promise<void>((resolve) => durableWaiters.set(id, resolve)));
    storage.enqueue(id, [{ kind: "append", txns: [logTxn()] }]);
  }
  return Promise.all(done).then(() => undefined);
}

const perWrite = new Map<string, number>([
  ["3 replicas: 16 setData pipelined on the leader", 16],
  ["3 replicas: 2,000 setData pipelined on the leader", 2000],
  ["log: 16 appends, group-committed by one fsync", 16],
  ["3 replicas, peer codec: 256 create+delete per turn", 512],
]);

try {
  await b.suite(
    `commit path, piece by piece (${treeSize.toLocaleString("en-US")}-znode tree, 100-byte values)`,
    b.configure({ cases: { maxTime, minSamples: 5 } }),
    b.add("wire: decode a setData request frame", () => decodeClientFrame(requestFrame)),
    b.add("wire: encode a setData reply", () => encodeReply(12, setDataOp, sampleReply)),
    b.add("prep: setData -> txn", () => prepOnly()),
    b.add("apply: setData txn", () => {
      db.applyTxn({
        zxid: (nextZxid = zxid(nextZxid + 1n)),
        sessionId: session,
        cxid: 0,
        timeMs: 0,
        body: { type: "setData", path: nodePath(counter++), data: payload, version: 1 },
      });
    }),
    b.add("prep+apply: setData", () => prepAndApply(setData(nodePath(counter++)))),
    b.add("prep+apply: create-sequential + delete", () => {
      const created = prepAndApply(create("/p0/q-", 2));
      assert(created.body.type === "create", "sequential create");
      prepAndApply({ op: "delete", path: created.body.path, version: -1 });
    }),
    b.add("txn: encode", () => encodeTxn(sampleTxn)),
    b.add("txn: decode", () => decodeTxn(sampleTxnBytes)),
    b.add("txn: encode as a log record (with crc32)", () => encodeLogRecord(sampleTxn)),
    b.add("peer: encode + decode a PROPOSAL", () =>
      decodePeerMessage(encodePeerMessage({ type: "PROPOSAL", txn: sampleTxn })),
    ),
    b.add("peer: decode a PROPOSAL", () => decodePeerMessage(proposal)),
    b.add("log: append a record (write, no fsync)", () =>
      writeSync(rawLog, encodeLogRecord(logTxn())),
    ),
    b.add("log: append + fsync, one record", () => {
      writeSync(rawLog, encodeLogRecord(logTxn()));
      fsyncSync(rawLog);
    }),
    b.add("log: 16 appends, group-committed by one fsync", () => persistBatch(16)),
    b.add("3 replicas: setData on the leader", () => commitVia(leaderId, leaderConn, 1)),
    b.add("3 replicas: 16 setData pipelined on the leader", () =>
      commitVia(leaderId, leaderConn, 16),
    ),
    // One client with thousands of requests in flight: what a write costs must not grow with them.
    b.add("3 replicas: 2,000 setData pipelined on the leader", () =>
      commitVia(leaderId, leaderConn, 2000),
    ),
    b.add("3 replicas: setData on a follower (forwarded)", () =>
      commitVia(followerId, followerConn, 1),
    ),
    b.add("3 replicas: create + delete on the leader", () => createDeleteVia(leaderId, leaderConn)),
    b.add("3 replicas, peer codec: 256 create+delete per turn", () => createDeleteWired(256)),
    b.add("3 replicas: getData on a follower", () => {
      request(followerId, followerConn, { op: "getData", path: "/bench/n0", watch: false });
      ensemble.drain();
    }),
    b.cycle(),
    b.complete((summary) => {
      console.log("\nsummary (ops/s; a pipelined or group-committed batch also as writes/s):");
      for (const r of summary.results) {
        const batch = perWrite.get(r.name);
        const count = (v: number) => Math.round(v).toLocaleString("en-US");
        const writes = batch === undefined ? "" : `  = ${count(r.ops * batch)} writes/s`;
        const figure = `${count(r.ops).padStart(12)} ops/s ±${r.margin}%`;
        console.log(`  ${r.name.padEnd(50)} ${figure}${writes}`);
      }
    }),
  );
} finally {
  closeSync(rawLog);
  storage.close();
  rmSync(logDir, { recursive: true, force: true });
}
