// The sequential ZooKeeper the generator runs operations against: a versioned tree (every path's
// states by zxid, so a lagging replica can be served exactly), txns applied atomically at one zxid,
// one-shot data watches. Written apart from semantics.ts on purpose: the property tests compare
// the checker's model with this one.

import { assert } from "../../core/assert.ts";
import { Err } from "../../core/errors.ts";
import type { CreateModeName, OpResult } from "../history.ts";
import { isEphemeralMode, isSequentialMode, parentOf } from "../operations.ts";

export interface GenNode {
  readonly data: string;
  readonly version: number;
  readonly mzxid: bigint;
  readonly cversion: number;
  readonly owner: string | undefined;
}

/** A watch event the last commit fired. */
export interface Fired {
  readonly session: string;
  readonly process: number;
  readonly path: string;
  readonly event: "NodeCreated" | "NodeDeleted" | "NodeDataChanged";
  readonly zxid: bigint;
}

export interface Reply {
  readonly type: "ok" | "fail";
  readonly result: OpResult | undefined;
  readonly err: number | undefined;
  readonly zxid: bigint;
}

const epochBase = 1n << 32n;

/** The data-watch event a change at `zxid` fires (a child's create only bumps cversion: none). */
function eventOf(
  before: GenNode | undefined,
  after: GenNode | undefined,
  zxid: bigint,
): Fired["event"] | undefined {
  if (before === undefined) return after === undefined ? undefined : "NodeCreated";
  if (after === undefined) return "NodeDeleted";
  return after.mzxid === zxid ? "NodeDataChanged" : undefined;
}

/** Changes a txn is building, seen over the committed tree (a multi sees its own earlier ops). */
export class Pending {
  readonly changes = new Map<string, GenNode | undefined>();

  constructor(
    private readonly store: Store,
    readonly zxid: bigint,
  ) {}

  get(path: string): GenNode | undefined {
    return this.changes.has(path) ? this.changes.get(path) : this.store.node(path);
  }

  hasChildren(path: string): boolean {
    return [...this.store.childPaths(path)].some((child) => this.get(child) !== undefined);
  }
}

export class Store {
  zxid = epochBase;
  private readonly versions = new Map<string, { zxid: bigint; node: GenNode | undefined }[]>([
    ["/", [{ zxid: 0n, node: { data: "", version: 0, mzxid: 0n, cversion: 0, owner: undefined } }]],
  ]);
  private readonly children = new Map<string, Set<string>>();
  private readonly owned = new Map<string, Set<string>>();
  private readonly watches = new Map<string, Map<string, number>>();
  /** Events fired by the latest commit; the caller takes them. */
  fired: Fired[] = [];

  node(path: string): GenNode | undefined {
    const list = this.versions.get(path);
    return list === undefined ? undefined : list[list.length - 1]!.node;
  }

  /** The node as a replica that has applied exactly up to `zxid` sees it. */
  nodeAt(path: string, zxid: bigint): GenNode | undefined {
    const list = this.versions.get(path) ?? [];
    for (let i = list.length - 1; i >= 0; i--) if (list[i]!.zxid <= zxid) return list[i]!.node;
    return undefined;
  }

  childPaths(parent: string): ReadonlySet<string> {
    return this.children.get(parent) ?? new Set();
  }

  childrenAt(parent: string, zxid: bigint): string[] {
    const cut = parent === "/" ? 1 : parent.length + 1;
    return [...this.childPaths(parent)]
      .filter((c) => this.nodeAt(c, zxid) !== undefined)
      .map((c) => c.slice(cut))
      .sort();
  }

  pending(): Pending {
    return new Pending(this, this.zxid + 1n);
  }

  /**
   * Sets a data watch as a replica at `zxid` would: if the path changed since, that replica fires
   * it as soon as it applies the change, so the event is due at once.
   */
  watch(path: string, session: string, process: number, zxid: bigint): void {
    const change = this.firstDataChangeAfter(path, zxid);
    if (change !== undefined) {
      this.fired.push({ session, process, path, event: change.event, zxid: change.zxid });
      return;
    }
    const sessions = this.watches.get(path) ?? new Map<string, number>();
    sessions.set(session, process);
    this.watches.set(path, sessions);
  }

  /** The first change of the node itself (not of its children) after `zxid`. */
  private firstDataChangeAfter(
    path: string,
    zxid: bigint,
  ): { zxid: bigint; event: Fired["event"] } | undefined {
    let before = this.nodeAt(path, zxid);
    for (const { zxid: at, node } of this.versions.get(path) ?? []) {
      if (at <= zxid) continue;
      const event = eventOf(before, node, at);
      if (event !== undefined) return { zxid: at, event };
      before = node;
    }
    return undefined;
  }

