// Persistent and persistent-recursive watches (addWatch, re-registered by setWatches on every new
// connection), checked from the history alone. A session's records between two of its
// `connected` events came over one connection, and ZooKeeper keeps a session's watches per
// connection: the server forgets them when the connection ends, and the client re-registers
// them on the next one. On one connection:
// - an event at zxid Z on a path a persistent watch covers comes from a change after the watch
//   was registered (Z above the reply zxid of the addWatch or setWatches that registered it):
//   changes missed while disconnected are never replayed (ZooKeeper 3.8/3.9 DataTree.setWatches
//   only re-adds persistent watches);
// - events arrive in zxid order, each change at most once per session;
// - an event at the zxid of an acknowledged write names one of the changes that write made;
// - completeness: a reply (or event) at zxid R proves the server had applied every txn up to R
//   before sending it, so each acknowledged change at a zxid in (registration, R] on a covered
//   path was delivered before it.
// A persistent watch on P covers every change at P (NodeCreated, NodeDataChanged, NodeDeleted)
// and NodeChildrenChanged of P; a recursive one every change but NodeChildrenChanged at P and
// below. Paths the session also set a one-shot watch on are left out (a one-shot watch fired by
// setWatches carries the server's last zxid, not its change's).

import { hex64 } from "./history.ts";
import type { Operation, PairedHistory, SessionEvent } from "./operations.ts";
import { isSequentialMode, isWrite, parentOf, subOpsOf } from "./operations.ts";
import type { GuaranteeResult } from "./guarantees.ts";
import { Findings } from "./guarantees.ts";

interface Change {
  readonly zxid: bigint;
  readonly path: string;
  readonly event: string;
  readonly op: Operation;
}

interface Registration {
  readonly path: string;
  readonly recursive: boolean;
  /** The zxid the server had applied when it registered the watch (its reply's). */
  readonly zxid: bigint;
  readonly by: Operation;
  /** The covered changes, by zxid, and how far completeness has been checked. */
  readonly changes: readonly Change[];
  next: number;
}

type Item =
  | { index: number; kind: "connected" }
  | { index: number; kind: "event"; event: SessionEvent }
  | { index: number; kind: "reply"; op: Operation };

const z = (zxid: bigint | undefined): string => (zxid === undefined ? "?" : hex64(zxid));

const covers = (path: string, recursive: boolean, changed: string, event: string): boolean =>
  recursive
    ? event !== "NodeChildrenChanged" &&
      (changed === path || path === "/" || changed.startsWith(`${path}/`))
    : changed === path;

/** The changes an acknowledged op made, as the watch events they fire (closes: unknown). */
function changesOf(op: Operation, out: Change[]): boolean {
  const zxid = op.zxid!;
  const add = (path: string, event: string) => out.push({ zxid, path, event, op });
  const node = (kind: string, path: string | undefined) => {
    if (path === undefined) return;
    if (kind === "setData") return add(path, "NodeDataChanged");
    add(path, kind === "create" ? "NodeCreated" : "NodeDeleted");
    if (path !== "/") add(parentOf(path), "NodeChildrenChanged");
  };
  if (op.op === "multi") {
    subOpsOf(op).forEach((sub, i) => {
      if (sub.op === "check") return;
      const made = op.result?.results?.[i]?.path;
      const sequential = sub.op === "create" && isSequentialMode(sub.mode);
      node(sub.op, sequential ? made : (made ?? sub.path));
    });
    return true;
  }
  if (op.op === "create") {
    node("create", op.result?.path ?? (isSequentialMode(op.args.mode) ? undefined : op.path));
    return !isSequentialMode(op.args.mode) || op.result?.path !== undefined;
  }
  if (op.op === "setData" || op.op === "delete") {
    node(op.op, op.path);
    return true;
  }
  return false; // a close deletes ephemerals the history does not list
}

const byZxid = (a: Change, b: Change): number => (a.zxid < b.zxid ? -1 : a.zxid > b.zxid ? 1 : 0);

/** Every acknowledged change in the history, for the paths persistent watches cover. */
class Changes {
  /**
   * The write acknowledged at each zxid and the changes it made (undefined: a write whose changes
   * the history does not show, a close or a sequential create without its name).
   */
  readonly byZxid = new Map<bigint, { op: Operation; made: Change[] | undefined }>();
  private readonly all: Change[] = [];
  private readonly covered = new Map<string, Change[]>();

  constructor(ops: readonly Operation[]) {
    for (const op of ops) {
      if (op.status !== "ok" || op.zxid === undefined || !isWrite(op)) continue;
      const made: Change[] = [];
      const known = changesOf(op, made);
      this.byZxid.set(op.zxid, { op, made: known ? made : undefined });
      this.all.push(...made);
    }
    this.all.sort(byZxid);
  }

