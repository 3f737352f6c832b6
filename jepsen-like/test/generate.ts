// Histories with a known-good answer, for property tests and the benchmark: clients run operations
// against a simple sequential ZooKeeper model, each taking effect at one instant inside its
// real-time interval (so the history is linearizable by construction), with zxids assigned in
// that order. Plain reads may be served from a lagging replica, as ZooKeeper does, but never
// older than what their session already saw (so they stay sequentially consistent).

import { assert } from "../../core/assert.ts";
import { Err } from "../../core/errors.ts";
import type { Reply } from "./generate-store.ts";
import { Store, checkIn, createIn, deleteIn, finish, setDataIn } from "./generate-store.ts";
import type { HistoryRecord, OpArgs } from "../history.ts";

export interface GenerateOptions {
  readonly seed: number;
  readonly ops: number;
  readonly clients: number;
  readonly paths: number;
  /** Fraction of operations whose client times out (half of those still take effect). */
  readonly infoRate: number;
  /** Fraction of reads issued after a sync (linearizable reads). */
  readonly syncReadRate: number;
  /** Fraction of plain reads served from a lagging replica. */
  readonly staleReadRate: number;
  readonly meanLatencyUs: number;
  readonly meanThinkUs: number;
  /**
   * Fraction of operations that span paths or sessions: multi, sequential creates under /q,
   * getChildren, ephemerals, closeSession. They join partitions, so the benchmark leaves them out.
   */
  readonly namespaceRate: number;
  /** Fraction of answered reads that set a watch. */
  readonly watchRate: number;
}

export const generateDefaults: Omit<GenerateOptions, "seed" | "ops"> = {
  clients: 10,
  paths: 5,
  infoRate: 0.02,
  syncReadRate: 0.3,
  staleReadRate: 0.3,
  meanLatencyUs: 2000,
  meanThinkUs: 500,
  namespaceRate: 0,
  watchRate: 0,
};

/** mulberry32: small, fast and seedable; quality is plenty for workloads. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Slot {
  readonly process: number;
  readonly invokeUs: number;
  readonly completeUs: number;
  /** The instant the op takes effect (strictly inside its interval). */
  readonly effectUs: number;
}

function slots(options: GenerateOptions, random: () => number): Slot[] {
  const all: Slot[] = [];
  const perClient = Math.ceil(options.ops / options.clients);
  for (let c = 0; c < options.clients; c++) {
    let now = Math.floor(random() * options.meanThinkUs);
    for (let i = 0; i < perClient && all.length < options.ops; i++) {
      const durationUs = 2 + Math.floor(-Math.log(1 - random()) * options.meanLatencyUs);
      const effectUs = now + 0.5 + random() * (durationUs - 1);
      all.push({ process: c + 1, invokeUs: now, completeUs: now + durationUs, effectUs });
      now += durationUs + 1 + Math.floor(-Math.log(1 - random()) * options.meanThinkUs);
    }
  }
  return all.sort((a, b) => a.effectUs - b.effectUs || a.process - b.process);
}

interface Client {
  readonly process: number;
  session: string;
  generation: number;
  lastSeen: bigint;
  counter: number;
  readonly versions: Map<string, number>;
}

/** An operation to issue, and how to run it at the instant it takes effect. */
interface Chosen {
  readonly op: string;
  readonly path: string | undefined;
  readonly args: OpArgs;
  readonly run: () => Reply;
  /** An indeterminate write takes effect or not; an unanswered read never matters. */
  readonly write: boolean;
}

const sessionOf = (process: number, generation: number): string =>
  `0x${(0x100000000 + process * 0x10000 + generation).toString(16)}`;

/** A read's reply zxid: the leader's state after a sync, else possibly a lagging replica's. */
function readZxid(
  store: Store,
  client: Client,
  options: GenerateOptions,
  sync: boolean,
  random: () => number,
): bigint {
  if (sync || random() >= options.staleReadRate) return store.zxid;
  const lag = store.zxid - client.lastSeen;
  return client.lastSeen + BigInt(Math.floor(random() * (Number(lag) + 1)));
}

function readReply(store: Store, op: string, path: string, zxid: bigint): Reply {
  const node = store.nodeAt(path, zxid);
  if (node === undefined) {
    if (op === "exists") return { type: "ok", result: { exists: false }, err: undefined, zxid };
    return { type: "fail", result: undefined, err: Err.NONODE, zxid };
  }
  if (op === "getChildren")
    return { type: "ok", result: { children: store.childrenAt(path, zxid) }, err: undefined, zxid };
  const owner = node.owner === undefined ? {} : { ephemeralOwner: node.owner };
  const stat = { version: node.version, mzxid: node.mzxid, ...owner };
  return {
    type: "ok",
    result: op === "exists" ? { exists: true, ...stat } : { data: node.data, ...stat },
    err: undefined,
    zxid,
  };
}

