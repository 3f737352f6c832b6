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
  /**
   * Estimated bytes the search may keep (its cache of explored configurations, each a copy of the
   * linearized set plus a model state); deterministic, like steps. Undefined: no limit.
   */
  readonly memoryMaxBytes?: number | undefined;
}

/** Which budget ran out when the verdict is unknown. */
export type BudgetExhausted = "steps" | "memory" | "time";

export interface SearchResult {
  readonly verdict: Verdict;
  readonly steps: number;
  /** unknown: the budget that ran out. */
  readonly exhausted: BudgetExhausted | undefined;
  /** Estimated bytes the search held at its end (see SearchBudget.memoryMaxBytes). */
  readonly memoryBytes: number;
  /** ok: op ids in linearization order. illegal: the longest linearizable prefix found. */
  readonly linearization: number[];
  /** illegal: the op whose return was reached with no way left to linearize it. */
  readonly stuck: number | undefined;
  readonly stateAfter: string;
  /**
   * illegal: the ops the search ever considered (invoked before the furthest return it reached).
   */
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
function buildEntries(ops: readonly Operation[]): {
  head: Entry;
  calls: Entry[];
  callRanks: number[];
} {
  // Entry 2i is op i's call, 2i+1 its return; sorted by history index, at one index calls first,
  // then by op. Numbers in typed arrays: an object per entry to sort was a fifth of what a
  // million-op check allocated.
  const count = 2 * ops.length;
  const at = new Float64Array(count);
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    const definite = op.status !== "info";
    assert(
      !definite || (op.completeIndex ?? -1) > op.invokeIndex,
      "a definite op completes after its invoke",
    );
    at[2 * i] = op.invokeIndex;
    at[2 * i + 1] = definite ? op.completeIndex! : Infinity;
  }
  const order = entryOrder(at, ops.length);
  const head: Entry = {
    op: -1,
    call: false,
    rank: -1,
    match: undefined,
    prev: undefined,
    next: undefined,
  };
  const calls: Entry[] = new Array(ops.length);
  let last = head;
  for (let rank = 0; rank < count; rank++) {
    const e = order[rank]!;
    const call = (e & 1) === 0;
    const op = e >> 1;
    const entry: Entry = { op, call, rank, match: undefined, prev: last, next: undefined };
    last.next = entry;
    last = entry;
    if (call) calls[op] = entry;
    else calls[op]!.match = entry;
  }
  const callRanks: number[] = [];
  for (let i = 0; i < calls.length; i++) callRanks.push(calls[i]!.rank);
  return { head, calls, callRanks };
}

/**
 * Entries (2i: op i's call, 2i+1: its return) sorted by `at`, at one index calls first, then by
 * op. Each becomes one number, at * 2n + (calls 0..n-1, then returns n..2n-1), so the sort is a
 * typed array's own, without a comparator called from it (half the building of 10k partitions);
 * indexes too large for that exactly take the comparator.
 */
function entryOrder(at: Float64Array, n: number): Int32Array {
  const count = 2 * n;
  const order = new Int32Array(count);
  let atMax = 0;
  for (let e = 0; e < count; e++) if (at[e]! !== Infinity && at[e]! > atMax) atMax = at[e]!;
  const infinity = atMax + 1;
  if (infinity * count + count > Number.MAX_SAFE_INTEGER) {
    for (let e = 0; e < count; e++) order[e] = e;
    return order.sort((x, y) =>
      at[x] === at[y] ? (x & 1) - (y & 1) || (x >> 1) - (y >> 1) : at[x]! < at[y]! ? -1 : 1,
    );
  }
  const keys = new Float64Array(count);
  for (let e = 0; e < count; e++) {
    const index = at[e] === Infinity ? infinity : at[e]!;
    keys[e] = index * count + (e & 1) * n + (e >> 1);
  }
  keys.sort();
  for (let rank = 0; rank < count; rank++) {
    const within = keys[rank]! % count;
    order[rank] = within < n ? 2 * within : 2 * (within - n) + 1;
  }
  return order;
}

/**
 * Interchangeable ops, as the model declares them: per op its class, per class its members by
 * invoke and how many of them are linearized (always the earliest ones).
 */
interface Classes {
  readonly of: Int32Array;
  readonly members: number[][];
  readonly linearized: Int32Array;
}