  /** The changes a watch on `path` covers, by zxid (computed once per path and kind). */
  coveredBy(path: string, recursive: boolean): readonly Change[] {
    const key = `${recursive ? "r" : "p"}${path}`;
    let list = this.covered.get(key);
    if (list === undefined) {
      list = this.all.filter((c) => covers(path, recursive, c.path, c.event));
      this.covered.set(key, list);
    }
    return list;
  }
}

/** The first change in `list` (by zxid) above `zxid`. */
function firstAbove(list: readonly Change[], zxid: bigint): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]!.zxid <= zxid) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** One connection of one session: what was registered, delivered, and proven applied. */
class Connection {
  readonly registrations: Registration[] = [];
  /** addWatch / setWatches in flight or of unknown outcome: they may cover any event. */
  readonly maybe = new Set<string>();
  readonly maybeRecursive = new Set<string>();
  /** Delivered events, by change, with the index of the first delivery and the count. */
  private readonly delivered = new Map<string, { index: number; count: number }>();
  private lastEvent: SessionEvent | undefined;

  constructor(
    private readonly findings: Findings,
    private readonly changes: Changes,
    private readonly session: string,
  ) {}

  register(path: string, recursive: boolean, by: Operation): void {
    const changes = this.changes.coveredBy(path, recursive);
    const zxid = by.zxid!;
    this.registrations.push({
      path,
      recursive,
      zxid,
      by,
      changes,
      next: firstAbove(changes, zxid),
    });
  }

  maybeCovers(path: string, event: string): boolean {
    for (const watched of this.maybe) if (covers(watched, false, path, event)) return true;
    for (const watched of this.maybeRecursive) if (covers(watched, true, path, event)) return true;
    return false;
  }

  onEvent(event: SessionEvent): void {
    const zxid = event.zxid!;
    const path = event.path!;
    const type = event.event!;
    const matching = this.registrations.filter((r) => covers(r.path, r.recursive, path, type));
    const maybe = this.maybeCovers(path, type);
    if (matching.length === 0 && !maybe) return; // another kind of watch, or none: not ours
    this.findings.checked++;
    const what = `${type} ${path} at ${z(zxid)}`;
    const at = `on session ${this.session}`;
    if (!maybe && matching.every((r) => zxid <= r.zxid)) {
      const by = matching[0]!.by;
      this.findings.report(
        `${what} delivered ${at} (index ${event.index}), but the watch #${by.id} registered ` +
          `then covers only changes after ${z(matching[0]!.zxid)}: ` +
          "a change from before was replayed",
        [by],
        [event.index],
      );
    }
    const last = this.lastEvent;
    if (last !== undefined && zxid < last.zxid!) {
      this.findings.report(
        `${what} delivered ${at} after ${last.event} ${last.path} at ${z(last.zxid)}`,
        [],
        [last.index, event.index],
      );
    }
    this.lastEvent = event;
    const known = this.changes.byZxid.get(zxid);
    const made = known?.made?.filter((c) => c.path === path && c.event === type).length ?? 0;
    if (known?.made !== undefined && made === 0) {
      const did = known.made.map((c) => `${c.event} ${c.path}`).join(", ") || "no change";
      this.findings.report(
        `${what} delivered ${at}, but the write at that zxid (#${known.op.id}) made ${did}`,
        [known.op],
        [event.index],
      );
    }
    const key = `${zxid}|${path}|${type}`;
    const seen = this.delivered.get(key);
    if (seen === undefined) this.delivered.set(key, { index: event.index, count: 1 });
    else if (++seen.count > Math.max(1, made)) {
      this.findings.report(`${what} delivered twice ${at}`, [], [seen.index, event.index]);
    }
  }

  /**
   * The server had applied every txn up to `zxid` (inclusive, or not) before it sent what came at
   * `index`: each covered change up to there must have been delivered before it.
   */
  applied(zxid: bigint, inclusive: boolean, index: number, proof: string): void {
    for (const registration of this.registrations) {
      const { changes } = registration;
      while (registration.next < changes.length) {
        const change = changes[registration.next]!;
        if (change.zxid > zxid || (!inclusive && change.zxid === zxid)) break;
        registration.next++;
        this.findings.checked++;
        const seen = this.delivered.get(`${change.zxid}|${change.path}|${change.event}`);
        if (seen !== undefined && seen.index < index) continue;
        const by = registration.by;
        const kind = registration.recursive ? "recursive" : "persistent";
        this.findings.report(
          `session ${this.session} missed ${change.event} ${change.path} at ${z(change.zxid)} ` +
            `(#${change.op.id}), covered by its ${kind} watch on ${registration.path} ` +
            `(#${by.id}, registered at ${z(registration.zxid)}), though ${proof} ` +
            `(index ${index}) came after the change on the same connection`,
          [by, change.op],
          [index],
        );
      }
    }
  }
}

