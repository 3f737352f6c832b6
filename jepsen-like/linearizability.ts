// Black-box linearizability: Wing & Gong's search with Lowe's just-in-time linearization, as
// Porcupine runs it. Calls and returns sit in one doubly linked list in history order; the search
// linearizes a call whose op the model accepts, lifts it out of the list and starts over from the
// head; reaching the return of an op not yet linearized means the last choice was wrong, so it
// backtracks. A cache of (set of linearized ops, model state) already explored prunes repeats
// (a bitset plus Zobrist hashing, with full equality on a hash match).
//
// Indeterminate ops return at +infinity with any output: they may take effect anywhere after their
// invoke, or never (linearized after everything else, where their effect no longer matters).

import { assert } from "../core/assert.ts";
import type { Model } from "./model.ts";
import type { Operation, PairedHistory } from "./operations.ts";
import type { Partition, Partitioning, ReadMode } from "./partition.ts";
import { partitionHistory } from "./partition.ts";

export type Verdict = "ok" | "illegal" | "unknown";

export interface SearchBudget {
  readonly stepsMax: number;
  /** performance.now() deadline; undefined for a deterministic, steps-only budget. */
  readonly deadlineMs: number | undefined;
}

export interface SearchResult {
  readonly verdict: Verdict;
  readonly steps: number;
  /** ok: op ids in linearization order. illegal: the longest linearizable prefix found. */
  readonly linearization: number[];
  /** illegal: the op whose return was reached with no way left to linearize it. */
  readonly stuck: number | undefined;
  readonly stateAfter: string;
  /** illegal: the ops the search ever considered (invoked before the furthest return it reached). */
  readonly considered: number[];
}

interface Entry {
  readonly op: number;
  readonly call: boolean;
  readonly rank: number;
  match: Entry | undefined;
  prev: Entry | undefined;
  next: Entry | undefined;
}

/** The history as a linked list of call/return entries; returns of indeterminate ops go last. */
function buildEntries(ops: readonly Operation[]): { head: Entry; callRanks: number[] } {
  const items: { op: number; call: boolean; at: number }[] = [];
  ops.forEach((op, i) => {
    const definite = op.status !== "info";
    assert(!definite || (op.completeIndex ?? -1) > op.invokeIndex, "a definite op completes after its invoke");
    items.push({ op: i, call: true, at: op.invokeIndex });
    items.push({ op: i, call: false, at: definite ? op.completeIndex! : Infinity });
  });
  items.sort((a, b) => (a.at === b.at ? (a.call === b.call ? a.op - b.op : a.call ? -1 : 1) : a.at < b.at ? -1 : 1));
  const head: Entry = { op: -1, call: false, rank: -1, match: undefined, prev: undefined, next: undefined };
  const calls: Entry[] = [];
  let last = head;
  items.forEach((item, rank) => {
    const entry: Entry = { op: item.op, call: item.call, rank, match: undefined, prev: last, next: undefined };
    last.next = entry;
    last = entry;
    if (item.call) calls[item.op] = entry;
    else calls[item.op]!.match = entry;
  });
  return { head, callRanks: calls.map((c) => c.rank) };
}

/** Interchangeable ops, as the model declares them: per op its class, per class its members by invoke. */
interface Classes {
  readonly of: Int32Array;
  readonly members: number[][];
  readonly linearized: Int32Array;
}

function classesOf(keys: readonly (string | undefined)[], callRanks: readonly number[]): Classes {
  const ids = new Map<string, number>();
  const members: number[][] = [];
  const of = new Int32Array(callRanks.length).fill(-1);
  keys.forEach((key, op) => {
    if (key === undefined) return;
    let id = ids.get(key);
    if (id === undefined) {
      ids.set(key, (id = members.length));
      members.push([]);
    }
    of[op] = id;
    members[id]!.push(op);
  });
  for (const list of members) list.sort((a, b) => callRanks[a]! - callRanks[b]!);
  return { of, members, linearized: new Int32Array(members.length) };
}