  ownedBy(session: string): readonly string[] {
    return [...(this.owned.get(session) ?? [])].filter(
      (path) => this.node(path)?.owner === session,
    );
  }

  /** Applies a txn at the next zxid and fires the data watches it triggers. */
  commit(txn: Pending): bigint {
    const zxid = ++this.zxid;
    assert(zxid === txn.zxid, "a txn commits at the zxid it was built for");
    this.fired = [];
    for (const [path, node] of txn.changes) {
      const before = this.node(path);
      const list = this.versions.get(path);
      if (list === undefined) this.versions.set(path, [{ zxid, node }]);
      else list.push({ zxid, node });
      if (path !== "/")
        this.children.set(
          parentOf(path),
          (this.children.get(parentOf(path)) ?? new Set()).add(path),
        );
      if (node?.owner !== undefined)
        this.owned.set(node.owner, (this.owned.get(node.owner) ?? new Set()).add(path));
      const event = eventOf(before, node, zxid);
      if (event !== undefined) this.fire(path, event, zxid);
    }
    return zxid;
  }

  private fire(path: string, event: Fired["event"], zxid: bigint): void {
    for (const [session, process] of this.watches.get(path) ?? [])
      this.fired.push({ session, process, path, event, zxid });
    this.watches.delete(path);
  }

  /** A failed write still takes a zxid (an error txn), as in ZooKeeper. */
  error(err: number): Reply {
    return { type: "fail", result: undefined, err, zxid: ++this.zxid };
  }

  /** A session's close deletes its ephemerals in one txn. */
  close(session: string): Reply {
    const txn = this.pending();
    for (const path of this.ownedBy(session)) txn.changes.set(path, undefined);
    for (const sessions of this.watches.values()) sessions.delete(session);
    return { type: "ok", result: {}, err: undefined, zxid: this.commit(txn) };
  }
}

/** ZooKeeper's %010d of a signed 32-bit counter. */
const suffix = (n: number): string =>
  n < 0 ? "-" + String(-n).padStart(9, "0") : String(n).padStart(10, "0");

export type Applied = { err: number } | { err: 0; result: OpResult };

export function createIn(
  txn: Pending,
  path: string,
  data: string,
  mode: CreateModeName,
  session: string,
): Applied {
  const parent = txn.get(parentOf(path));
  if (parent === undefined) return { err: Err.NONODE };
  const name = isSequentialMode(mode) ? path + suffix(parent.cversion) : path;
  if (txn.get(name) !== undefined) return { err: Err.NODEEXISTS };
  if (parent.owner !== undefined) return { err: Err.NOCHILDRENFOREPHEMERALS };
  const owner = isEphemeralMode(mode) ? session : undefined;
  txn.changes.set(parentOf(path), { ...parent, cversion: (parent.cversion + 1) | 0 });
  txn.changes.set(name, { data, version: 0, mzxid: txn.zxid, cversion: 0, owner });
  return { err: 0, result: { path: name } };
}

export function deleteIn(txn: Pending, path: string, version: number): Applied {
  const node = txn.get(path);
  if (node === undefined) return { err: Err.NONODE };
  if (version !== -1 && version !== node.version) return { err: Err.BADVERSION };
  if (txn.hasChildren(path)) return { err: Err.NOTEMPTY };
  txn.changes.set(path, undefined);
  return { err: 0, result: {} };
}

export function setDataIn(txn: Pending, path: string, data: string, version: number): Applied {
  const node = txn.get(path);
  if (node === undefined) return { err: Err.NONODE };
  if (version !== -1 && version !== node.version) return { err: Err.BADVERSION };
  txn.changes.set(path, { ...node, data, version: node.version + 1, mzxid: txn.zxid });
  return { err: 0, result: { version: node.version + 1, mzxid: txn.zxid } };
}

export function checkIn(txn: Pending, path: string, version: number): Applied {
  const node = txn.get(path);
  if (node === undefined) return { err: Err.NONODE };
  if (version !== -1 && version !== node.version) return { err: Err.BADVERSION };
  return { err: 0, result: { version: node.version } };
}

/** Commits a txn whose ops all succeeded, or takes an error txn. */
export function finish(store: Store, txn: Pending, applied: Applied): Reply {
  if (applied.err !== 0) return store.error(applied.err);
  return {
    type: "ok",
    result: "result" in applied ? applied.result : {},
    err: undefined,
    zxid: store.commit(txn),
  };
}
