// A history's records paired into operations (an invoke and its completion), the form every
// checker works on. This is where ZooKeeper error codes are sorted into "the op happened as a read
// of state", "the op had no effect" and "nobody knows" (indeterminate, like an info).

import { assert } from "../core/assert.ts";
import { Err } from "../core/errors.ts";
import type { HistoryRecord, OpArgs, OpName, OpResult, SubOp } from "./history.ts";
import {
  ByProcess,
  eachRecordFromJson,
  eachRecordOfText,
  HistoryFormatError,
  parseHistory,
  recordsFromJson,
} from "./history.ts";

export type Status = "ok" | "fail" | "info";

/** One client operation. Callers treat operations as immutable. */
export interface Operation {
  /** Dense, in invoke order: 0..n-1. */
  readonly id: number;
  readonly process: number;
  readonly session: string;
  readonly op: OpName;
  readonly path: string | undefined;
  readonly args: OpArgs;
  /**
   * "info" also covers fails whose outcome is unknown (CONNECTIONLOSS ...) and missing completions.
   */
  readonly status: Status;
  /** 0 for ok; the ZooKeeper error code otherwise (info may carry one too). */
  readonly err: number;
  /** False for fails that had no effect on the tree and that no model explains (NOAUTH ...). */
  readonly modelled: boolean;
  readonly result: OpResult | undefined;
  /** The zxid the reply carried, when it carried one. */
  readonly zxid: bigint | undefined;
  readonly invokeIndex: number;
  /** History index of the completion record, if any (an info has one too). */
  readonly completeIndex: number | undefined;
  readonly invokeTimeUs: number;
  readonly completeTimeUs: number | undefined;
  /** Set on operations the checker adds itself: a session's expiry, which no client invoked. */
  readonly synthetic?: "expiry";
}

/** Something a session was told without asking: a watch notification or its own expiry. */
export interface SessionEvent {
  readonly index: number;
  readonly process: number;
  readonly session: string;
  readonly timeUs: number;
  readonly kind: string;
  readonly path: string | undefined;
  readonly event: string | undefined;
  readonly zxid: bigint | undefined;
}

export interface PairedHistory {
  readonly operations: readonly Operation[];
  readonly events: readonly SessionEvent[];
  /** Index of the last record, so "+infinity" can be drawn. */
  readonly lastIndex: number;
  /**
   * Operations by status, when the pairing counted them as it made them (a history built by hand
   * may leave this out; the check then counts itself).
   */
  readonly statusCounts?: Readonly<Record<Status, number>>;
  /** Each operation's zxid as a number, by id, when the pairing noted them (see zxidNumbers). */
  readonly zxidNumbers?: readonly number[];
}

/**
 * Each operation's zxid as a number, by id (NaN without one): comparisons of these read an array
 * back to back in memory instead of one BigInt per operation. Rounding keeps the order; zxids
 * past 2^53 may round to one number, and only then must the BigInts decide (zxidBelow).
 */
export function zxidNumbers(history: PairedHistory): readonly number[] {
  if (history.zxidNumbers !== undefined) return history.zxidNumbers;
  return history.operations.map(zxidNumber);
}

const zxidNumber = (op: Operation): number =>
  op.zxid === undefined ? Number.NaN : Number(op.zxid);

/** Whether `a`'s zxid is below `b`'s (both have one); `numbers` from zxidNumbers. */
export function zxidBelow(numbers: readonly number[], a: Operation, b: Operation): boolean {
  const x = numbers[a.id]!;
  const y = numbers[b.id]!;
  if (x !== y) return x < y;
  return x > Number.MAX_SAFE_INTEGER && a.zxid! < b.zxid!;
}

// Errors that ZooKeeper decides against the tree on the leader: the op happened, as a read of
// state.
const modelledErrors = new Set<number>([
  Err.NONODE,
  Err.NODEEXISTS,
  Err.BADVERSION,
  Err.NOTEMPTY,
  Err.NOCHILDRENFOREPHEMERALS,
]);
// Errors returned before the request could change anything, which no model of the tree explains.
const noEffectErrors = new Set<number>([
  Err.NOAUTH,
  Err.BADARGUMENTS,
  Err.INVALIDACL,
  Err.UNIMPLEMENTED,
  Err.APIERROR,
  Err.AUTHFAILED,
  Err.NOTREADONLY,
  Err.EPHEMERALONLOCALSESSION,
  Err.QUOTAEXCEEDED,
  Err.THROTTLEDOP,
  Err.RECONFIGDISABLED,
  Err.NEWCONFIGNOQUORUM,
  Err.RECONFIGINPROGRESS,
  Err.INVALIDCALLBACK,
  Err.NOWATCHER,
  Err.SESSIONCLOSEDREQUIRESASLAUTH,
]);

/**
 * How a completion counts. Anything not known to be decided or harmless is indeterminate
 * (CONNECTIONLOSS, OPERATIONTIMEOUT, SESSIONEXPIRED, SESSIONMOVED, unknown codes ...): treating a
 * definite outcome as unknown only weakens the check, the reverse would invent violations.
 */