/** Only the earliest-invoked unlinearized member of a class may be linearized next. */
function eligible(classes: Classes, op: number): boolean {
  const id = classes.of[op]!;
  return id < 0 || classes.members[id]![classes.linearized[id]!] === op;
}

function countLinearized(classes: Classes, op: number, delta: 1 | -1): void {
  const id = classes.of[op]!;
  if (id >= 0) classes.linearized[id]! += delta;
}

function lift(entry: Entry): void {
  entry.prev!.next = entry.next;
  entry.next!.prev = entry.prev; // a call is always followed by at least its own return
  const match = entry.match!;
  match.prev!.next = match.next;
  if (match.next !== undefined) match.next.prev = match.prev;
}

function unlift(entry: Entry): void {
  const match = entry.match!;
  match.prev!.next = match;
  if (match.next !== undefined) match.next.prev = match;
  entry.prev!.next = entry;
  entry.next!.prev = entry;
}

/** Deterministic 32-bit Zobrist keys, one per op (splitmix32). */
function zobristKeys(count: number): Uint32Array {
  const keys = new Uint32Array(count);
  let x = 0x9e3779b9;
  for (let i = 0; i < count; i++) {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    keys[i] = (z ^ (z >>> 16)) >>> 0;
  }
  return keys;
}

const bitsEqual = (a: Uint32Array, b: Uint32Array): boolean => a.every((word, i) => word === b[i]);

/** (linearized set, state) pairs already explored; insert reports whether the pair is new. */
class Cache<S> {
  private readonly buckets = new Map<number, { bits: Uint32Array; state: S }[]>();

  constructor(private readonly model: Model<S>) {}

  insert(key: number, bits: Uint32Array, state: S): boolean {
    const bucket = this.buckets.get(key);
    if (bucket === undefined) {
      this.buckets.set(key, [{ bits: bits.slice(), state }]);
      return true;
    }
    for (const seen of bucket) if (bitsEqual(seen.bits, bits) && this.model.equal(seen.state, state)) return false;
    bucket.push({ bits: bits.slice(), state });
    return true;
  }
}

interface Best {
  prefix: number[];
  stuck: number | undefined;
  state: unknown;
  furthestRank: number;
}

function finish(
  ops: readonly Operation[], model: Model<unknown>, verdict: Verdict, steps: number, best: Best, order: number[],
): SearchResult {
  const stateAfter = model.describeState(best.state);
  if (verdict === "ok") {
    return { verdict, steps, linearization: order.map((i) => ops[i]!.id), stuck: undefined, stateAfter, considered: [] };
  }
  const { callRanks } = buildEntries(ops);
  const considered = ops.filter((_, i) => callRanks[i]! < best.furthestRank).map((op) => op.id);
  return {
    verdict, steps, linearization: best.prefix.map((i) => ops[i]!.id), stuck: best.stuck === undefined ? undefined : ops[best.stuck]!.id,
    stateAfter, considered,
  };
}

