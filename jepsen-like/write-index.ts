// Every path's history of changes, rebuilt from the zxids of acknowledged writes (a zxid totally
// orders ZooKeeper's writes), plus what indeterminate writes might have done at unknown zxids.
// The session-guarantee checks read values and orders off it in logarithmic time.

import { Err } from "../core/errors.ts";
import type { SubOp } from "./history.ts";
import type { Operation, PairedHistory } from "./operations.ts";
import {
  isEphemeralMode,
  isSequentialMode,
  parentOf,
  reapedPaths,
  subOpsOf,
} from "./operations.ts";

export interface Mutation {
  readonly zxid: bigint;
  readonly path: string;
  readonly kind: "create" | "set" | "delete";
  readonly data: string | undefined;
  readonly version: number | undefined;
  /** The owning session, for an ephemeral create. */
  readonly owner: string | undefined;
  readonly opId: number;
}

/** What writes with unknown zxids may have done to one path, and from which history index on. */
export interface Uncertain {
  /** data value -> earliest invoke index of a write that may have written it. */
  readonly values: Map<string, number>;
  mayCreateFrom: number;
  mayDeleteFrom: number;
}

const isAnsweredRead = (op: Operation): boolean =>
  (op.op === "getData" || op.op === "exists" || op.op === "getChildren") &&
  (op.status === "ok" || (op.status === "fail" && op.err === Err.NONODE));

const noChanges = Object.freeze({ at: undefined, after: undefined, afterNumber: Number.NaN });

const compareZxid = (a: Mutation, b: Mutation): number =>
  a.zxid < b.zxid ? -1 : a.zxid > b.zxid ? 1 : 0;

/**
 * One path's known changes in zxid order, and their zxids as numbers: the searches run on those,
 * back to back in memory, instead of reading a Mutation and its BigInt per step (most of the read
 * checks' time on a million ops). Rounding to a number keeps the order; only zxids past 2^53 may
 * round to one number, and then the BigInts decide.
 */
interface PathChanges {
  readonly list: Mutation[];
  keys: Float64Array;
}

const noKeys = new Float64Array(0);

function sortChanges(changes: PathChanges): void {
  const { list } = changes;
  list.sort(compareZxid);
  const keys = new Float64Array(list.length);
  for (let i = 0; i < list.length; i++) keys[i] = Number(list[i]!.zxid);
  changes.keys = keys;
}

/** Index of the first change with zxid > `zxid`. */
function upperBound({ list, keys }: PathChanges, zxid: bigint): number {
  const key = Number(zxid);
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! <= key) lo = mid + 1;
    else hi = mid;
  }
  // Below 2^53 equal numbers are equal zxids; above, a tie may hide later zxids at its end.
  if (key > Number.MAX_SAFE_INTEGER)
    while (lo > 0 && keys[lo - 1] === key && list[lo - 1]!.zxid > zxid) lo--;
  return lo;
}

export class WriteIndex {
  private readonly byPath = new Map<string, PathChanges>();
  private readonly uncertain = new Map<string, Uncertain>();
  private readonly childPaths = new Map<string, Set<string>>();
  /** Paths under a parent that sequential creates with unknown names may have made. */
  private readonly sequentialParents = new Map<string, number>();
  /** Known ephemeral creates, so expiries need not scan every path's changes. */
  private readonly ephemeralCreates: Mutation[] = [];

  /** Committed session closes (ok, with a zxid), in history order. */
  readonly committedCloses: Operation[] = [];
  /**
   * Reads that got an answer from the tree (ok, or NONODE), in history order: what the read checks
   * walk instead of every operation.
   */
  readonly answeredReads: Operation[] = [];
  /** Acknowledged sequential creates and multis (which may hold some), in history order. */
  readonly namingCandidates: Operation[] = [];
  /** Closes and ephemeral creates with unknown outcomes, in history order. */
  private readonly uncertainEnds: Operation[] = [];

