// Models for the linearizability checker, in Porcupine's shape: a handful of pure functions. `step`
// never mutates its input state; it returns the next state, or undefined when the operation's
// recorded outcome is impossible in that state. Two models share one set of semantics
// (semantics.ts): a per-path model with a tiny state, used for the common partition of one path,
// and a namespace model for partitions where operations span paths (multi, getChildren,
// sequential creates, a session's ephemerals).

import { describeOperation } from "./describe.ts";
import type { Operation } from "./operations.ts";
import { parentOf } from "./operations.ts";
import type { Changes, TreeView, ZNode } from "./semantics.ts";
import { NodeTable, PathIndex } from "./node-table.ts";
import { applyOperation, hashString, makeNode, nodesEqual } from "./semantics.ts";

export interface Model<S> {
  readonly name: string;
  /** Roughly what one new state costs in memory, for the search's memory budget (bytes). */
  readonly stateBytes?: number;
  init(): S;
  step(state: S, op: Operation): S | undefined;
  equal(a: S, b: S): boolean;
  /** Equal states hash equal; the checker compares with `equal` after a hash match. */
  hash(state: S): number;
  /** Splits operations into independently checkable groups (P-compositionality). */
  partition(ops: readonly Operation[]): Operation[][];
  describeOperation(op: Operation): string;
  describeState(state: S): string;
  /**
   * Optional symmetry reduction for the search: the ops to step (details no op observes erased)
   * and, per op, a class key. Ops sharing a key must be indeterminate and interchangeable, so the
   * search only ever linearizes the earliest-invoked unlinearized member of a class.
   */
  symmetry?(ops: readonly Operation[]): Symmetry;
}

export interface Symmetry {
  readonly ops: readonly Operation[];
  readonly classes: readonly (string | undefined)[];
}

/** Stands for data no read in the partition returns (NUL keeps it apart from text). */
export const unreadData = "\u0000unread";

/**
 * ZooKeeper's symmetry: an indeterminate write whose data no read returns matters only through
 * its kind, path, version and mode, so such writes are interchangeable (by session too, unless
 * the partition closes sessions). Without this, k open indeterminate writes on one path make the
 * search explore 2^k subsets (every write bumps the version, so states never coincide).
 */
export function zookeeperSymmetry(ops: readonly Operation[]): Symmetry {
  // Most partitions hold no indeterminate op: nothing to erase, no classes.
  if (!ops.some((op) => op.status === "info")) return { ops, classes: [] };
  const read = new Set<string>();
  let sessionsMatter = false;
  for (const op of ops) {
    if (op.op === "getData" && op.result?.data !== undefined) read.add(op.result.data);
    if (op.op === "closeSession") sessionsMatter = true;
  }
  if (read.has(unreadData)) return { ops, classes: ops.map(() => undefined) };
  const erase = (data: string | undefined): string | undefined =>
    data === undefined || read.has(data) ? data : unreadData;
  const prepared = ops.map((op): Operation => {
    if (op.status !== "info" || op.op === "closeSession") return op;
    const ops2 = op.args.ops?.map((sub) => ({
      ...sub,
      ...(sub.data === undefined ? {} : { data: erase(sub.data)! }),
    }));
    const data = erase(op.args.data);
    return {
      ...op,
      args: {
        ...op.args,
        ...(data === undefined ? {} : { data }),
        ...(ops2 === undefined ? {} : { ops: ops2 }),
      },
    };
  });
  const classes = prepared.map((op) => {
    const write =
      op.op !== "closeSession" &&
      op.op !== "getData" &&
      op.op !== "exists" &&
      op.op !== "getChildren";
    if (op.status !== "info" || !write) return undefined;
    const { sync: _sync, watch: _watch, ...args } = op.args;
    const owned =
      sessionsMatter || op.args.mode === "ephemeral" || op.args.mode === "ephemeralSequential";
    return `${op.op} ${op.path ?? ""} ${JSON.stringify(args)}${owned ? ` ${op.session}` : ""}`;
  });
  return { ops: prepared, classes };
}

/** The paths a partition follows, and the parents whose every child it follows. */
export interface Scope {
  readonly paths: ReadonlySet<string>;
  readonly childObserved: ReadonlySet<string>;
}

