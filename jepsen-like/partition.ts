// Which operations the linearizability check sees, and how they split into independent parts
// (P-compositionality, Horn & Kroening 2015, as Porcupine uses it: operations on disjoint objects
// commute, so each part can be checked alone). Paths are joined by union-find when one operation
// spans them: a multi's sub-op paths; a parent whose children are observed (getChildren, or a
// sequential create whose name is the parent's cversion) with every child; and all the ephemeral
// paths of one session, which its close or expiry deletes together.

import { assert } from "../core/assert.ts";
import type { Model, Scope } from "./model.ts";
import { namespaceModel, perPathModel } from "./model.ts";
import type { Operation, PairedHistory } from "./operations.ts";
import {
  isEphemeralMode,
  isRead,
  isSequentialMode,
  isSyncedRead,
  isWatchOp,
  parentOf,
  pathsOf,
  reapedPaths,
  singlePathOf,
  subOpsOf,
} from "./operations.ts";

/**
 * "zookeeper": writes, check and sync'ed reads are checked for linearizability; plain reads are
 * only sequentially consistent in ZooKeeper, so the session-guarantee checker checks them instead.
 * "strict": plain reads too (what a linearizable-read mode promises).
 */
export type ReadMode = "zookeeper" | "strict";

export interface Partition {
  /** Position in the result: partitions are ordered by their first operation. */
  readonly id: number;
  readonly paths: readonly string[];
  readonly ops: readonly Operation[];
  readonly scope: Scope;
  readonly model: Model<unknown>;
}

export interface Partitioning {
  readonly partitions: readonly Partition[];
  /** Session expiries the checker added (ids after the history's own operations). */
  readonly synthetic: readonly Operation[];
  /** Operations left out, by reason (for the verdict's counts). */
  readonly skipped: {
    readonly plainReads: number;
    readonly noEffect: number;
    readonly other: number;
  };
}

/** Whether an operation takes part in the linearizability check under `mode`. */
function selected(
  op: Operation,
  mode: ReadMode,
  reaped: ReadonlySet<string>,
): "yes" | "plainRead" | "noEffect" | "other" {
  if (op.status === "fail" && !op.modelled) return "noEffect";
  if (op.op === "sync" || isWatchOp(op)) return "other";
  if (reaped.size > 0 && op.path !== undefined && reaped.has(op.path)) return "other";
  if (isRead(op) || op.op === "check") {
    if (op.status === "info") return "other"; // an unanswered read constrains nothing
    return op.op === "check" || mode === "strict" || isSyncedRead(op) ? "yes" : "plainRead";
  }
  return "yes";
}

/** The ephemeral paths each session may have created (ok or indeterminate creates). */
function ephemeralPaths(ops: readonly Operation[]): Map<string, string[]> {
  const bySession = new Map<string, string[]>();
  for (const op of ops) noteEphemerals(bySession, op);
  return bySession;
}

function noteEphemerals(bySession: Map<string, string[]>, op: Operation): void {
  if (op.op !== "create" && op.op !== "multi") return; // only these make ephemerals
  if (op.status === "fail" || op.synthetic !== undefined) return;
  if (op.op === "create" && isEphemeralMode(op.args.mode)) {
    const made = pathsOf(op);
    addOwned(bySession, op.session, made[made.length - 1]!);
  }
  for (const sub of subOpsOf(op))
    if (sub.op === "create" && isEphemeralMode(sub.mode)) addOwned(bySession, op.session, sub.path);
}

function addOwned(bySession: Map<string, string[]>, session: string, path: string): void {
  const paths = bySession.get(session) ?? [];
  if (!paths.includes(path)) paths.push(path);
  bySession.set(session, paths);
}

/**
 * One expiry per session that may own ephemerals and did not close itself: ZooKeeper may expire it
 * at any moment after its first ephemeral create, or never. It stays indeterminate even when the
 * client was told ("sessionExpired"): ZooKeeper refuses a session it is expiring before the
 * closeSession txn that deletes the ephemerals commits.
 */