  /** `alongside` sees every operation in this index's one walk over them (see below). */
  constructor(history: PairedHistory, alongside?: { add(op: Operation): void }) {
    // One pass over the operations: on histories of millions each pass is a walk through memory
    // (about 0.1-0.2 s), so the closes and expiries below work on lists gathered here, and a
    // caller's own walk can ride along.
    const reaped = reapedPaths(history.operations);
    const ops = history.operations;
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!;
      alongside?.add(op);
      if (reaped.size > 0 && op.path !== undefined && reaped.has(op.path)) continue;
      this.add(op);
      if (isAnsweredRead(op)) this.answeredReads.push(op);
      const names = op.op === "multi" || (op.op === "create" && isSequentialMode(op.args.mode));
      if (names && op.status === "ok") this.namingCandidates.push(op);
      if (op.op === "closeSession") {
        if (op.status === "ok" && op.zxid !== undefined) this.committedCloses.push(op);
        else if (op.status === "info") this.uncertainEnds.push(op);
      } else if (op.op === "create" && op.status === "info" && isEphemeralMode(op.args.mode)) {
        this.uncertainEnds.push(op);
      }
    }
    for (const changes of this.byPath.values()) sortChanges(changes);
    this.addCloses(this.committedCloses);
    this.addExpiries(this.committedCloses, this.uncertainEnds);
  }

  private known(m: Mutation): void {
    const changes = this.byPath.get(m.path);
    if (changes !== undefined) changes.list.push(m);
    else {
      this.byPath.set(m.path, { list: [m], keys: noKeys });
      this.noteChild(m.path); // once per path, not once per write
    }
    if (m.owner !== undefined) this.ephemeralCreates.push(m);
  }

  private noteChild(path: string): void {
    if (path === "/") return;
    const parent = parentOf(path);
    const set = this.childPaths.get(parent);
    if (set === undefined) this.childPaths.set(parent, new Set([path]));
    else set.add(path);
  }

  uncertainOf(path: string): Uncertain {
    let u = this.uncertain.get(path);
    if (u === undefined)
      this.uncertain.set(
        path,
        (u = { values: new Map(), mayCreateFrom: Infinity, mayDeleteFrom: Infinity }),
      );
    return u;
  }

  private maybe(
    path: string,
    kind: Mutation["kind"],
    data: string | undefined,
    from: number,
  ): void {
    const u = this.uncertainOf(path);
    if (kind === "delete") u.mayDeleteFrom = Math.min(u.mayDeleteFrom, from);
    else if (data !== undefined) u.values.set(data, Math.min(u.values.get(data) ?? Infinity, from));
    if (kind === "create") u.mayCreateFrom = Math.min(u.mayCreateFrom, from);
    this.noteChild(path);
  }

  private addSub(
    op: Operation,
    sub: SubOp,
    made: string | undefined,
    version: number | undefined,
  ): void {
    if (sub.op === "check") return;
    const kind = sub.op === "create" ? "create" : sub.op === "setData" ? "set" : "delete";
    const sequentialUnknown =
      sub.op === "create" && isSequentialMode(sub.mode) && made === undefined;
    const path = made ?? sub.path;
    if (sequentialUnknown || op.status !== "ok" || op.zxid === undefined) {
      if (!sequentialUnknown)
        this.maybe(path, kind, kind === "delete" ? undefined : (sub.data ?? ""), op.invokeIndex);
      else {
        const parent = parentOf(sub.path);
        this.sequentialParents.set(
          parent,
          Math.min(this.sequentialParents.get(parent) ?? Infinity, op.invokeIndex),
        );
      }
      return;
    }
    const owner = kind === "create" && isEphemeralMode(sub.mode) ? op.session : undefined;
    const data = kind === "delete" ? undefined : (sub.data ?? "");
    this.known({
      zxid: op.zxid,
      path,
      kind,
      data,
      version: kind === "create" ? 0 : version,
      owner,
      opId: op.id,
    });
  }

  private add(op: Operation): void {
    if (op.status === "fail") return;
    if (op.op === "multi") {
      const subs = subOpsOf(op);
      for (let i = 0; i < subs.length; i++) {
        const sub = subs[i]!;
        const r = op.result?.results?.[i];
        this.addSub(op, sub, sub.op === "create" ? r?.path : undefined, r?.version);
      }
      return;
    }
    if (op.op !== "create" && op.op !== "setData" && op.op !== "delete") return;
    const sub: SubOp = { op: op.op, path: op.path! };
    if (op.args.data !== undefined) sub.data = op.args.data;
    if (op.args.mode !== undefined) sub.mode = op.args.mode;
    const made =
      op.op === "create"
        ? (op.result?.path ?? (isSequentialMode(op.args.mode) ? undefined : op.path))
        : undefined;
    this.addSub(op, sub, made, op.result?.version);
  }

  /** Paths whose latest known create at or before `zxid` is an ephemeral of `session`. */
  private ownedAt(session: string, zxid: bigint): string[] {
    const owned: string[] = [];
    for (const [path, changes] of this.byPath) {
      const last = this.latestIn(changes, zxid);
      if (
        last !== undefined &&
        last.kind !== "delete" &&
        this.creatorOf(changes.list, last)?.owner === session
      )
        owned.push(path);
    }
    return owned;
  }

  /** A committed close deletes the session's ephemerals at its zxid. */
  private addCloses(closes: readonly Operation[]): void {
    for (const op of closes) {
      for (const path of this.ownedAt(op.session, op.zxid!)) {
        const changes = this.byPath.get(path)!;
        changes.list.push({
          zxid: op.zxid!,
          path,
          kind: "delete",
          data: undefined,
          version: undefined,
          owner: undefined,
          opId: op.id,
        });
        sortChanges(changes);
      }
    }
  }

  /** A session not known closed may expire at any time after it first created an ephemeral. */
  private addExpiries(closes: readonly Operation[], uncertainEnds: readonly Operation[]): void {
    const closedOk = new Set(closes.map((op) => op.session));
    for (const m of this.ephemeralCreates) {
      if (!closedOk.has(m.owner!)) this.maybe(m.path, "delete", undefined, 0);
    }
    for (const op of uncertainEnds) {
      if (op.op === "closeSession" && op.status === "info") {
        for (const [path, { list }] of this.byPath) {
          if (list.some((m) => m.owner === op.session))
            this.maybe(path, "delete", undefined, op.invokeIndex);
        }
      }
      const ephemeral =
        op.op === "create" && isEphemeralMode(op.args.mode) && op.path !== undefined;
      if (op.status === "info" && ephemeral)
        this.maybe(op.path!, "delete", undefined, op.invokeIndex);
    }
  }

  private latestIn(changes: PathChanges, zxid: bigint): Mutation | undefined {
    const at = upperBound(changes, zxid);
    return at === 0 ? undefined : changes.list[at - 1];
  }

  private creatorOf(list: readonly Mutation[], m: Mutation): Mutation | undefined {
    for (let i = list.indexOf(m); i >= 0; i--) if (list[i]!.kind === "create") return list[i];
    return undefined;
  }

  /** The latest known change of `path` with zxid <= `zxid`. */
  latestAtOrBefore(path: string, zxid: bigint): Mutation | undefined {
    const changes = this.byPath.get(path);
    return changes === undefined ? undefined : this.latestIn(changes, zxid);
  }

  /** The known change of `path` at exactly `zxid`. */
  at(path: string, zxid: bigint): Mutation | undefined {
    const m = this.latestAtOrBefore(path, zxid);
    return m?.zxid === zxid ? m : undefined;
  }

  /**
   * The known change of `path` at exactly `zxid` and the first one after it: at and firstAfter in
   * one search (a check of every read asks for both). `afterNumber`: that one's zxid as a number,
   * so a caller can compare it without reading the Mutation (see PathChanges).
   */
  atAndAfter(
    path: string,
    zxid: bigint,
  ): { at: Mutation | undefined; after: Mutation | undefined; afterNumber: number } {
    const changes = this.byPath.get(path);
    if (changes === undefined) return noChanges;
    const { list, keys } = changes;
    const i = upperBound(changes, zxid);
    const key = Number(zxid);
    // Below 2^53 equal numbers are equal zxids, and the BigInt need not be read.
    const exact = key <= Number.MAX_SAFE_INTEGER;
    const same = i > 0 && keys[i - 1] === key && (exact || list[i - 1]!.zxid === zxid);
    const afterNumber = i < keys.length ? keys[i]! : Number.NaN;
    return { at: same ? list[i - 1] : undefined, after: list[i], afterNumber };
  }

  /** The first known change of `path` with zxid > `zxid`. */
  firstAfter(path: string, zxid: bigint): Mutation | undefined {
    const changes = this.byPath.get(path);
    return changes === undefined ? undefined : changes.list[upperBound(changes, zxid)];
  }

  /** The create that made the incarnation `m` belongs to. */
  creator(m: Mutation): Mutation | undefined {
    return this.creatorOf(this.byPath.get(m.path)?.list ?? [], m);
  }

  knownChanges(path: string): readonly Mutation[] {
    return this.byPath.get(path)?.list ?? [];
  }

  peekUncertain(path: string): Uncertain | undefined {
    return this.uncertain.get(path);
  }

  /** Child paths any write named, for getChildren checks. */
  childrenOf(parent: string): ReadonlySet<string> {
    return this.childPaths.get(parent) ?? new Set();
  }

  /** Earliest invoke index of a sequential create under `parent` whose name is unknown. */
  unnamedSequentialFrom(parent: string): number {
    return this.sequentialParents.get(parent) ?? Infinity;
  }
}
