// The history format: JSON Lines, one record per line, in the order the collector saw them (that
// order is the real-time order the checkers use; `time` is for plots only). Every client operation
// is an `invoke` record, then one completion from the same process: `ok`, `fail` (a ZooKeeper error
// code in `err`) or `info` (indeterminate: timed out or connection lost, may or may not have
// happened). `event` records are things a session was told without asking (watch notifications,
// "your session expired"). Specification with examples: jepsen-like/README.md.
//
// Parsing validates everything a checker relies on and names the line of the first problem, so a
// broken writer is caught at the door instead of producing a wrong verdict.

import { assert } from "../core/assert.ts";

export const opNames = [
  "create",
  "delete",
  "setData",
  "getData",
  "exists",
  "check",
  "getChildren",
  "multi",
  "sync",
  "closeSession",
] as const;
export type OpName = (typeof opNames)[number];

export const createModes = [
  "persistent",
  "ephemeral",
  "sequential",
  "ephemeralSequential",
] as const;
export type CreateModeName = (typeof createModes)[number];

export const recordTypes = ["invoke", "ok", "fail", "info", "event"] as const;
export type RecordType = (typeof recordTypes)[number];

/** One operation inside a multi. */
export interface SubOp {
  op: "create" | "delete" | "setData" | "check";
  path: string;
  data?: string;
  version?: number;
  mode?: CreateModeName;
}

export interface OpArgs {
  data?: string;
  /** -1 means "any version"; anything else makes setData/delete a compare-and-set. */
  version?: number;
  mode?: CreateModeName;
  /** The read was issued right after a sync on the same session (a linearizable read). */
  sync?: boolean;
  watch?: boolean;
  ops?: SubOp[];
}

/** Per-op results of an ok multi, in request order (all optional). */
export interface SubResult {
  path?: string;
  version?: number;
  mzxid?: bigint;
}

/** What a reply carried. Stat fields are flattened; zxids are bigints, never numbers. */
export interface OpResult {
  path?: string;
  data?: string;
  exists?: boolean;
  children?: string[];
  version?: number;
  cversion?: number;
  czxid?: bigint;
  mzxid?: bigint;
  pzxid?: bigint;
  ephemeralOwner?: string;
  numChildren?: number;
  dataLength?: number;
  results?: SubResult[];
  /** Watch notifications: ZooKeeper's event type name, e.g. "NodeDataChanged". */
  event?: string;
  /** Free text for people (why an op is indeterminate). */
  reason?: string;
}

/** One line of a history. Callers treat records as immutable once parsed. */
export interface HistoryRecord {
  type: RecordType;
  /** Position in the history; strictly increasing. */
  index: number;
  /** The client (Jepsen's "process"): at most one outstanding operation at a time. */
  process: number;
  /** Session id, canonical lowercase hex ("0x1a"). */
  session: string;
  /** Integer microseconds (virtual or real); only plots use it. */
  time: number;
  op: string;
  path?: string;
  args?: OpArgs;
  result?: OpResult;
  err?: number;
  zxid?: bigint;
}

export class HistoryFormatError extends Error {
  override name = "HistoryFormatError";
  constructor(
    readonly line: number,
    readonly problem: string,
  ) {
    super(`line ${line}: ${problem}`);
  }
}

const topKeys = new Set([
  "type",
  "index",
  "process",
  "session",
  "time",
  "op",
  "path",
  "args",
  "result",
  "err",
  "zxid",
]);
const argKeys = new Set(["data", "version", "mode", "sync", "watch", "ops"]);
const subOpKeys = new Set(["op", "path", "data", "version", "mode"]);
const resultKeys = new Set([
  "path",
  "data",
  "exists",
  "children",
  "version",
  "cversion",
  "czxid",
  "mzxid",
  "pzxid",
  "ephemeralOwner",
  "numChildren",
  "dataLength",
  "results",
  "event",
  "reason",
]);
const subResultKeys = new Set(["path", "version", "mzxid"]);
const pathOps = new Set<string>([
  "create",
  "delete",
  "setData",
  "getData",
  "exists",
  "check",
  "getChildren",
  "sync",
]);
const zxidMax = (1n << 64n) - 1n;