function expiries(
  history: PairedHistory,
  owners: Map<string, string[]>,
  firstId: number,
): Operation[] {
  // Most histories have no ephemerals: then there is nothing to expire, and no pass to make.
  if (owners.size === 0) return [];
  const closed = new Set(
    history.operations
      .filter((op) => op.op === "closeSession" && op.status === "ok")
      .map((op) => op.session),
  );
  const firstCreate = new Map<string, Operation>();
  for (const op of history.operations) {
    const creates = op.op === "create" || op.op === "multi";
    if (creates && owners.has(op.session) && !firstCreate.has(op.session))
      firstCreate.set(op.session, op);
  }
  const result: Operation[] = [];
  for (const session of [...owners.keys()].sort()) {
    if (closed.has(session)) continue;
    const create = firstCreate.get(session);
    assert(create !== undefined, "a session owning ephemerals created them");
    result.push({
      id: firstId + result.length,
      process: create.process,
      session,
      op: "closeSession",
      path: undefined,
      args: {},
      status: "info",
      err: 0,
      modelled: true,
      result: undefined,
      zxid: undefined,
      invokeIndex: create.invokeIndex,
      completeIndex: undefined,
      invokeTimeUs: create.invokeTimeUs,
      completeTimeUs: undefined,
      synthetic: "expiry",
    });
  }
  return result;
}

class UnionFind {
  private readonly parent = new Map<string, string>();

  find(path: string): string {
    // Most paths are their own root: settle those with one lookup.
    const up = this.parent.get(path);
    if (up === undefined) {
      this.parent.set(path, path);
      return path;
    }
    if (up === path) return path;
    let root = path;
    for (
      let up = this.parent.get(root);
      up !== undefined && up !== root;
      up = this.parent.get(root)
    )
      root = up;
    if (!this.parent.has(path)) this.parent.set(path, path);
    for (let at = path; at !== root; ) {
      const next = this.parent.get(at)!;
      this.parent.set(at, root);
      at = next;
    }
    return root;
  }

  union(a: string, b: string): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent.set(ra < rb ? rb : ra, ra < rb ? ra : rb);
  }

  paths(): string[] {
    return [...this.parent.keys()];
  }
}

/** Parents whose every child the check must follow. */
function noteChildObserved(observed: Set<string>, op: Operation): void {
  if (op.op === "getChildren" && op.path !== undefined) observed.add(op.path);
  if (op.op === "create" && op.path !== undefined && isSequentialMode(op.args.mode))
    observed.add(parentOf(op.path));
  for (const sub of subOpsOf(op))
    if (sub.op === "create" && isSequentialMode(sub.mode)) observed.add(parentOf(sub.path));
}

/** The path an operation is filed under (a session close goes with its ephemerals). */
function keyOf(op: Operation, owners: Map<string, string[]>): string | undefined {
  if (op.op === "closeSession") return owners.get(op.session)?.[0];
  return singlePathOf(op) ?? pathsOf(op)[0];
}

/** Joins the paths one op spans; the root of a set is its least path, whatever the order. */
function joinOpPaths(sets: UnionFind, op: Operation): void {
  const single = singlePathOf(op);
  if (single !== undefined) {
    sets.find(single);
    return;
  }
  const paths = pathsOf(op);
  if (paths.length === 1) sets.find(paths[0]!);
  else for (const path of paths) sets.union(paths[0]!, path);
}

/**
 * Which ops go together: one pass over the ops joins their paths and files each op's position
 * under its key; the keys' lists are then merged by root (a few thousand lists, not a million
 * ops: each pass over a million ops is a walk through memory).
 */
function groupOperations(
  ops: readonly Operation[],
  owners: Map<string, string[]>,
): { sets: UnionFind; observed: Set<string>; groups: Map<string, Operation[]> } {
  const sets = new UnionFind();
  const observed = new Set<string>();
  const byKey = new Map<string, number[]>();
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    const single = singlePathOf(op);
    if (single !== undefined && op.op !== "closeSession") {
      // Most ops name one path, filed under it: one lookup. A path first filed here joins the
      // sets; one already filed joined them when it was (a close's key, an ephemeral path, joins
      // with its session's below).
      if (op.op === "getChildren") observed.add(single);
      const positions = byKey.get(single);
      if (positions !== undefined) positions.push(i);
      else {
        sets.find(single);
        byKey.set(single, [i]);
      }
      continue;
    }
    noteChildObserved(observed, op);
    joinOpPaths(sets, op);
    const key = keyOf(op, owners);
    if (key === undefined) continue; // a close of a session without ephemerals changes no path
    const positions = byKey.get(key);
    if (positions === undefined) byKey.set(key, [i]);
    else positions.push(i);
  }
  for (const paths of owners.values()) for (const path of paths) sets.union(paths[0]!, path);
  for (const path of sets.paths()) {
    if (path !== "/" && observed.has(parentOf(path))) sets.union(path, parentOf(path));
  }
  const byRoot = new Map<string, number[][]>();
  for (const [key, positions] of byKey) {
    const root = sets.find(key);
    const lists = byRoot.get(root);
    if (lists === undefined) byRoot.set(root, [positions]);
    else lists.push(positions);
  }
  const groups = new Map<string, Operation[]>();
  for (const [root, lists] of byRoot) {
    // Ops keep the order they were given in, as if filed one by one.
    const positions = lists.length === 1 ? lists[0]! : lists.flat().sort((a, b) => a - b);
    groups.set(
      root,
      positions.map((i) => ops[i]!),
    );
  }
  return { sets, observed, groups };
}