export const tracksIn = (scope: Scope, path: string): boolean =>
  scope.paths.has(path) || (path !== "/" && scope.childObserved.has(parentOf(path)));

function addClosed(closed: readonly string[], session: string | undefined): readonly string[] {
  if (session === undefined || closed.includes(session)) return closed;
  return [...closed, session].sort();
}

const closedHash = (closed: readonly string[]): number =>
  closed.reduce((h, s) => hashString(s, h), 0x2545f491) >>> 0;

const describeClosed = (closed: readonly string[]): string =>
  closed.length === 0 ? "" : `; closed sessions ${closed.join(",")}`;

const arraysEqual = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && a.every((s, i) => s === b[i]);

function describeNode(path: string, node: ZNode | undefined): string {
  if (node === undefined) return `${path} absent`;
  const owner = node.owner === undefined ? "" : ` ephemeral of ${node.owner}`;
  const data = node.data === unreadData ? "<a value no read returns>" : JSON.stringify(node.data);
  return `${path}=${data} v${node.version}${owner}`;
}

/** Root exists from the start; a fresh ZooKeeper tree also holds /zookeeper (never cversion'd). */
function initialNodes(scope: Scope): Map<string, ZNode> {
  const nodes = new Map<string, ZNode>();
  if (tracksIn(scope, "/")) nodes.set("/", makeNode("", 0, 0, undefined));
  if (tracksIn(scope, "/zookeeper")) nodes.set("/zookeeper", makeNode("", 0, 0, undefined));
  return nodes;
}

// ---- per-path model ------------------------------------------------------------------------

export interface PathState {
  readonly node: ZNode | undefined;
  readonly closed: readonly string[];
}

/** Groups operations by their single path (only valid when every op names one path). */
export function partitionByPath(ops: readonly Operation[]): Operation[][] {
  const groups = new Map<string, Operation[]>();
  for (const op of ops) {
    const key = op.path ?? "";
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [op]);
    else group.push(op);
  }
  return [...groups.values()];
}

/** A state seen through TreeView; one per model, repointed before each (synchronous) step. */
class PathView implements TreeView {
  state: PathState = { node: undefined, closed: [] };

  constructor(private readonly path: string) {}

  node(p: string): ZNode | undefined {
    return p === this.path ? this.state.node : undefined;
  }

  tracks(p: string): boolean {
    return p === this.path;
  }

  knowsChildren(): boolean {
    return false;
  }

  childNames(): string[] {
    return [];
  }

  ownedBy(session: string): string[] {
    return this.state.node?.owner === session ? [this.path] : [];
  }

  isClosed(session: string): boolean {
    return this.state.closed.includes(session);
  }
}

/** The model of one path: existence, data, version, owner, and the sessions known closed. */
export function perPathModel(path: string): Model<PathState> {
  const scope: Scope = { paths: new Set([path]), childObserved: new Set() };
  const view = new PathView(path);
  return {
    name: "per-path",
    stateBytes: 150, // a PathState and usually a new ZNode
    init: () => ({ node: initialNodes(scope).get(path), closed: [] }),
    step: (state, op) => {
      view.state = state;
      const outcome = applyOperation(view, op);
      if (outcome === undefined) return undefined;
      if (outcome.changes.size === 0 && outcome.closes === undefined) return state;
      const node = outcome.changes.has(path) ? outcome.changes.get(path) : state.node;
      return { node, closed: addClosed(state.closed, outcome.closes) };
    },
    equal: (a, b) => nodesEqual(a.node, b.node) && arraysEqual(a.closed, b.closed),
    hash: (state) =>
      ((state.node?.hash ?? 0x6b43a9b5) ^
        (state.closed.length === 0 ? 0 : closedHash(state.closed))) >>>
      0,
    partition: partitionByPath,
    describeOperation,
    symmetry: zookeeperSymmetry,
    describeState: (state) => describeNode(path, state.node) + describeClosed(state.closed),
  };
}

// ---- namespace model -----------------------------------------------------------------------

export interface TreeState {
  /** The followed nodes, by their number in the model's PathIndex. */
  readonly nodes: NodeTable;
  readonly closed: readonly string[];
  /** Sum of per-node contributions (mod 2^32), updated incrementally by step. */
  readonly nodesHash: number;
}