type Json = Record<string, unknown>;

/** A hex string of a 64-bit unsigned value (zxids) as a bigint; throws a problem string. */
export function parseHex64(value: unknown, what: string): bigint {
  // Records built in memory may already hold bigints.
  if (typeof value === "bigint" && value >= 0n && value <= zxidMax) return value;
  if (typeof value !== "string" || !/^0x[0-9a-fA-F]{1,16}$/.test(value)) {
    throw `${what} must be a hex string like "0x100000003"`;
  }
  const parsed = BigInt(value);
  assert(parsed >= 0n && parsed <= zxidMax, "16 hex digits fit in 64 bits");
  return parsed;
}

export const hex64 = (value: bigint): string => `0x${value.toString(16)}`;

/** Session ids in canonical form, so "0x1A" and "0x01a" name the same session. */
export function canonicalSession(value: unknown, what = "session"): string {
  return hex64(parseHex64(value, what));
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function checkKeys(object: Json, allowed: Set<string>, what: string): void {
  for (const key of Object.keys(object)) if (!allowed.has(key)) throw `unknown field ${what}${key}`;
}

function integer(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value)) throw `${what} must be an integer`;
  return value;
}

function optional<T>(
  object: Json,
  key: string,
  read: (v: unknown, what: string) => T,
  what: string,
): T | undefined {
  return object[key] === undefined ? undefined : read(object[key], `${what}${key}`);
}

function string(value: unknown, what: string): string {
  if (typeof value !== "string") throw `${what} must be a string`;
  return value;
}

function boolean(value: unknown, what: string): boolean {
  if (typeof value !== "boolean") throw `${what} must be true or false`;
  return value;
}

function path(value: unknown, what: string): string {
  const text = string(value, what);
  // A trailing "/" is legal: a sequential create of "/q/" makes "/q/0000000007".
  if (!text.startsWith("/")) throw `${what} must be an absolute znode path`;
  return text;
}

function mode(value: unknown, what: string): CreateModeName {
  if (!(createModes as readonly unknown[]).includes(value))
    throw `${what} must be one of ${createModes.join(", ")}`;
  return value as CreateModeName;
}

function subOp(value: unknown, what: string): SubOp {
  if (!isObject(value)) throw `${what} must be an object`;
  checkKeys(value, subOpKeys, `${what}.`);
  const op = value.op;
  if (op !== "create" && op !== "delete" && op !== "setData" && op !== "check") {
    throw `${what}.op must be create, delete, setData or check`;
  }
  const sub: SubOp = { op, path: path(value.path, `${what}.path`) };
  const data = optional(value, "data", string, `${what}.`);
  const version = optional(value, "version", integer, `${what}.`);
  const createMode = optional(value, "mode", mode, `${what}.`);
  if (data !== undefined) sub.data = data;
  if (version !== undefined) sub.version = version;
  if (createMode !== undefined) sub.mode = createMode;
  if (op === "setData" && data === undefined) throw `${what}.data is required for setData`;
  if (op === "check" && version === undefined) throw `${what}.version is required for check`;
  return sub;
}

function parseArgs(value: unknown): OpArgs {
  if (!isObject(value)) throw "args must be an object";
  checkKeys(value, argKeys, "args.");
  const args: OpArgs = {};
  const data = optional(value, "data", string, "args.");
  const version = optional(value, "version", integer, "args.");
  const createMode = optional(value, "mode", mode, "args.");
  const sync = optional(value, "sync", boolean, "args.");
  const watch = optional(value, "watch", boolean, "args.");
  if (data !== undefined) args.data = data;
  if (version !== undefined) args.version = version;
  if (createMode !== undefined) args.mode = createMode;
  if (sync !== undefined) args.sync = sync;
  if (watch !== undefined) args.watch = watch;
  if (value.ops !== undefined) {
    if (!Array.isArray(value.ops)) throw "args.ops must be an array";
    args.ops = value.ops.map((op, i) => subOp(op, `args.ops[${i}]`));
  }
  return args;
}

