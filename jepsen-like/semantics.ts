// What each ZooKeeper operation does to the tree, shared by the per-path and the namespace model.
// Checks run in the order ZooKeeper 3.8's PrepRequestProcessor runs them (parent NONODE, then
// NODEEXISTS, then NOCHILDRENFOREPHEMERALS for create; NONODE, BADVERSION, NOTEMPTY for delete),
// so the error a model expects is the error ZooKeeper returns.
//
// A model only sees the paths of its partition. Where an outcome depends on a path it does not
// follow (a create's parent, a delete's children), every outcome ZooKeeper could give is allowed:
// the model may be too lenient there, never too strict, so it cannot invent a violation.

import { assert } from "../core/assert.ts";
import { Err } from "../core/errors.ts";
import type { SubOp, SubResult } from "./history.ts";
import type { Operation } from "./operations.ts";
import { isEphemeralMode, isSequentialMode, parentOf, subOpsOf } from "./operations.ts";

/** A znode as far as a history can observe it. Immutable; `hash` is computed once. */
export interface ZNode {
  readonly data: string;
  readonly version: number;
  readonly cversion: number;
  /** The owning session of an ephemeral node. */
  readonly owner: string | undefined;
  readonly hash: number;
}

/** What a model state shows the semantics. Paths outside `tracks` are unknown to the model. */
export interface TreeView {
  node(path: string): ZNode | undefined;
  /** The model follows every operation on this path (so "absent" really means absent). */
  tracks(path: string): boolean;
  /** Every child of this path is followed (so the child list is exact). */
  knowsChildren(path: string): boolean;
  /** Names of the existing children the model follows, sorted. */
  childNames(path: string): string[];
  /** Paths of the followed nodes this session owns. */
  ownedBy(session: string): string[];
  isClosed(session: string): boolean;
}

/** path -> new node, or undefined for a deletion. */
export type Changes = Map<string, ZNode | undefined>;

export interface Outcome {
  readonly changes: Changes;
  /** A session whose close (or expiry) this step commits. */
  readonly closes: string | undefined;
}

export const noChange: Outcome = { changes: new Map(), closes: undefined };