/**
 * The model of the paths in `scope`: the tree restricted to them. `partition` is supplied by the
 * caller (partition.ts), because which paths belong together depends on the whole history.
 */
export function namespaceModel(
  scope: Scope,
  partition: (ops: readonly Operation[]) => Operation[][],
): Model<TreeState> {
  // Paths get numbers as states first hold them; a sequential create may name a path no reply did.
  const index = new PathIndex(parentOf);
  for (const path of [...scope.paths].sort()) index.number(path);
  const pathHashes: number[] = [];
  const contribution = (n: number, node: ZNode | undefined): number => {
    if (node === undefined) return 0;
    const h = (pathHashes[n] ??= hashString(index.path(n)));
    return Math.imul(h ^ node.hash, 0x9e3779b1) >>> 0;
  };
  const view = new TreeStateView(scope, index);
  const init = (): TreeState => {
    let nodes = NodeTable.empty;
    let nodesHash = 0;
    for (const [p, node] of initialNodes(scope)) {
      const n = index.number(p);
      nodes = nodes.set(n, node);
      nodesHash = (nodesHash + contribution(n, node)) >>> 0;
    }
    return { nodes, closed: [], nodesHash };
  };
  const applyChanges = (state: TreeState, changes: Changes, closed: readonly string[]) => {
    let nodes = state.nodes;
    let nodesHash = state.nodesHash;
    for (const [path, node] of changes) {
      const n = index.number(path);
      nodesHash = (nodesHash - contribution(n, nodes.get(n)) + contribution(n, node)) >>> 0;
      nodes = nodes.set(n, node);
    }
    return { nodes, closed, nodesHash };
  };
  return {
    name: "namespace",
    // A TreeState, a ZNode and one 16-slot trie node per level: about 150 bytes each.
    stateBytes: 150 * (2 + Math.ceil(Math.log2(Math.max(2, 2 * scope.paths.size)) / 4)),
    init,
    step: (state, op) => {
      view.state = state;
      const outcome = applyOperation(view, op);
      if (outcome === undefined) return undefined;
      if (outcome.changes.size === 0 && outcome.closes === undefined) return state;
      return applyChanges(state, outcome.changes, addClosed(state.closed, outcome.closes));
    },
    equal: (a, b) =>
      a.nodesHash === b.nodesHash && arraysEqual(a.closed, b.closed) && a.nodes.equals(b.nodes),
    hash: (state) =>
      (state.nodesHash ^ (state.closed.length === 0 ? 0 : closedHash(state.closed))) >>> 0,
    partition,
    describeOperation,
    symmetry: zookeeperSymmetry,
    describeState: (state) => {
      const paths = [...scope.paths].sort();
      const node = (p: string) => {
        const n = index.known(p);
        return n === undefined ? undefined : state.nodes.get(n);
      };
      const shown = paths.slice(0, 12).map((p) => describeNode(p, node(p)));
      const more = paths.length > 12 ? `; ... ${paths.length - 12} more paths` : "";
      return shown.join("; ") + more + describeClosed(state.closed);
    },
  };
}

class TreeStateView implements TreeView {
  state: TreeState = { nodes: NodeTable.empty, closed: [], nodesHash: 0 };

  constructor(
    private readonly scope: Scope,
    private readonly index: PathIndex,
  ) {}

  node(p: string): ZNode | undefined {
    const n = this.index.known(p);
    return n === undefined ? undefined : this.state.nodes.get(n);
  }

  tracks(p: string): boolean {
    return tracksIn(this.scope, p);
  }

  knowsChildren(p: string): boolean {
    return this.scope.childObserved.has(p);
  }

  childNames(p: string): string[] {
    const cut = p === "/" ? 1 : p.length + 1;
    const names: string[] = [];
    for (const n of this.index.childrenOf(p)) {
      if (this.state.nodes.get(n) !== undefined) names.push(this.index.path(n).slice(cut));
    }
    return names.sort();
  }

  ownedBy(session: string): string[] {
    const owned: string[] = [];
    this.state.nodes.forEach((n, node) => {
      if (node.owner === session) owned.push(this.index.path(n));
    });
    return owned;
  }

  isClosed(session: string): boolean {
    return this.state.closed.includes(session);
  }
}