function modelFor(paths: readonly string[], scope: Scope): Model<unknown> {
  if (paths.length === 1 && scope.childObserved.size === 0)
    return perPathModel(paths[0]!) as Model<unknown>;
  return namespaceModel(scope, (ops) =>
    partitionOperations(ops).map((p) => [...p.ops]),
  ) as Model<unknown>;
}

/** Groups already-selected operations (synthetic ones included) into partitions. */
export function partitionOperations(
  ops: readonly Operation[],
  owners: Map<string, string[]> = ephemeralPaths(ops),
): Partition[] {
  const { sets, observed, groups } = groupOperations(ops, owners);
  const byRoot = new Map<string, string[]>();
  for (const path of sets.paths()) {
    const root = sets.find(path);
    const paths = byRoot.get(root);
    if (paths === undefined) byRoot.set(root, [path]);
    else paths.push(path);
  }
  const ordered = [...groups.entries()].sort(
    (a, b) => a[1][0]!.invokeIndex - b[1][0]!.invokeIndex || a[1][0]!.id - b[1][0]!.id,
  );
  return ordered.map(([root, group], id) => {
    const paths = (byRoot.get(root) ?? []).sort();
    const scope: Scope = {
      paths: new Set(paths),
      childObserved: new Set(paths.filter((p) => observed.has(p))),
    };
    return { id, paths, ops: group, scope, model: modelFor(paths, scope) };
  });
}

/** Selects the operations `mode` checks, adds session expiries, and partitions them. */
export function partitionHistory(history: PairedHistory, mode: ReadMode): Partitioning {
  const skipped = { plainReads: 0, noEffect: 0, other: 0 };
  const chosen: Operation[] = [];
  const owners = new Map<string, string[]>();
  let inOrder = true;
  const reaped = reapedPaths(history.operations);
  for (const op of history.operations) {
    const verdict = selected(op, mode, reaped);
    if (verdict === "yes") {
      if (chosen.length > 0 && byInvoke(chosen[chosen.length - 1]!, op) > 0) inOrder = false;
      chosen.push(op);
      noteEphemerals(owners, op);
    } else if (verdict === "plainRead") skipped.plainReads++;
    else if (verdict === "noEffect") skipped.noEffect++;
    else skipped.other++;
  }
  const synthetic = expiries(history, owners, history.operations.length);
  // Synthetic ops own no ephemerals of their own, so the owners of `chosen` are those of all.
  const ordered = inInvokeOrder(chosen, synthetic, inOrder);
  const partitions = partitionOperations(ordered, owners);
  return { partitions, synthetic, skipped };
}

const byInvoke = (a: Operation, b: Operation): number =>
  a.invokeIndex - b.invokeIndex || a.id - b.id;

/**
 * The history's chosen ops and the synthetic ones in one list by invoke: a merge, since a paired
 * history's ops already come in invoke order (sorting them again took a fifth of the partitioning
 * of a million ops).
 */
function inInvokeOrder(
  chosen: Operation[],
  synthetic: readonly Operation[],
  inOrder: boolean,
): Operation[] {
  if (!inOrder) return [...chosen, ...synthetic].sort(byInvoke);
  const extra = [...synthetic].sort(byInvoke);
  if (extra.length === 0) return chosen; // the caller's own list, used as it is
  const all: Operation[] = [];
  let next = 0;
  for (const op of chosen) {
    while (next < extra.length && byInvoke(extra[next]!, op) < 0) all.push(extra[next++]!);
    all.push(op);
  }
  while (next < extra.length) all.push(extra[next++]!);
  return all;
}