/** 32-bit FNV-1a; good enough to spread cache buckets (equality is always checked after). */
export function hashString(text: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export function makeNode(
  data: string,
  version: number,
  cversion: number,
  owner: string | undefined,
): ZNode {
  let h = hashString(data);
  h = Math.imul(h ^ version, 0x85ebca6b) ^ Math.imul(cversion + 0x9e3779b9, 0xc2b2ae35);
  if (owner !== undefined) h = hashString(owner, h);
  return { data, version, cversion, owner, hash: h >>> 0 };
}

export const nodesEqual = (a: ZNode | undefined, b: ZNode | undefined): boolean =>
  a === b ||
  (a !== undefined &&
    b !== undefined &&
    a.hash === b.hash &&
    a.data === b.data &&
    a.version === b.version &&
    a.cversion === b.cversion &&
    a.owner === b.owner);

/** ZooKeeper's sequential suffix: %010d of the parent's cversion (a signed 32-bit counter). */
export function sequenceSuffix(cversion: number): string {
  const digits = Math.abs(cversion).toString();
  return cversion < 0 ? "-" + digits.padStart(9, "0") : digits.padStart(10, "0");
}

/** One sub-operation's possible outcomes: error codes allowed (0 = ok) and what ok would do. */
interface Decision {
  readonly allowed: readonly number[];
  readonly okChanges: Changes;
  readonly okResult: SubResult;
}

/** One change; set() spares the per-step iteration that `new Map([[path, node]])` runs. */
const change = (path: string, node: ZNode | undefined): Changes =>
  new Map<string, ZNode | undefined>().set(path, node);

// Decisions and change sets are read, never changed, by every caller: the common ones are shared
// instead of allocated on each of the search's million steps.
const noChanges: Changes = noChange.changes;
const onlyErr = new Map<number, Decision>();
const only = (err: number): Decision => {
  let decision = onlyErr.get(err);
  if (decision === undefined)
    onlyErr.set(err, (decision = { allowed: [err], okChanges: noChanges, okResult: {} }));
  return decision;
};
const okOnly: readonly number[] = [0];

// With the parent unknown, it may have been missing or ephemeral.
const createUnknownParent: readonly number[] = [0, Err.NONODE, Err.NOCHILDRENFOREPHEMERALS];
const deleteUnknownChildren: readonly number[] = [0, Err.NOTEMPTY];

function versionMatches(expected: number | undefined, node: ZNode): boolean {
  return expected === undefined || expected === -1 || expected === node.version;
}

function decideCreate(view: TreeView, sub: SubOp, session: string): Decision {
  const parent = parentOf(sub.path);
  const parentKnown = view.tracks(parent);
  const parentNode = parentKnown ? view.node(parent) : undefined;
  if (parentKnown && parentNode === undefined) return only(Err.NONODE);
  const sequential = isSequentialMode(sub.mode);
  assert(!sequential || parentKnown, "a sequential create is partitioned with its parent");
  const name = sequential ? sub.path + sequenceSuffix(parentNode!.cversion) : sub.path;
  assert(view.tracks(name), "a create is partitioned with the path it creates");
  if (view.node(name) !== undefined) return only(Err.NODEEXISTS);
  if (parentNode?.owner !== undefined) return only(Err.NOCHILDRENFOREPHEMERALS);
  const owner = isEphemeralMode(sub.mode) ? session : undefined;
  const okChanges = change(name, makeNode(sub.data ?? "", 0, 0, owner));
  if (parentNode !== undefined) {
    okChanges.set(
      parent,
      makeNode(
        parentNode.data,
        parentNode.version,
        (parentNode.cversion + 1) | 0,
        parentNode.owner,
      ),
    );
  }
  const allowed = parentKnown ? okOnly : createUnknownParent;
  return { allowed, okChanges, okResult: { path: name, version: 0 } };
}

function decideDelete(view: TreeView, sub: SubOp): Decision {
  const node = view.node(sub.path);
  if (node === undefined) return only(Err.NONODE);
  if (!versionMatches(sub.version, node)) return only(Err.BADVERSION);
  if (view.childNames(sub.path).length > 0) return only(Err.NOTEMPTY);
  const allowed = view.knowsChildren(sub.path) ? okOnly : deleteUnknownChildren;
  return { allowed, okChanges: change(sub.path, undefined), okResult: {} };
}

function decideSetData(view: TreeView, sub: SubOp): Decision {
  const node = view.node(sub.path);
  if (node === undefined) return only(Err.NONODE);
  if (!versionMatches(sub.version, node)) return only(Err.BADVERSION);
  const version = (node.version + 1) | 0;
  const okChanges = change(sub.path, makeNode(sub.data ?? "", version, node.cversion, node.owner));
  return { allowed: okOnly, okChanges, okResult: { version } };
}

function decideCheck(view: TreeView, sub: SubOp): Decision {
  const node = view.node(sub.path);
  if (node === undefined) return only(Err.NONODE);
  if (!versionMatches(sub.version, node)) return only(Err.BADVERSION);
  return { allowed: okOnly, okChanges: noChanges, okResult: { version: node.version } };
}

function decide(view: TreeView, sub: SubOp, session: string): Decision {
  switch (sub.op) {
    case "create":
      return decideCreate(view, sub, session);
    case "delete":
      return decideDelete(view, sub);
    case "setData":
      return decideSetData(view, sub);
    case "check":
      return decideCheck(view, sub);
  }
}

/** A sub-result the reply carried must agree with what ok would have produced. */
function resultAgrees(expected: SubResult, seen: SubResult | undefined): boolean {
  if (seen === undefined) return true;
  if (seen.path !== undefined && expected.path !== undefined && seen.path !== expected.path)
    return false;
  return (
    seen.version === undefined ||
    expected.version === undefined ||
    seen.version === expected.version
  );
}

/** A view with pending changes laid over it (a multi sees its own earlier sub-ops). */
function overlay(view: TreeView, changes: Changes): TreeView {
  return {
    node: (p) => (changes.has(p) ? changes.get(p) : view.node(p)),
    tracks: (p) => view.tracks(p),
    knowsChildren: (p) => view.knowsChildren(p),
    childNames: (p) => {
      const names = new Set(view.childNames(p));
      for (const [path, node] of changes) {
        if (path === p || parentOf(path) !== p) continue;
        const name = path.slice(p === "/" ? 1 : p.length + 1);
        if (node === undefined) names.delete(name);
        else names.add(name);
      }
      return [...names].sort();
    },
    ownedBy: (s) => view.ownedBy(s),
    isClosed: (s) => view.isClosed(s),
  };
}

function subOpOf(op: Operation): SubOp {
  assert(op.path !== undefined, "single-path writes carry a path");
  const sub: SubOp = { op: op.op as SubOp["op"], path: op.path };
  if (op.args.data !== undefined) sub.data = op.args.data;
  if (op.args.version !== undefined) sub.version = op.args.version;
  if (op.args.mode !== undefined) sub.mode = op.args.mode;
  return sub;
}

function stepWrite(view: TreeView, op: Operation): Outcome | undefined {
  const decision = decide(view, subOpOf(op), op.session);
  const okAllowed = decision.allowed.includes(0);
  if (op.status === "info")
    return okAllowed ? { changes: decision.okChanges, closes: undefined } : noChange;
  if (op.status === "fail") return decision.allowed.includes(op.err) ? noChange : undefined;
  if (!okAllowed || !resultAgrees(decision.okResult, op.result)) return undefined;
  return { changes: decision.okChanges, closes: undefined };
}

/** A multi is all-or-nothing; a failed one reports the first failing sub-op's error. */
function stepMulti(view: TreeView, op: Operation): Outcome | undefined {
  const pending: Changes = new Map();
  const subs = subOpsOf(op);
  for (let i = 0; i < subs.length; i++) {
    const decision = decide(overlay(view, pending), subs[i]!, op.session);
    if (op.status === "fail" && decision.allowed.includes(op.err)) return noChange;
    if (!decision.allowed.includes(0)) return op.status === "info" ? noChange : undefined;
    if (op.status === "ok" && !resultAgrees(decision.okResult, op.result?.results?.[i]))
      return undefined;
    for (const [path, node] of decision.okChanges) pending.set(path, node);
  }
  return op.status === "fail" ? undefined : { changes: pending, closes: undefined };
}

/** A session's close or expiry deletes its ephemerals, and nothing from it commits afterwards. */
function stepClose(view: TreeView, op: Operation): Outcome {
  if (view.isClosed(op.session)) return noChange;
  const changes: Changes = new Map();
  for (const path of view.ownedBy(op.session)) changes.set(path, undefined);
  return { changes, closes: op.session };
}

function readAgrees(view: TreeView, op: Operation): boolean {
  assert(op.path !== undefined, "reads carry a path");
  const node = view.node(op.path);
  if (op.status === "fail") return op.err === Err.NONODE && node === undefined;
  const result = op.result ?? {};
  if (op.op === "exists" && result.exists === false) return node === undefined;
  if (node === undefined) return false;
  if (result.version !== undefined && result.version !== node.version) return false;
  if (op.op === "getData") return result.data === undefined || result.data === node.data;
  if (op.op !== "getChildren" || result.children === undefined) return true;
  assert(view.knowsChildren(op.path), "a checked getChildren is partitioned with every child");
  const seen = [...result.children].sort();
  const expected = view.childNames(op.path);
  return seen.length === expected.length && seen.every((name, i) => name === expected[i]);
}

/**
 * The outcome of linearizing `op` on the state `view` shows, or undefined when the recorded
 * outcome is impossible there. Indeterminate ops take effect if they could succeed (not taking
 * effect at all is covered by never linearizing them).
 */
export function applyOperation(view: TreeView, op: Operation): Outcome | undefined {
  const writer =
    op.op !== "closeSession" &&
    op.op !== "getData" &&
    op.op !== "exists" &&
    op.op !== "getChildren";
  if (writer && view.isClosed(op.session)) return op.status === "info" ? noChange : undefined;
  switch (op.op) {
    case "create":
    case "delete":
    case "setData":
    case "check":
      return stepWrite(view, op);
    case "multi":
      return stepMulti(view, op);
    case "closeSession":
      return stepClose(view, op);
    case "getData":
    case "exists":
    case "getChildren":
      if (op.status === "info") return noChange;
      return readAgrees(view, op) ? noChange : undefined;
    case "sync":
    // Watch ops change no node (the partitioner leaves them out anyway).
    case "addWatch":
    case "setWatches":
      return noChange;
  }
}