export function classifyCompletion(
  type: "ok" | "fail" | "info",
  err: number,
): Readonly<{ status: Status; modelled: boolean }> {
  if (type === "ok") return okClass;
  if (type === "info") return infoClass;
  if (modelledErrors.has(err)) return failClass;
  if (noEffectErrors.has(err)) return noEffectClass;
  return infoClass;
}

// Shared answers: classifying a million completions allocates nothing.
const okClass = Object.freeze({ status: "ok", modelled: true } as const);
const infoClass = Object.freeze({ status: "info", modelled: true } as const);
const failClass = Object.freeze({ status: "fail", modelled: true } as const);
const noEffectClass = Object.freeze({ status: "fail", modelled: false } as const);

// Comparisons of interned op names rather than Set lookups: these run several times per op.
export const isWrite = (op: Operation): boolean => {
  const name = op.op;
  return (
    name === "setData" ||
    name === "create" ||
    name === "delete" ||
    name === "multi" ||
    name === "closeSession"
  );
};
export const isRead = (op: Operation): boolean => {
  const name = op.op;
  return name === "getData" || name === "exists" || name === "getChildren";
};
/** A read issued right after a sync on its session: ZooKeeper makes those linearizable. */
export const isSyncedRead = (op: Operation): boolean => isRead(op) && op.args.sync === true;
export const isSequentialMode = (mode: string | undefined): boolean =>
  mode === "sequential" || mode === "ephemeralSequential";
export const isEphemeralMode = (mode: string | undefined): boolean =>
  mode === "ephemeral" || mode === "ephemeralSequential";

export const isReapedMode = (mode: string | undefined): boolean =>
  mode === "container" || mode === "ttl";

const reapedCache = new WeakMap<readonly Operation[], ReadonlySet<string>>();

/**
 * Paths some create made a container or a TTL node: the leader deletes those without any client
 * asking, at zxids no history shows, so the models and the read checks leave them out (the reaping
 * check, reaping.ts, follows them instead). Computed once per history.
 */
export function reapedPaths(ops: readonly Operation[]): ReadonlySet<string> {
  let paths = reapedCache.get(ops);
  if (paths !== undefined) return paths;
  const found = new Set<string>();
  for (const op of ops)
    if (op.op === "create" && isReapedMode(op.args.mode) && op.path !== undefined)
      found.add(op.path);
  reapedCache.set(ops, (paths = found));
  return paths;
}

/** An op on the watches only (addWatch, setWatches): it changes no node and reads none. */
export const isWatchOp = (op: Operation): boolean => op.op === "addWatch" || op.op === "setWatches";

/** The parent of a path as ZooKeeper cuts it ("/" for top-level paths and for "/" itself). */
export function parentOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash <= 0 ? "/" : path.slice(0, slash);
}

/** The sub-operations of a multi (empty for anything else). */
export const subOpsOf = (op: Operation): readonly SubOp[] =>
  op.op === "multi" ? (op.args.ops ?? noSubOps) : noSubOps;
// Shared, so asking a plain op for its sub-ops allocates nothing (a million times per history).
const noSubOps: readonly SubOp[] = Object.freeze([]);

/**
 * The one path an operation names, when it names exactly one (most do); undefined otherwise, and
 * pathsOf says which. Saves an array per op where histories of millions are walked.
 */
export function singlePathOf(op: Operation): string | undefined {
  if (op.op === "multi" || op.path === undefined) return undefined;
  if (op.op === "create" && isSequentialMode(op.args.mode)) return undefined;
  return op.path;
}

/** Paths an operation names directly (a multi's sub-op paths; a create's result path too). */
export function pathsOf(op: Operation): string[] {
  if (op.op === "multi") {
    const paths = subOpsOf(op).map((s) => s.path);
    op.result?.results?.forEach((r) => r.path !== undefined && paths.push(r.path));
    return paths;
  }
  if (op.path === undefined) return [];
  if (op.op === "create" && isSequentialMode(op.args.mode)) {
    const made = op.result?.path;
    return made === undefined ? [parentOf(op.path)] : [parentOf(op.path), made];
  }
  return [op.path];
}

function completed(invoke: HistoryRecord, done: HistoryRecord | undefined, id: number): Operation {
  const type = done === undefined ? "info" : (done.type as "ok" | "fail" | "info");
  const err = done?.err ?? 0;
  const { status, modelled } = classifyCompletion(type, err);
  return {
    id,
    process: invoke.process,
    session: invoke.session,
    op: invoke.op as OpName,
    path: invoke.path,
    args: invoke.args ?? {},
    status,
    err: status === "ok" ? 0 : err,
    modelled,
    result: status === "ok" ? done?.result : undefined,
    zxid: done?.zxid,
    invokeIndex: invoke.index,
    completeIndex: done?.index,
    invokeTimeUs: invoke.time,
    completeTimeUs: done?.time,
  };
}

function sessionEvent(record: HistoryRecord): SessionEvent {
  return {
    index: record.index,
    process: record.process,
    session: record.session,
    timeUs: record.time,
    kind: record.op,
    path: record.path,
    event: record.result?.event,
    zxid: record.zxid,
  };
}

