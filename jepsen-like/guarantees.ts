// ZooKeeper's own guarantees, checked with the zxids replies carry as witnesses (ZooKeeper
// Programmer's Guide, "ZooKeeper guarantees"; Hunt et al., "ZooKeeper: wait-free coordination",
// section 2.3). Each check is a pass or two over the history with sorted per-path indexes, so it
// scales to millions of operations, and it covers what the linearizability check leaves out: plain
// reads, which ZooKeeper only makes sequentially consistent.
//
// This file: per-session order (FIFO writes, monotonic reads, read-your-writes) and watch
// delivery. guarantees-data.ts: values of plain reads, ephemerals, sequential names.

import { Err } from "../core/errors.ts";
import { hex64 } from "./history.ts";
import type { Operation, PairedHistory, SessionEvent } from "./operations.ts";
import {
  isRead,
  isSequentialMode,
  isWrite,
  pathsOf,
  subOpsOf,
  zxidBelow,
  zxidNumbers,
} from "./operations.ts";
import type { WriteIndex } from "./write-index.ts";

export const guaranteeNames = [
  "fifo-order",
  "monotonic-reads",
  "read-your-writes",
  "sequential-reads",
  "watch-order",
  "ephemerals",
  "sequential-names",
  "persistent-watches",
  "reaping",
] as const;
export type GuaranteeName = (typeof guaranteeNames)[number];

export const guaranteeTitles: Record<GuaranteeName, string> = {
  "fifo-order": "FIFO order: a session's writes commit in issue order",
  "monotonic-reads": "monotonic reads: a session's reply zxids never decrease",
  "read-your-writes": "read-your-writes: a session sees its acknowledged writes",
  "sequential-reads": "sequential consistency: reads return the latest write at their zxid",
  "watch-order": "watches: the event arrives before the data it announces",
  ephemerals: "ephemerals vanish once their session's close commits",
  "sequential-names": "sequential names are unique and increase with zxid per parent",
  "persistent-watches":
    "persistent watches: every covered change delivered once, in zxid order, never replayed",
  reaping: "containers and TTL nodes: reaped only when empty, after a child or after their TTL",
};

export interface Violation {
  readonly guarantee: GuaranteeName;
  /** One line, for people. */
  readonly message: string;
  /** The operations involved (ids). */
  readonly ops: readonly number[];
  /** History indexes of the records involved (invokes, completions, events). */
  readonly indexes: readonly number[];
}

export interface GuaranteeResult {
  readonly guarantee: GuaranteeName;
  readonly title: string;
  /** How many items (replies, reads, names ...) the check looked at. */
  readonly checked: number;
  readonly violationCount: number;
  /** The first violations found (at most violationsShownMax). */
  readonly violations: readonly Violation[];
}

export const violationsShownMax = 50;

/** Collects violations for one guarantee, keeping the first few. */
export class Findings {
  checked = 0;
  count = 0;
  readonly shown: Violation[] = [];

  constructor(readonly guarantee: GuaranteeName) {}

  report(message: string, ops: readonly Operation[], extraIndexes: readonly number[] = []): void {
    this.count++;
    if (this.shown.length >= violationsShownMax) return;
    const indexes = ops.flatMap((op) =>
      op.completeIndex === undefined ? [op.invokeIndex] : [op.invokeIndex, op.completeIndex],
    );
    indexes.push(...extraIndexes);
    indexes.sort((a, b) => a - b);
    this.shown.push({ guarantee: this.guarantee, message, ops: ops.map((op) => op.id), indexes });
  }

  result(): GuaranteeResult {
    const { guarantee, checked, count, shown } = this;
    return {
      guarantee,
      title: guaranteeTitles[guarantee],
      checked,
      violationCount: count,
      violations: shown,
    };
  }
}

const z = (zxid: bigint | undefined): string => (zxid === undefined ? "?" : hex64(zxid));
const byComplete = (a: Operation, b: Operation): number => a.completeIndex! - b.completeIndex!;