function classesOf(
  ops: readonly Operation[],
  keys: readonly (string | undefined)[],
  callRanks: readonly number[],
): Classes {
  const ids = new Map<string, number>();
  const members: number[][] = [];
  const of = new Int32Array(callRanks.length).fill(-1);
  keys.forEach((key, op) => {
    if (key === undefined) return;
    assert(ops[op]!.status === "info", "only indeterminate ops are interchangeable");
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

/**
 * Puts a class member back into the list, in stack order with the lifts (dancing links stay
 * valid): its call after the last entry ranked before it, walking on from `from` (in the list and
 * ranked before it); its return, at +infinity like every indeterminate op's, where the return of
 * its class predecessor was (after `lastBefore`) or after its call if that comes later. The order
 * among returns at +infinity does not matter: the search never reaches them.
 */
function insert(entry: Entry, from: Entry, lastBefore: Entry): void {
  let at = from;
  while (at.next !== undefined && at.next.rank < entry.rank) at = at.next;
  link(entry, at);
  link(entry.match!, lastBefore.rank > entry.rank ? lastBefore : entry);
}

function link(entry: Entry, after: Entry): void {
  entry.prev = after;
  entry.next = after.next;
  if (after.next !== undefined) after.next.prev = entry;
  after.next = entry;
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

/**
 * (linearized set, state) pairs already explored; insert reports whether the pair is new.
 * `bytes` estimates what the entries hold: the set's copy, the entry, the map's slot, the state
 * (a deterministic figure, kept as it was when every entry held a Uint32Array of its own).
 * The copies of the set live back to back in slabs: one typed array per entry would be most of
 * the cost of a step.
 */
interface Seen<S> {
  readonly slab: Uint32Array;
  readonly at: number;
  readonly state: S;
}

class Cache<S> {
  // Most keys are seen once: a bucket is one entry until a second one shares its key.
  private readonly buckets = new Map<number, Seen<S> | Seen<S>[]>();
  private readonly entryBytes: number;
  private readonly words: number;
  private slab: Uint32Array;
  private used = 0;
  entries = 0;

  constructor(
    private readonly model: Model<S>,
    words: number,
  ) {
    this.words = words;
    this.entryBytes = 4 * words + cacheEntryOverheadBytes + (model.stateBytes ?? stateBytesDefault);
    this.slab = new Uint32Array(words * 64);
  }

  get bytes(): number {
    return this.entries * this.entryBytes;
  }

  private copy(bits: Uint32Array, state: S): Seen<S> {
    if (this.used + this.words > this.slab.length) {
      this.slab = new Uint32Array(Math.min(this.slab.length * 2, this.words * 65_536));
      this.used = 0;
    }
    const at = this.used;
    this.slab.set(bits, at);
    this.used += this.words;
    this.entries++;
    return { slab: this.slab, at, state };
  }

  insert(key: number, bits: Uint32Array, state: S): boolean {
    const bucket = this.buckets.get(key);
    if (bucket === undefined) {
      this.buckets.set(key, this.copy(bits, state));
      return true;
    }
    if (!Array.isArray(bucket)) {
      if (this.holds(bucket, bits, state)) return false;
      this.buckets.set(key, [bucket, this.copy(bits, state)]);
      return true;
    }
    for (const seen of bucket) if (this.holds(seen, bits, state)) return false;
    bucket.push(this.copy(bits, state));
    return true;
  }

  private holds(seen: Seen<S>, bits: Uint32Array, state: S): boolean {
    const words = this.words;
    for (let i = 0; i < words; i++) if (seen.slab[seen.at + i] !== bits[i]) return false;
    return this.model.equal(seen.state, state);
  }
}

// Measured on Node 20: a Uint32Array's header, the entry and bucket objects, the map's slot.
const cacheEntryOverheadBytes = 240;
/** For a model that does not say what a new state costs. */
const stateBytesDefault = 200;

interface Best {
  prefix: number[];
  stuck: number | undefined;
  state: unknown;
  furthestRank: number;
}

interface Ending {
  readonly verdict: Verdict;
  readonly exhausted?: BudgetExhausted;
  readonly steps: number;
  readonly memoryBytes: number;
}

function finish(
  ops: readonly Operation[],
  model: Model<unknown>,
  end: Ending,
  best: Best,
  order: number[],
): SearchResult {
  const { verdict, steps, memoryBytes } = end;
  const stateAfter = model.describeState(best.state);
  const common = { verdict, steps, exhausted: end.exhausted, memoryBytes, stateAfter };
  if (verdict === "ok") {
    const linearization = order.map((i) => ops[i]!.id);
    return { ...common, linearization, stuck: undefined, considered: [] };
  }
  const { callRanks } = buildEntries(ops);
  const considered = ops.filter((_, i) => callRanks[i]! < best.furthestRank).map((op) => op.id);
  const stuck = best.stuck === undefined ? undefined : ops[best.stuck]!.id;
  return { ...common, linearization: best.prefix.map((i) => ops[i]!.id), stuck, considered };
}

/** Checks one partition's operations against `model`. */
export function searchLinearization(
  original: readonly Operation[],
  model: Model<unknown>,
  budget: SearchBudget,
): SearchResult {
  const symmetry = model.symmetry?.(original);
  const ops = symmetry?.ops ?? original;
  const { head, calls: callEntries, callRanks } = buildEntries(ops);
  const classes = classesOf(ops, symmetry?.classes ?? [], callRanks);
  // Only a class's earliest unlinearized member stays in the list; the search would otherwise
  // step over every later one on each pass from the head (most of the work with a few dozen).
  for (const members of classes.members) for (const op of members.slice(1)) lift(callEntries[op]!);
  const keys = zobristKeys(ops.length);
  const bits = new Uint32Array(Math.max(1, Math.ceil(ops.length / 32)));
  const cache = new Cache(model, bits.length);
  const memoryMaxBytes = budget.memoryMaxBytes ?? Infinity;
  // The linearized calls and the state before each, as a stack of two arrays (no object a step).
  const calls: Entry[] = [];
  const statesBefore: unknown[] = [];
  const best: Best = { prefix: [], stuck: undefined, state: model.init(), furthestRank: -1 };
  let definiteLeft = 0;
  for (let i = 0; i < ops.length; i++) if (ops[i]!.status !== "info") definiteLeft++;
  let state = model.init();
  let zobrist = 0;
  let steps = 0;
  let entry = head.next;
  const ending = (verdict: Verdict, exhausted?: BudgetExhausted): Ending => ({
    verdict,
    exhausted,
    steps,
    memoryBytes: cache.bytes,
  });
  while (definiteLeft > 0) {
    if (++steps > budget.stepsMax) return finish(ops, model, ending("unknown", "steps"), best, []);
    const deadline = budget.deadlineMs;
    if ((steps & 4095) === 0 && deadline !== undefined && performance.now() > deadline) {
      return finish(ops, model, ending("unknown", "time"), best, []);
    }
    assert(entry !== undefined, "an unlinearized definite op's return lies ahead");
    const op = ops[entry.op]!;
    if (entry.call) {
      const next = model.step(state, op);
      // An indeterminate op that changes nothing here can as well go at the very end.
      if (next !== undefined && !(op.status === "info" && next === state)) {
        bits[entry.op >>> 5]! ^= 1 << (entry.op & 31);
        if (cache.insert((zobrist ^ keys[entry.op]! ^ model.hash(next)) >>> 0, bits, next)) {
          if (cache.bytes > memoryMaxBytes) {
            return finish(ops, model, ending("unknown", "memory"), best, []);
          }
          zobrist ^= keys[entry.op]!;
          calls.push(entry);
          statesBefore.push(state);
          state = next;
          lift(entry);
          const id = classes.of[entry.op]!;
          if (id >= 0) {
            const successor = classes.members[id]![++classes.linearized[id]!];
            const later = successor === undefined ? undefined : callEntries[successor]!;
            if (later !== undefined) insert(later, entry.prev!, entry.match!.prev!);
          }
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
      Object.assign(best, { prefix: calls.map((c) => c.op), stuck: entry.op, state });
    }
    best.furthestRank = Math.max(best.furthestRank, entry.rank);
    const top = calls.pop();
    if (top === undefined) return finish(ops, model, ending("illegal"), best, []);
    state = statesBefore.pop();
    entry = top;
    bits[entry.op >>> 5]! ^= 1 << (entry.op & 31);
    zobrist ^= keys[entry.op]!;
    const id = classes.of[entry.op]!;
    if (id >= 0) {
      const successor = classes.members[id]![classes.linearized[id]!--];
      if (successor !== undefined) lift(callEntries[successor]!);
    }
    unlift(entry);
    if (ops[entry.op]!.status !== "info") definiteLeft++;
    entry = entry.next;
  }
  best.state = state;
  return finish(
    ops,
    model,
    ending("ok"),
    best,
    calls.map((c) => c.op),
  );
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
  /** unknown: the budget that ran out. */
  readonly exhausted: BudgetExhausted | undefined;
  /** The search's estimated memory at its end (bytes; see SearchBudget.memoryMaxBytes). */
  readonly memoryBytes: number;
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
  op.status === "fail" ||
  op.op === "getData" ||
  op.op === "exists" ||
  op.op === "getChildren" ||
  op.op === "check";

/**
 * Shrinks an illegal partition to a smaller sub-history that is still illegal, so the report shows
 * what matters. Two moves keep the failure genuine: drop ops the search never reached (it behaves
 * identically without them), and drop ops that change no state (a history that stays illegal
 * without a read is illegal with it). Removing writes could make a legal history look illegal.
 */
function shrink(
  ops: readonly Operation[],
  model: Model<unknown>,
  first: SearchResult,
  budget: SearchBudget,
): { ops: Operation[]; result: SearchResult } {
  const trialBudget: SearchBudget = {
    stepsMax: shrinkStepsMax,
    deadlineMs: budget.deadlineMs,
    memoryMaxBytes: budget.memoryMaxBytes,
  };
  const late = () => budget.deadlineMs !== undefined && performance.now() > budget.deadlineMs;
  const byId = new Map(ops.map((op) => [op.id, op]));
  const restrict = (ids: number[]): Operation[] => ids.map((id) => byId.get(id)!);
  let keep = restrict(first.considered);
  let result = first;
  let trials = 0;
  let candidates = keep.filter(nonMutating).map((op) => op.id);
  const more = () => trials < shrinkTrialsMax && !late();
  const firstChunk = Math.ceil(candidates.length / 2);
  for (let chunk = firstChunk; chunk >= 1 && more(); chunk = Math.floor(chunk / 2)) {
    for (let start = 0; start < candidates.length && more(); trials++) {
      const dropped = new Set(candidates.slice(start, start + chunk));
      const trial = keep.filter((op) => !dropped.has(op.id));
      const attempt = searchLinearization(trial, model, trialBudget);
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

function failureOf(
  ops: readonly Operation[],
  model: Model<unknown>,
  search: SearchResult,
): PartitionFailure {
  assert(
    search.verdict === "illegal" && search.stuck !== undefined,
    "only an illegal search has a stuck op",
  );
  const stuck = ops.find((op) => op.id === search.stuck)!;
  const explanation =
    `${model.describeOperation(stuck)} cannot take effect ` +
    "in any order consistent with real time: " +
    `after the longest linearizable prefix (${search.linearization.length} ops) ` +
    `the state is ${search.stateAfter}`;
  return {
    subHistory: ops.map((op) => op.id),
    stuck: search.stuck,
    stateAfterPrefix: search.stateAfter,
    explanation,
  };
}

/** Checks one partition; an illegal one is shrunk to a small failing sub-history. */
export function checkPartition(partition: Partition, budget: SearchBudget): PartitionResult {
  const { ops, model } = partition;
  const search = searchLinearization(ops, model, budget);
  const base = {
    id: partition.id,
    paths: partition.paths,
    model: model.name,
    opIds: ops.map((op) => op.id),
    verdict: search.verdict,
    steps: search.steps,
    exhausted: search.exhausted,
    memoryBytes: search.memoryBytes,
  };
  if (search.verdict === "ok") {
    // Most partitions linearize every op: then there is nothing to look up.
    const all = search.linearization.length === base.opIds.length;
    const linearized = all ? undefined : new Set(search.linearization);
    return {
      ...base,
      linearization: search.linearization,
      leftOut: linearized === undefined ? [] : base.opIds.filter((id) => !linearized.has(id)),
      failure: undefined,
    };
  }
  if (search.verdict === "unknown")
    return { ...base, linearization: [], leftOut: [], failure: undefined };
  const small = shrink(ops, model, search, budget);
  return {
    ...base,
    linearization: small.result.linearization,
    leftOut: [],
    failure: failureOf(small.ops, model, small.result),
  };
}

export interface LinearizabilityOptions {
  readonly mode?: ReadMode;
  /** Search steps allowed per partition (deterministic). */
  readonly stepsMax?: number;
  /** Estimated memory a partition's search may hold, in MiB (deterministic, like steps). */
  readonly memoryMaxMb?: number;
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
/**
 * Sized so that a sweep worker (sim/cli.ts gives each a heap of its own) or a default Node heap
 * holds one partition's search next to the history; sim seed 58's largest partition (4079
 * sequential creates) needs about 430 MiB.
 */
export const memoryMaxMbDefault = 768;

/** Checks every partition of the history; illegal if any part is, unknown if any part ran out. */
export function checkLinearizability(
  history: PairedHistory,
  options: LinearizabilityOptions = {},
): LinearizabilityResult {
  const mode = options.mode ?? "zookeeper";
  const split = partitionHistory(history, mode);
  const deadlineMs =
    options.timeLimitMs === undefined ? undefined : performance.now() + options.timeLimitMs;
  const memoryMaxBytes = (options.memoryMaxMb ?? memoryMaxMbDefault) * 2 ** 20;
  const stepsMax = options.stepsMax ?? stepsMaxDefault;
  const budget: SearchBudget = { stepsMax, deadlineMs, memoryMaxBytes };
  const partitions = split.partitions.map((p, i) => {
    const result = checkPartition(p, budget);
    options.onProgress?.(i + 1, split.partitions.length);
    return result;
  });
  const verdicts = new Set(partitions.map((p) => p.verdict));
  const verdict: Verdict = verdicts.has("illegal")
    ? "illegal"
    : verdicts.has("unknown")
      ? "unknown"
      : "ok";
  const checkedOps = split.partitions.reduce((n, p) => n + p.ops.length, 0);
  const steps = partitions.reduce((n, p) => n + p.steps, 0);
  return {
    verdict,
    mode,
    partitions,
    checkedOps,
    skipped: split.skipped,
    synthetic: split.synthetic,
    steps,
  };
}