function subResult(value: unknown, what: string): SubResult {
  if (!isObject(value)) throw `${what} must be an object`;
  checkKeys(value, subResultKeys, `${what}.`);
  const sub: SubResult = {};
  const subPath = optional(value, "path", string, `${what}.`);
  const version = optional(value, "version", integer, `${what}.`);
  const mzxid = optional(value, "mzxid", parseHex64, `${what}.`);
  if (subPath !== undefined) sub.path = subPath;
  if (version !== undefined) sub.version = version;
  if (mzxid !== undefined) sub.mzxid = mzxid;
  return sub;
}

function children(value: unknown, what: string): string[] {
  if (!Array.isArray(value) || value.some((c) => typeof c !== "string"))
    throw `${what} must be an array of strings`;
  return value as string[];
}

function parseResult(value: unknown): OpResult {
  if (!isObject(value)) throw "result must be an object";
  checkKeys(value, resultKeys, "result.");
  const result: OpResult = {};
  const set = <K extends keyof OpResult>(key: K, v: OpResult[K] | undefined): void => {
    if (v !== undefined) result[key] = v;
  };
  set("path", optional(value, "path", string, "result."));
  set("data", optional(value, "data", string, "result."));
  set("exists", optional(value, "exists", boolean, "result."));
  set("children", optional(value, "children", children, "result."));
  for (const key of ["version", "cversion", "numChildren", "dataLength"] as const) {
    set(key, optional(value, key, integer, "result."));
  }
  for (const key of ["czxid", "mzxid", "pzxid"] as const)
    set(key, optional(value, key, parseHex64, "result."));
  set("ephemeralOwner", optional(value, "ephemeralOwner", canonicalSession, "result."));
  set("event", optional(value, "event", string, "result."));
  set("reason", optional(value, "reason", string, "result."));
  if (value.results !== undefined) {
    if (!Array.isArray(value.results)) throw "result.results must be an array";
    result.results = value.results.map((r, i) => subResult(r, `result.results[${i}]`));
  }
  return result;
}

function checkOpFields(record: HistoryRecord): void {
  const { op, args, type } = record;
  if (!(opNames as readonly string[]).includes(op)) throw `op must be one of ${opNames.join(", ")}`;
  if (pathOps.has(op) && record.path === undefined) throw `${op} needs a path`;
  if (op === "multi" && type === "invoke" && args?.ops === undefined) throw "multi needs args.ops";
  if (type !== "invoke") return;
  if (op === "setData" && args?.data === undefined) throw "setData needs args.data";
  if (op === "check" && args?.version === undefined) throw "check needs args.version";
}

function checkCompletionFields(record: HistoryRecord): void {
  if (record.type === "fail" && record.err === undefined)
    throw "a fail needs err (a ZooKeeper error code)";
  if (record.type === "fail" && record.err === 0) throw "a fail cannot have err 0";
  if (record.type === "ok" && record.err !== undefined && record.err !== 0)
    throw "an ok cannot carry an error code";
}

function checkEventFields(record: HistoryRecord): void {
  if (record.op !== "watch") return;
  if (record.path === undefined) throw "a watch event needs a path";
  if (record.result?.event === undefined)
    throw "a watch event needs result.event (e.g. NodeDataChanged)";
}

/**
 * Validates one decoded JSON object as a history record. `position` is used when the object has
 * no index. Throws a problem string (the caller adds where it came from).
 */
function toRecord(value: unknown, position: number): HistoryRecord {
  if (!isObject(value)) throw "a record must be a JSON object";
  const json = value as Json;
  checkKeys(json, topKeys, "");
  if (!(recordTypes as readonly unknown[]).includes(json.type))
    throw `type must be one of ${recordTypes.join(", ")}`;
  const record: HistoryRecord = {
    type: json.type as RecordType,
    index: json.index === undefined ? position : integer(json.index, "index"),
    process: integer(json.process, "process"),
    session: json.session === undefined ? "0x0" : canonicalSession(json.session),
    time: integer(json.time, "time"),
    op: string(json.op, "op"),
  };
  if (record.process < 0) throw "process must be >= 0";
  if (json.path !== undefined) record.path = path(json.path, "path");
  if (json.args !== undefined) record.args = parseArgs(json.args);
  if (json.result !== undefined) record.result = parseResult(json.result);
  if (json.err !== undefined) record.err = integer(json.err, "err");
  if (json.zxid !== undefined) record.zxid = parseHex64(json.zxid, "zxid");
  if (record.type === "event") checkEventFields(record);
  else checkOpFields(record);
  if (record.type !== "invoke" && record.type !== "event") checkCompletionFields(record);
  return record;
}