/**
 * `ops` by completion: the list itself when it already is (a session with one client completes in
 * invoke order), else a sorted copy.
 */
function inCompletionOrder(ops: readonly Operation[]): readonly Operation[] {
  for (let i = 1; i < ops.length; i++)
    if (ops[i - 1]!.completeIndex! > ops[i]!.completeIndex!) return [...ops].sort(byComplete);
  return ops;
}

/**
 * The two subsets of one session's operations (in invoke order) that the per-session checks walk,
 * sorted out in the same pass that groups them (on a million ops each pass is a walk through
 * memory, and these checks used to make four per session). No list of all of them: no check
 * walks one (the watch check follows answered reads).
 */
export interface SessionOps {
  /** Acknowledged writes that carry their zxid. */
  readonly acknowledgedWrites: Operation[];
  /** Replies that went through ZooKeeper with the server's zxid (see `answered`). */
  readonly answered: Operation[];
  /** Whether any getData or exists asked for a watch. */
  setsWatch: boolean;
  /** Every operation's zxid as a number, by id (shared by all sessions; see zxidNumbers). */
  readonly zxids: readonly number[];
}

/**
 * A reply that went through ZooKeeper and carries the server's zxid. Zxids are unsigned (parsing
 * takes nothing else), so no comparison with 0 is needed: on a million ops that cost a tenth of
 * a second of BigInt comparisons.
 */
const answered = (op: Operation): boolean =>
  op.status !== "info" && op.modelled && op.zxid !== undefined;

/** The history's operations grouped by session, in invoke order. */
export function bySession(history: PairedHistory): Map<string, SessionOps> {
  const grouping = new SessionGrouping(history);
  const ops = history.operations;
  // Indexed: a walk this long may run before it is optimized, and for-of then allocates a
  // result per step.
  for (let i = 0; i < ops.length; i++) grouping.add(ops[i]!);
  return grouping.sessions;
}

/**
 * Groups operations by session one at a time, so a walk over the history made for something
 * else (the write index's) can do it too: on a million ops each walk is a tenth of a second.
 * Operations must come in invoke order.
 */
export class SessionGrouping {
  readonly sessions = new Map<string, SessionOps>();
  private readonly zxids: readonly number[];

  constructor(history: PairedHistory) {
    this.zxids = zxidNumbers(history);
  }

  add(op: Operation): void {
    let session = this.sessions.get(op.session);
    if (session === undefined) {
      session = { acknowledgedWrites: [], answered: [], setsWatch: false, zxids: this.zxids };
      this.sessions.set(op.session, session);
    }
    if (isWrite(op) && op.status === "ok" && op.zxid !== undefined)
      session.acknowledgedWrites.push(op);
    if (answered(op)) session.answered.push(op);
    // Only data reads arm watches that the watch check follows (and only theirs are read here:
    // looking into every op's args is another walk through memory).
    const dataRead = op.op === "getData" || op.op === "exists";
    if (dataRead && op.args.watch === true) session.setsWatch = true;
  }
}

/** FIFO client order: a session's acknowledged writes take zxids in the order it issued them. */
export function checkFifoOrder(sessions: Map<string, SessionOps>): GuaranteeResult {
  const findings = new Findings("fifo-order");
  for (const [session, { acknowledgedWrites, zxids }] of sessions) {
    let latest: Operation | undefined;
    for (const op of acknowledgedWrites) {
      findings.checked++;
      if (latest !== undefined && !zxidBelow(zxids, latest, op)) {
        const when = `committed at ${z(op.zxid)}, not after ${z(latest.zxid)}`;
        findings.report(
          `session ${session}: #${op.id} was issued after #${latest.id} but ${when}`,
          [latest, op],
        );
      }
      if (latest === undefined || zxidBelow(zxids, latest, op)) latest = op;
    }
  }
  return findings.result();
}