/**
 * Pairs invokes with completions (records must have passed parseHistory / recordsFromJson, which
 * enforce one outstanding op per process). An invoke never completed is indeterminate.
 */
export function pairOperations(records: readonly HistoryRecord[]): PairedHistory {
  // Per process, the slot (operation id) of its outstanding invoke.
  const open = new Map<number, number>();
  const invokes: HistoryRecord[] = [];
  const done: (Operation | undefined)[] = [];
  const events: SessionEvent[] = [];
  for (const record of records) {
    if (record.type === "event") {
      events.push(sessionEvent(record));
    } else if (record.type === "invoke") {
      assert(!open.has(record.process), "validated: one outstanding op per process");
      open.set(record.process, invokes.length);
      invokes.push(record);
      done.push(undefined);
    } else {
      const slot = open.get(record.process);
      assert(slot !== undefined, "validated: a completion answers an invoke");
      open.delete(record.process);
      done[slot] = completed(invokes[slot]!, record, slot);
    }
  }
  // Filled in place: a second array of a million would only be garbage.
  const statusCounts = { ok: 0, fail: 0, info: 0 };
  const numbers: number[] = [];
  for (let id = 0; id < done.length; id++) {
    const op = (done[id] ??= completed(invokes[id]!, undefined, id));
    statusCounts[op.status]++;
    numbers.push(zxidNumber(op));
  }
  const operations = done as Operation[];
  const lastIndex = records.length === 0 ? 0 : records[records.length - 1]!.index;
  return { operations, events, lastIndex, statusCounts, zxidNumbers: numbers };
}

/**
 * recordsFromJson and pairOperations in one pass: each record is paired as it passes validation
 * and dropped, so a history of millions is never held twice (the records, then the operations),
 * which on a million ops took a quarter of the validation in copying survivors between heap
 * generations. Same result; on a bad history, the same error as recordsFromJson (it is rerun to
 * report the problem it would have found first).
 */
export function pairedFromJson(values: readonly unknown[]): PairedHistory {
  return pairReportingAs(
    (visit) => eachRecordFromJson(values, visit),
    () => recordsFromJson(values),
  );
}

/**
 * parseHistory and pairOperations in one pass, as pairedFromJson does for in-memory records: what
 * the CLI runs on a JSON Lines file. On a bad history, the same error as parseHistory.
 */
export function pairedFromText(text: string): PairedHistory {
  return pairReportingAs(
    (visit) => eachRecordOfText(text, visit),
    () => parseHistory(text),
  );
}

/**
 * Pairs while validating; on a bad history, reruns the validation that reports it (`validate`),
 * so the error is the one that validation finds first.
 */
function pairReportingAs(
  each: (visit: (record: HistoryRecord) => void) => void,
  validate: () => unknown,
): PairedHistory {
  try {
    return pairWhileValidating(each);
  } catch (error) {
    if (!(error instanceof HistoryFormatError)) throw error;
    validate();
    throw error; // not reached: a history that fails one validation fails the other
  }
}

/** Pairs the records `each` hands over once validated (see eachRecordFromJson). */
function pairWhileValidating(
  each: (visit: (record: HistoryRecord) => void) => void,
): PairedHistory {
  // Per process, its outstanding invoke and the slot (operation id) it will fill.
  const open = new ByProcess<HistoryRecord>();
  const openSlots = new ByProcess<number>();
  const operations: (Operation | undefined)[] = [];
  // Noted as the invokes go by, so reapedPaths need not walk the operations once more.
  const reaped = new Set<string>();
  const events: SessionEvent[] = [];
  // Counted here, where each operation is at hand: a pass of its own over a million of them
  // later took a tenth of a second.
  const statusCounts = { ok: 0, fail: 0, info: 0 };
  // Noted while each reply's BigInt was just read by the validation, so this reads no memory.
  const numbers: number[] = [];
  let lastIndex = 0;
  each((record) => {
    lastIndex = record.index;
    if (record.type === "event") {
      events.push(sessionEvent(record));
    } else if (record.type === "invoke") {
      open.set(record.process, record);
      openSlots.set(record.process, operations.length);
      operations.push(undefined);
      numbers.push(Number.NaN);
      const create = record.op === "create" && record.path !== undefined;
      if (create && isReapedMode(record.args?.mode)) reaped.add(record.path!);
    } else {
      const invoke = open.get(record.process);
      const slot = openSlots.get(record.process)!;
      assert(invoke !== undefined, "validated: a completion answers an invoke");
      open.delete(record.process);
      const op = completed(invoke, record, slot);
      operations[slot] = op;
      statusCounts[op.status]++;
      if (record.zxid !== undefined) numbers[slot] = Number(record.zxid);
    }
  });
  open.forEach((process, invoke) => {
    const slot = openSlots.get(process)!;
    operations[slot] = completed(invoke, undefined, slot);
    statusCounts.info++;
  });
  const paired = operations as Operation[];
  reapedCache.set(paired, reaped);
  return { operations: paired, events, lastIndex, statusCounts, zxidNumbers: numbers };
}