interface Env {
  readonly store: Store;
  readonly client: Client;
  readonly options: GenerateOptions;
  readonly random: () => number;
  /** Each client's latest op to take effect (the current slot included). */
  readonly latest: Map<number, Slot>;
}

function chooseRead(env: Env, op: string, path: string): Chosen {
  const { store, client, options, random } = env;
  const sync = random() < options.syncReadRate;
  const watch = op !== "getChildren" && random() < options.watchRate;
  const run = (): Reply => {
    const zxid = readZxid(store, client, options, sync, random);
    const reply = readReply(store, op, path, zxid);
    // getData on a missing node sets no watch; exists does (ZooKeeper's exist watch).
    if (watch && (reply.type === "ok" || op === "exists"))
      store.watch(path, client.session, client.process, zxid);
    return reply;
  };
  return { op, path, args: watch ? { sync, watch } : { sync }, run, write: false };
}

/** A single-path write as one txn (an error takes a zxid too). */
function writeOp(
  env: Env,
  op: string,
  path: string,
  args: OpArgs,
  apply: (txn: ReturnType<Store["pending"]>) => ReturnType<typeof createIn>,
): Chosen {
  return {
    op,
    path,
    args,
    write: true,
    run: () => {
      const txn = env.store.pending();
      return finish(env.store, txn, apply(txn));
    },
  };
}

function chooseDataOp(env: Env): Chosen {
  const { client, options, random } = env;
  const path = `/k${Math.floor(random() * options.paths)}`;
  const roll = random();
  const data = `v${client.process}.${++client.counter}`;
  const cached = client.versions.get(path) ?? 0;
  if (roll < 0.45) return chooseRead(env, random() < 0.8 ? "getData" : "exists", path);
  if (roll < 0.55)
    return writeOp(env, "create", path, { data, mode: "persistent" }, (t) =>
      createIn(t, path, data, "persistent", client.session),
    );
  const version = random() < 0.5 ? -1 : cached;
  if (roll < 0.6)
    return writeOp(env, "delete", path, { version }, (t) => deleteIn(t, path, version));
  if (roll < 0.65)
    return writeOp(env, "check", path, { version: cached }, (t) => checkIn(t, path, cached));
  const casVersion = random() < 0.3 ? cached : -1;
  return writeOp(env, "setData", path, { data, version: casVersion }, (t) =>
    setDataIn(t, path, data, casVersion),
  );
}

/** All or nothing: a CAS guard on one key and a write to another, at one zxid. */
function chooseMulti(env: Env): Chosen {
  const { client, options, random } = env;
  const guard = `/k${Math.floor(random() * options.paths)}`;
  const target = `/k${Math.floor(random() * options.paths)}`;
  const version = client.versions.get(guard) ?? 0;
  const data = `v${client.process}.${++client.counter}`;
  const args: OpArgs = {
    ops: [
      { op: "check", path: guard, version },
      { op: "setData", path: target, data, version: -1 },
    ],
  };
  return {
    op: "multi",
    path: undefined,
    args,
    write: true,
    run: () => {
      const txn = env.store.pending();
      const first = checkIn(txn, guard, version);
      return finish(env.store, txn, first.err !== 0 ? first : setDataIn(txn, target, data, -1));
    },
  };
}

/** Sequential children of /q, getChildren, ephemerals and session closes. */
function chooseNamespaceOp(env: Env): Chosen {
  const { client, random } = env;
  const roll = random();
  const data = `v${client.process}.${++client.counter}`;
  const session = client.session;
  if (roll < 0.2) return chooseMulti(env);
  if (roll < 0.3)
    return writeOp(env, "create", "/q", { data: "", mode: "persistent" }, (t) =>
      createIn(t, "/q", "", "persistent", session),
    );
  if (roll < 0.55) {
    const mode = random() < 0.5 ? "sequential" : "ephemeralSequential";
    return writeOp(env, "create", "/q/n-", { data, mode }, (t) =>
      createIn(t, "/q/n-", data, mode, session),
    );
  }
  if (roll < 0.75) return chooseRead(env, "getChildren", "/q");
  const own = `/e${client.process}`;
  if (roll < 0.85)
    return writeOp(env, "create", own, { data, mode: "ephemeral" }, (t) =>
      createIn(t, own, data, "ephemeral", session),
    );
  if (roll < 0.9) return writeOp(env, "delete", own, { version: -1 }, (t) => deleteIn(t, own, -1));
  return {
    op: "closeSession",
    path: undefined,
    args: {},
    write: true,
    run: () => env.store.close(session),
  };
}

type Timed = { timeUs: number; order: number; record: Omit<HistoryRecord, "index"> };

/**
 * Watch events of the commit at `atUs`. A connection delivers in order, so an event reaches a
 * client only after the reply of an op its server already handled (the read that set the watch,
 * say): it waits for that op's completion.
 */