/** Monotonic reads: within a session (across reconnects too) reply zxids never decrease. */
export function checkMonotonicReads(sessions: Map<string, SessionOps>): GuaranteeResult {
  const findings = new Findings("monotonic-reads");
  for (const [session, ops] of sessions) {
    let latest: Operation | undefined;
    for (const op of inCompletionOrder(ops.answered)) {
      findings.checked++;
      if (latest !== undefined && zxidBelow(ops.zxids, op, latest)) {
        const replies =
          `#${op.id} replied at ${z(op.zxid)} ` +
          `after #${latest.id} replied at ${z(latest.zxid)}`;
        findings.report(`session ${session} went back in time: ${replies}`, [latest, op]);
      }
      if (latest === undefined || zxidBelow(ops.zxids, latest, op)) latest = op;
    }
  }
  return findings.result();
}

interface OwnWrite {
  readonly op: Operation;
  readonly data: string | undefined;
  readonly deleted: boolean;
}

/** Files under each path a write changed the data it left (a delete leaves none). */
function noteOwnWrites(op: Operation, lastByPath: Map<string, OwnWrite>): void {
  if (op.op === "multi") {
    // Results are in request order, checks included: index them before leaving the checks out.
    const subs = subOpsOf(op);
    for (let i = 0; i < subs.length; i++) {
      const s = subs[i]!;
      if (s.op === "check") continue;
      const path = op.result?.results?.[i]?.path ?? s.path;
      lastByPath.set(path, { op, data: s.data ?? "", deleted: s.op === "delete" });
    }
    return;
  }
  if (op.op === "closeSession" || op.path === undefined) return;
  // A create's own name is the last path it names (a sequential one's made name).
  const path = op.op === "create" && isSequentialMode(op.args.mode) ? pathsOf(op).at(-1)! : op.path;
  lastByPath.set(path, { op, data: op.args.data ?? "", deleted: op.op === "delete" });
}

/** A read must reflect its session's writes acknowledged before the read was issued. */
function checkOwnWrite(findings: Findings, read: Operation, own: OwnWrite): void {
  const result = read.result;
  const present = read.status === "ok" && result?.exists !== false;
  if (!present || result?.mzxid === undefined) return;
  const write = own.op;
  if (result.mzxid < write.zxid!) {
    const own = `the session's own acknowledged write #${write.id} at ${z(write.zxid)}`;
    findings.report(
      `#${read.id} read ${read.path} at mzxid ${z(result.mzxid)}, older than ${own}`,
      [write, read],
    );
  } else if (
    result.mzxid === write.zxid &&
    !own.deleted &&
    result.data !== undefined &&
    result.data !== own.data
  ) {
    findings.report(
      `#${read.id} read ${JSON.stringify(result.data)} from ${read.path} ` +
        `at the zxid of the session's own write #${write.id}, ` +
        `which wrote ${JSON.stringify(own.data)}`,
      [write, read],
    );
  }
}

/** Read-your-writes: reply zxid and data at least as new as the session's acknowledged writes. */
export function checkReadYourWrites(sessions: Map<string, SessionOps>): GuaranteeResult {
  const findings = new Findings("read-your-writes");
  for (const ops of sessions.values()) {
    const writes = inCompletionOrder(ops.acknowledgedWrites);
    const reads = ops.answered.filter(isRead);
    const lastByPath = new Map<string, OwnWrite>();
    let newest: Operation | undefined;
    let next = 0;
    for (const read of reads) {
      for (; next < writes.length && writes[next]!.completeIndex! < read.invokeIndex; next++) {
        const write = writes[next]!;
        if (newest === undefined || zxidBelow(ops.zxids, newest, write)) newest = write;
        noteOwnWrites(write, lastByPath);
      }
      if (newest === undefined) continue;
      findings.checked++;
      if (zxidBelow(ops.zxids, read, newest)) {
        const own = `the session's own acknowledged write #${newest.id} at ${z(newest.zxid)}`;
        findings.report(`#${read.id} replied at ${z(read.zxid)}, before ${own}`, [newest, read]);
        continue;
      }
      const own = lastByPath.get(read.path!);
      if (own !== undefined) checkOwnWrite(findings, read, own);
    }
  }
  return findings.result();
}