/**
 * Checks the order rules: indexes strictly increase, a process has at most one outstanding
 * operation, and a completion answers the outstanding invoke of its process with the same op.
 * `where(i)` names record i in messages (a line number or a position).
 */
function checkOrder(records: readonly HistoryRecord[], where: (i: number) => number): void {
  const outstanding = new Map<number, HistoryRecord>();
  let lastIndex = -1;
  records.forEach((record, i) => {
    const fail = (problem: string): never => {
      throw new HistoryFormatError(where(i), problem);
    };
    if (record.index <= lastIndex)
      fail(`index ${record.index} does not increase (previous ${lastIndex})`);
    lastIndex = record.index;
    if (record.type === "event") return;
    const open = outstanding.get(record.process);
    if (record.type === "invoke") {
      if (open !== undefined)
        fail(`process ${record.process} invokes while op index ${open.index} is outstanding`);
      outstanding.set(record.process, record);
      return;
    }
    if (open === undefined)
      fail(`${record.type} for process ${record.process}, which has no outstanding invoke`);
    if (open!.op !== record.op)
      fail(`${record.type} for ${record.op} answers an invoke of ${open!.op}`);
    outstanding.delete(record.process);
  });
}

/**
 * Parses a JSON Lines history; blank lines are skipped. Throws HistoryFormatError with the line.
 */
export function parseHistory(text: string): HistoryRecord[] {
  const records: HistoryRecord[] = [];
  const lines: number[] = [];
  const rows = text.split("\n");
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!.trim();
    if (row.length === 0) continue;
    let value: unknown;
    try {
      value = JSON.parse(row);
    } catch {
      throw new HistoryFormatError(i + 1, "not valid JSON");
    }
    try {
      records.push(toRecord(value, records.length));
    } catch (problem) {
      if (typeof problem !== "string") throw problem;
      throw new HistoryFormatError(i + 1, problem);
    }
    lines.push(i + 1);
  }
  checkOrder(records, (i) => lines[i]!);
  return records;
}

/**
 * Validates in-memory records shaped like parsed JSON (zxids as hex strings), e.g. a simulator's
 * history. Errors name the record's position (1-based) as the "line".
 */
export function recordsFromJson(values: readonly unknown[]): HistoryRecord[] {
  const records = values.map((value, i) => {
    try {
      return toRecord(value, i);
    } catch (problem) {
      if (typeof problem !== "string") throw problem;
      throw new HistoryFormatError(i + 1, problem);
    }
  });
  checkOrder(records, (i) => i + 1);
  return records;
}

function resultToJson(result: OpResult): Json {
  const json: Json = {};
  for (const [key, value] of Object.entries(result)) {
    if (typeof value === "bigint") json[key] = hex64(value);
    else if (key === "results") {
      json.results = (value as SubResult[]).map((r) =>
        r.mzxid === undefined ? { ...r } : { ...r, mzxid: hex64(r.mzxid) },
      );
    } else json[key] = value;
  }
  return json;
}

/** One record as a JSON line (fields in a fixed order, zxids as hex strings). */
export function serializeRecord(record: HistoryRecord): string {
  const json: Json = {
    type: record.type,
    index: record.index,
    process: record.process,
    session: record.session,
    time: record.time,
    op: record.op,
  };
  if (record.path !== undefined) json.path = record.path;
  if (record.args !== undefined) json.args = record.args;
  if (record.result !== undefined) json.result = resultToJson(record.result);
  if (record.err !== undefined) json.err = record.err;
  if (record.zxid !== undefined) json.zxid = hex64(record.zxid);
  return JSON.stringify(json);
}

export function serializeHistory(records: readonly HistoryRecord[]): string {
  return records.map(serializeRecord).join("\n") + (records.length > 0 ? "\n" : "");
}