/** Checks one partition's operations against `model`. */
export function searchLinearization(original: readonly Operation[], model: Model<unknown>, budget: SearchBudget): SearchResult {
  const symmetry = model.symmetry?.(original);
  const ops = symmetry?.ops ?? original;
  const { head, callRanks } = buildEntries(ops);
  const classes = classesOf(symmetry?.classes ?? [], callRanks);
  const keys = zobristKeys(ops.length);
  const bits = new Uint32Array(Math.max(1, Math.ceil(ops.length / 32)));
  const cache = new Cache(model);
  const calls: { entry: Entry; state: unknown }[] = [];
  const best: Best = { prefix: [], stuck: undefined, state: model.init(), furthestRank: -1 };
  let definiteLeft = ops.filter((op) => op.status !== "info").length;
  let state = model.init();
  let zobrist = 0;
  let steps = 0;
  let entry = head.next;
  while (definiteLeft > 0) {
    if (++steps > budget.stepsMax || ((steps & 4095) === 0 && budget.deadlineMs !== undefined && performance.now() > budget.deadlineMs)) {
      return finish(ops, model, "unknown", steps, best, []);
    }
    assert(entry !== undefined, "an unlinearized definite op's return lies ahead");
    const op = ops[entry.op]!;
    if (entry.call) {
      const next = eligible(classes, entry.op) ? model.step(state, op) : undefined;
      // An indeterminate op that changes nothing here can as well go at the very end.
      if (next !== undefined && !(op.status === "info" && next === state)) {
        bits[entry.op >>> 5]! ^= 1 << (entry.op & 31);
        if (cache.insert((zobrist ^ keys[entry.op]! ^ model.hash(next)) >>> 0, bits, next)) {
          zobrist ^= keys[entry.op]!;
          countLinearized(classes, entry.op, 1);
          calls.push({ entry, state });
          state = next;
          lift(entry);
          if (op.status !== "info") definiteLeft--;
          entry = head.next;
          continue;
        }
        bits[entry.op >>> 5]! ^= 1 << (entry.op & 31);
      }
      entry = entry.next;
      continue;
    }
    if (calls.length > best.prefix.length || best.stuck === undefined) {
      Object.assign(best, { prefix: calls.map((c) => c.entry.op), stuck: entry.op, state });
    }
    best.furthestRank = Math.max(best.furthestRank, entry.rank);
    const top = calls.pop();
    if (top === undefined) return finish(ops, model, "illegal", steps, best, []);
    state = top.state;
    entry = top.entry;
    bits[entry.op >>> 5]! ^= 1 << (entry.op & 31);
    zobrist ^= keys[entry.op]!;
    countLinearized(classes, entry.op, -1);
    unlift(entry);
    if (ops[entry.op]!.status !== "info") definiteLeft++;
    entry = entry.next;
  }
  best.state = state;
  return finish(ops, model, "ok", steps, best, calls.map((c) => c.entry.op));
}

export interface PartitionFailure {
  /** The smallest failing sub-history found (op ids): still not linearizable on its own. */
  readonly subHistory: number[];
  /** The op that cannot be linearized after the longest linearizable prefix. */
  readonly stuck: number;
  readonly stateAfterPrefix: string;
  readonly explanation: string;
}

export interface PartitionResult {
  readonly id: number;
  readonly paths: readonly string[];
  readonly model: string;
  readonly opIds: number[];
  readonly verdict: Verdict;
  readonly steps: number;
  /** ok: the linearization found. illegal: the longest linearizable prefix of the sub-history. */
  readonly linearization: number[];
  /** ok: indeterminate ops left out of the linearization (they took no effect). */
  readonly leftOut: number[];
  readonly failure: PartitionFailure | undefined;
}

// Shrinking re-runs the search on smaller sub-histories; bounded so a report never dominates.
const shrinkTrialsMax = 200;
const shrinkStepsMax = 200_000;

/** Ops that change no state: removing one only removes a constraint. */
const nonMutating = (op: Operation): boolean =>
  op.status === "fail" || op.op === "getData" || op.op === "exists" || op.op === "getChildren" || op.op === "check";

/**
 * Shrinks an illegal partition to a smaller sub-history that is still illegal, so the report shows
 * what matters. Two moves keep the failure genuine: drop ops the search never reached (it behaves
 * identically without them), and drop ops that change no state (a history that stays illegal
 * without a read is illegal with it). Removing writes could make a legal history look illegal.
 */
function shrink(ops: readonly Operation[], model: Model<unknown>, first: SearchResult): { ops: Operation[]; result: SearchResult } {
  const byId = new Map(ops.map((op) => [op.id, op]));
  const restrict = (ids: number[]): Operation[] => ids.map((id) => byId.get(id)!);
  let keep = restrict(first.considered);
  let result = first;
  let trials = 0;
  let candidates = keep.filter(nonMutating).map((op) => op.id);
  for (let chunk = Math.ceil(candidates.length / 2); chunk >= 1 && trials < shrinkTrialsMax; chunk = Math.floor(chunk / 2)) {
    for (let start = 0; start < candidates.length && trials < shrinkTrialsMax; trials++) {
      const dropped = new Set(candidates.slice(start, start + chunk));
      const trial = keep.filter((op) => !dropped.has(op.id));
      const attempt = searchLinearization(trial, model, { stepsMax: shrinkStepsMax, deadlineMs: undefined });
      if (attempt.verdict !== "illegal") {
        start += chunk;
        continue;
      }
      const kept = new Set(attempt.considered);
      keep = trial.filter((op) => kept.has(op.id));
      candidates = candidates.filter((id) => !dropped.has(id) && kept.has(id));
      result = attempt;
    }
  }
  return { ops: keep, result };
}