const dataEvents = new Set(["NodeDataChanged", "NodeCreated", "NodeDeleted"]);

/** Whether a read shows ZooKeeper's state at or after the change with zxid `changed`. */
function reflects(read: Operation, changed: bigint): boolean {
  const present = read.status === "ok" && read.result?.exists !== false;
  if (present) return read.result?.mzxid !== undefined && read.result.mzxid >= changed;
  return read.zxid !== undefined && read.zxid >= changed;
}

interface Armed {
  readonly by: Operation;
  readonly pending: Operation[];
}

type WatchItem =
  | { index: number; read: Operation; event?: undefined }
  | { index: number; event: SessionEvent; read?: undefined };

/** `answered`: the session's answered replies, in invoke order. */
function watchTimeline(
  answered: readonly Operation[],
  events: readonly SessionEvent[],
): WatchItem[] {
  const items: WatchItem[] = [];
  for (const op of answered) {
    if (op.op === "getData" || op.op === "exists")
      items.push({ index: op.completeIndex!, read: op });
  }
  for (const event of events) {
    const dataEvent =
      event.kind === "watch" && event.path !== undefined && dataEvents.has(event.event ?? "");
    if (dataEvent) items.push({ index: event.index, event });
  }
  return items.sort((a, b) => a.index - b.index);
}

function onWatchRead(
  findings: Findings,
  armed: Map<string, Armed>,
  read: Operation,
  writes: WriteIndex,
): void {
  const path = read.path!;
  const watch = armed.get(path);
  if (watch !== undefined && read.invokeIndex > watch.by.completeIndex!) {
    findings.checked++;
    // The watch fires on the first change after the state it was set at (the reply zxid).
    const firing = watch.by.zxid === undefined ? undefined : writes.firstAfter(path, watch.by.zxid);
    if (firing !== undefined && reflects(read, firing.zxid)) {
      const change = `the change of ${path} at ${z(firing.zxid)}`;
      const before = `before the watch set by #${watch.by.id} fired`;
      findings.report(`#${read.id} on session ${read.session} saw ${change} ${before}`, [
        watch.by,
        read,
      ]);
    } else watch.pending.push(read);
  }
  const sets =
    read.args.watch === true &&
    (read.status === "ok" || (read.op === "exists" && read.err === Err.NONODE));
  if (sets && watch === undefined) armed.set(path, { by: read, pending: [] });
}

/** A watch event reaches its session before any read that shows the change it announces. */
export function checkWatchOrder(
  history: PairedHistory,
  writes: WriteIndex,
  sessions = bySession(history),
): GuaranteeResult {
  const findings = new Findings("watch-order");
  const eventsBySession = new Map<string, SessionEvent[]>();
  for (const e of history.events) {
    const list = eventsBySession.get(e.session);
    if (list === undefined) eventsBySession.set(e.session, [e]);
    else list.push(e);
  }
  for (const [session, { answered: replies, setsWatch }] of sessions) {
    // Nothing is checked until a read arms a watch: a session that never asks for one is skipped.
    if (!setsWatch) continue;
    const armed = new Map<string, Armed>();
    for (const item of watchTimeline(replies, eventsBySession.get(session) ?? [])) {
      if (item.read !== undefined) {
        onWatchRead(findings, armed, item.read, writes);
        continue;
      }
      const event = item.event;
      const watch = armed.get(event.path!);
      if (watch === undefined) continue;
      armed.delete(event.path!);
      for (const read of event.zxid === undefined ? [] : watch.pending) {
        if (!reflects(read, event.zxid!)) continue;
        const late = `before the ${event.event} event for it was delivered (index ${event.index})`;
        const saw = `saw ${event.path} at or after ${z(event.zxid)}`;
        findings.report(
          `#${read.id} on session ${session} ${saw} ${late}`,
          [watch.by, read],
          [event.index],
        );
      }
    }
  }
  return findings.result();
}