function timeline(ops: readonly Operation[], events: readonly SessionEvent[]): Item[] {
  const items: Item[] = [];
  for (const op of ops)
    if (op.completeIndex !== undefined) items.push({ index: op.completeIndex, kind: "reply", op });
  for (const event of events) {
    if (event.kind === "connected") items.push({ index: event.index, kind: "connected" });
    else if (event.kind === "watch" && event.path !== undefined && event.zxid !== undefined)
      items.push({ index: event.index, kind: "event", event });
  }
  return items.sort((a, b) => a.index - b.index);
}

/** Paths a session set one-shot watches on (reads with watch: true). */
function oneShotPaths(ops: readonly Operation[]): Set<string> {
  const paths = new Set<string>();
  for (const op of ops)
    if (op.args.watch === true && op.path !== undefined && op.op !== "addWatch") paths.add(op.path);
  return paths;
}

/** Registrations an op makes once answered (addWatch, setWatches' persistent lists). */
function registered(op: Operation): { path: string; recursive: boolean }[] {
  if (op.op === "addWatch" && op.path !== undefined)
    return [{ path: op.path, recursive: op.args.watchMode === "persistentRecursive" }];
  if (op.op !== "setWatches") return [];
  const lists = op.args.watches;
  return [
    ...(lists?.persistent ?? []).map((path) => ({ path, recursive: false })),
    ...(lists?.persistentRecursive ?? []).map((path) => ({ path, recursive: true })),
  ];
}

function checkSession(
  findings: Findings,
  changes: Changes,
  session: string,
  ops: readonly Operation[],
  events: readonly SessionEvent[],
): void {
  const skip = oneShotPaths(ops);
  const invokes = ops
    .filter((op) => registered(op).length > 0)
    .sort((a, b) => a.invokeIndex - b.invokeIndex);
  let nextInvoke = 0;
  let connection: Connection | undefined;
  for (const item of timeline(ops, events)) {
    // Registrations invoked by now may be in force on the server before their replies.
    for (
      ;
      nextInvoke < invokes.length && invokes[nextInvoke]!.invokeIndex < item.index;
      nextInvoke++
    )
      for (const { path, recursive } of registered(invokes[nextInvoke]!))
        (recursive ? connection?.maybeRecursive : connection?.maybe)?.add(path);
    if (item.kind === "connected") {
      connection = new Connection(findings, changes, session);
      continue;
    }
    if (connection === undefined) continue; // before the first connection the history marks
    if (item.kind === "event") {
      if (skip.has(item.event.path!)) continue;
      connection.applied(item.event.zxid!, false, item.index, `the event at ${z(item.event.zxid)}`);
      connection.onEvent(item.event);
      continue;
    }
    const op = item.op;
    if (op.zxid !== undefined && op.status !== "info") {
      connection.applied(op.zxid, true, item.index, `the reply to #${op.id} at ${z(op.zxid)}`);
    }
    const made = registered(op);
    if (made.length === 0) continue;
    for (const { path, recursive } of made) {
      (recursive ? connection.maybeRecursive : connection.maybe).delete(path);
      if (op.status === "ok" && op.zxid !== undefined) connection.register(path, recursive, op);
      // Of unknown outcome: may be in force for the rest of this connection.
      else (recursive ? connection.maybeRecursive : connection.maybe).add(path);
    }
  }
}

/** Persistent and recursive watches deliver every covered change once, in order, never replayed. */
export function checkPersistentWatches(history: PairedHistory): GuaranteeResult {
  const findings = new Findings("persistent-watches");
  // The sessions that register watches first, by op name alone: most histories have none, and
  // grouping a million ops by session only to find that took a fifth of a second.
  const ops = history.operations;
  const watchers = new Set<string>();
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    if (op.op === "addWatch" || op.op === "setWatches") watchers.add(op.session);
  }
  if (watchers.size === 0) return findings.result();
  const watching = new Map<string, Operation[]>();
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    if (!watchers.has(op.session)) continue;
    const list = watching.get(op.session);
    if (list === undefined) watching.set(op.session, [op]);
    else list.push(op);
  }
  const events = new Map<string, SessionEvent[]>();
  for (const e of history.events) {
    const list = events.get(e.session);
    if (list === undefined) events.set(e.session, [e]);
    else list.push(e);
  }
  const changes = new Changes(history.operations);
  for (const [session, ops] of watching)
    checkSession(findings, changes, session, ops, events.get(session) ?? []);
  return findings.result();
}