function firedEvents(store: Store, atUs: number, latest: ReadonlyMap<number, Slot>): Timed[] {
  return store.fired.map((f) => {
    const inFlight = latest.get(f.process);
    const timeUs =
      inFlight !== undefined && inFlight.completeUs > atUs ? inFlight.completeUs : atUs;
    const record: Omit<HistoryRecord, "index"> = {
      type: "event",
      process: f.process,
      session: f.session,
      time: Math.round(timeUs),
      op: "watch",
      path: f.path,
      result: { event: f.event },
      zxid: f.zxid,
    };
    return { timeUs, order: 2, record };
  });
}

function completion(slot: Slot, client: Client, chosen: Chosen, outcome: Reply): Timed {
  assert(outcome.zxid >= client.lastSeen, "replies never go back in time for a session");
  client.lastSeen = outcome.zxid;
  if (outcome.result?.version !== undefined && chosen.path !== undefined)
    client.versions.set(chosen.path, outcome.result.version);
  const record: Omit<HistoryRecord, "index"> = {
    process: slot.process,
    session: client.session,
    op: chosen.op,
    type: outcome.type,
    time: slot.completeUs,
    zxid: outcome.zxid,
  };
  if (chosen.path !== undefined) record.path = chosen.path;
  if (outcome.result !== undefined) record.result = outcome.result;
  if (outcome.err !== undefined) record.err = outcome.err;
  return { timeUs: slot.completeUs, order: 0, record };
}

/** Runs one slot: the op takes effect now (or, timed out, maybe not at all). */
function runSlot(slot: Slot, env: Env): Timed[] {
  const { client, options, random, store } = env;
  env.latest.set(slot.process, slot);
  const chosen = random() < options.namespaceRate ? chooseNamespaceOp(env) : chooseDataOp(env);
  const base = {
    process: slot.process,
    session: client.session,
    op: chosen.op,
    ...(chosen.path === undefined ? {} : { path: chosen.path }),
  };
  const timed: Timed[] = [
    {
      timeUs: slot.invokeUs,
      order: 1,
      record: { ...base, type: "invoke", time: slot.invokeUs, args: chosen.args },
    },
  ];
  store.fired = [];
  if (random() < options.infoRate) {
    if (chosen.write && random() < 0.5) chosen.run();
    timed.push({
      timeUs: slot.completeUs,
      order: 0,
      record: { ...base, type: "info", time: slot.completeUs, result: { reason: "timed out" } },
    });
  } else {
    timed.push(completion(slot, client, chosen, chosen.run()));
  }
  timed.push(...firedEvents(store, slot.effectUs, env.latest));
  // A closed (or maybe closed) session is not used again: the client opens a new one.
  if (chosen.op === "closeSession") client.session = sessionOf(client.process, ++client.generation);
  return timed;
}

/** A linearizable (and sequentially consistent) history of `options.ops` operations. */
export function generateHistory(options: GenerateOptions): HistoryRecord[] {
  const random = prng(options.seed);
  const store = new Store();
  const clients: Client[] = Array.from({ length: options.clients }, (_, i) => ({
    process: i + 1,
    session: sessionOf(i + 1, 0),
    generation: 0,
    lastSeen: 0n,
    counter: 0,
    versions: new Map(),
  }));
  const timed: Timed[] = [];
  const latest = new Map<number, Slot>();
  for (const slot of slots(options, random)) {
    for (const t of runSlot(slot, {
      store,
      client: clients[slot.process - 1]!,
      options,
      random,
      latest,
    }))
      timed.push(t);
  }
  // Completions before invokes at the same instant: an op that ended then precedes one that began.
  timed.sort(
    (a, b) => a.timeUs - b.timeUs || a.order - b.order || a.record.process - b.record.process,
  );
  const records: HistoryRecord[] = new Array(timed.length);
  for (let index = 0; index < timed.length; index++) {
    records[index] = recorded(timed[index]!.record, index);
    timed[index] = undefined!; // the draft is garbage from here on
  }
  return records;
}

/**
 * The record as a recorder makes it, a fresh object (args and result too) at the moment it
 * happens: the drafts were made in effect order, which is not history order, and a history a
 * harness records or a file parses lies in memory in the order of its records. A checker walking
 * drafts scattered across the heap paid about a second in cache misses on a million ops.
 */
function recorded(draft: Omit<HistoryRecord, "index">, index: number): HistoryRecord {
  const { type, process, session, time, op, path, args, result, err, zxid } = draft;
  const record: HistoryRecord = { type, index, process, session, time, op };
  if (path !== undefined) record.path = path;
  if (args !== undefined) record.args = { ...args };
  if (result !== undefined) record.result = { ...result };
  if (err !== undefined) record.err = err;
  if (zxid !== undefined) record.zxid = zxid;
  return record;
}