function failureOf(ops: readonly Operation[], model: Model<unknown>, search: SearchResult): PartitionFailure {
  assert(search.verdict === "illegal" && search.stuck !== undefined, "only an illegal search has a stuck op");
  const stuck = ops.find((op) => op.id === search.stuck)!;
  const explanation =
    `${model.describeOperation(stuck)} cannot take effect in any order consistent with real time: ` +
    `after the longest linearizable prefix (${search.linearization.length} ops) the state is ${search.stateAfter}`;
  return { subHistory: ops.map((op) => op.id), stuck: search.stuck, stateAfterPrefix: search.stateAfter, explanation };
}

/** Checks one partition; an illegal one is shrunk to a small failing sub-history. */
export function checkPartition(partition: Partition, budget: SearchBudget): PartitionResult {
  const { ops, model } = partition;
  const search = searchLinearization(ops, model, budget);
  const base = {
    id: partition.id, paths: partition.paths, model: model.name, opIds: ops.map((op) => op.id),
    verdict: search.verdict, steps: search.steps,
  };
  if (search.verdict === "ok") {
    const linearized = new Set(search.linearization);
    return { ...base, linearization: search.linearization, leftOut: base.opIds.filter((id) => !linearized.has(id)), failure: undefined };
  }
  if (search.verdict === "unknown") return { ...base, linearization: [], leftOut: [], failure: undefined };
  const small = shrink(ops, model, search);
  return { ...base, linearization: small.result.linearization, leftOut: [], failure: failureOf(small.ops, model, small.result) };
}

export interface LinearizabilityOptions {
  readonly mode?: ReadMode;
  /** Search steps allowed per partition (deterministic). */
  readonly stepsMax?: number;
  /** Wall-clock limit for the whole check; makes verdicts depend on the machine. */
  readonly timeLimitMs?: number;
  /** Called after each partition (for progress bars on long histories). */
  readonly onProgress?: (partitionsDone: number, partitions: number) => void;
}

export interface LinearizabilityResult {
  readonly verdict: Verdict;
  readonly mode: ReadMode;
  readonly partitions: readonly PartitionResult[];
  readonly checkedOps: number;
  readonly skipped: Partitioning["skipped"];
  /** Session expiries the checker added; their ids follow the history's own ops. */
  readonly synthetic: readonly Operation[];
  readonly steps: number;
}

export const stepsMaxDefault = 5_000_000;

/** Checks every partition of the history; illegal if any part is, unknown if any part ran out. */
export function checkLinearizability(history: PairedHistory, options: LinearizabilityOptions = {}): LinearizabilityResult {
  const mode = options.mode ?? "zookeeper";
  const split = partitionHistory(history, mode);
  const deadlineMs = options.timeLimitMs === undefined ? undefined : performance.now() + options.timeLimitMs;
  const budget: SearchBudget = { stepsMax: options.stepsMax ?? stepsMaxDefault, deadlineMs };
  const partitions = split.partitions.map((p, i) => {
    const result = checkPartition(p, budget);
    options.onProgress?.(i + 1, split.partitions.length);
    return result;
  });
  const verdicts = new Set(partitions.map((p) => p.verdict));
  const verdict: Verdict = verdicts.has("illegal") ? "illegal" : verdicts.has("unknown") ? "unknown" : "ok";
  const checkedOps = split.partitions.reduce((n, p) => n + p.ops.length, 0);
  const steps = partitions.reduce((n, p) => n + p.steps, 0);
  return { verdict, mode, partitions, checkedOps, skipped: split.skipped, synthetic: split.synthetic, steps };
}
