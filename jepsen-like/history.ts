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
  /** A persistent or persistent-recursive watch (args.watchMode); no change to the tree. */
  "addWatch",
  /** The watches a client re-registers on a new connection (args.watches); no change either. */
  "setWatches",
] as const;
export type OpName = (typeof opNames)[number];

export const createModes = [
  "persistent",
  "ephemeral",
  "sequential",
  "ephemeralSequential",
  /** Deleted by the leader once it had a child and has none left. */
  "container",
  /** Deleted by the leader once childless and unmodified for args.ttl ms. */
  "ttl",
] as const;
export type CreateModeName = (typeof createModes)[number];

export const watchModes = ["persistent", "persistentRecursive"] as const;
export type WatchModeName = (typeof watchModes)[number];

/** The lists of a setWatches (SetWatches2): paths per kind of watch. */
export interface WatchLists {
  data: string[];
  exist: string[];
  child: string[];
  persistent: string[];
  persistentRecursive: string[];
}

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
  /** A TTL node's time to live (ms). */
  ttl?: number;
  /** addWatch: which kind of watch. */
  watchMode?: WatchModeName;
  /** setWatches: what the client re-registered. */
  watches?: WatchLists;
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

const subOpKeys = new Set(["op", "path", "data", "version", "mode"]);
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
  "addWatch",
]);
const zxidMax = (1n << 64n) - 1n;

type Json = Record<string, unknown>;

// Validation runs once per record on histories of millions, so the helpers below take the field's
// name in two parts and build a message only when they throw.

/** A hex string of a 64-bit unsigned value (zxids) as a bigint; throws a problem string. */
export function parseHex64(value: unknown, what: string): bigint {
  return hex64Field(value, what, "");
}

function hex64Field(value: unknown, prefix: string, key: string): bigint {
  // Records built in memory may already hold bigints.
  if (typeof value === "bigint" && value >= 0n && value <= zxidMax) return value;
  if (typeof value !== "string" || !hex64Pattern.test(value)) {
    throw `${prefix}${key} must be a hex string like "0x100000003"`;
  }
  const parsed = BigInt(value);
  assert(parsed >= 0n && parsed <= zxidMax, "16 hex digits fit in 64 bits");
  return parsed;
}

const hex64Pattern = /^0x[0-9a-fA-F]{1,16}$/;

export const hex64 = (value: bigint): string => `0x${value.toString(16)}`;

// A history names few sessions many times: their canonical forms are remembered (one string
// each, which also makes the Maps keyed by session compare by identity), up to a bound.
const canonicalSessions = new Map<string, string>();
const canonicalSessionsMax = 65_536;

/** Session ids in canonical form, so "0x1A" and "0x01a" name the same session. */
export function canonicalSession(value: unknown, what = "session"): string {
  return sessionField(value, what, "");
}

function sessionField(value: unknown, prefix: string, key: string): string {
  if (typeof value === "string") {
    const known = canonicalSessions.get(value);
    if (known !== undefined) return known;
  }
  const canonical = hex64(hex64Field(value, prefix, key));
  if (typeof value === "string") {
    if (canonicalSessions.size >= canonicalSessionsMax) canonicalSessions.clear();
    canonicalSessions.set(value, canonical);
  }
  return canonical;
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function checkKeys(object: Json, allowed: Set<string>, what: string): void {
  // for-in walks the object's enumeration cache without allocating a key array.
  for (const key in object) {
    if (!allowed.has(key) && Object.prototype.hasOwnProperty.call(object, key)) {
      throw `unknown field ${what}${key}`;
    }
  }
}

function integer(value: unknown, prefix: string, key = ""): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value)) {
    throw `${prefix}${key} must be an integer`;
  }
  return value;
}

function string(value: unknown, prefix: string, key = ""): string {
  if (typeof value !== "string") throw `${prefix}${key} must be a string`;
  return value;
}

function boolean(value: unknown, prefix: string, key: string): boolean {
  if (typeof value !== "boolean") throw `${prefix}${key} must be true or false`;
  return value;
}

function path(value: unknown, prefix: string, key = ""): string {
  const text = string(value, prefix, key);
  // A trailing "/" is legal: a sequential create of "/q/" makes "/q/0000000007".
  if (text.charCodeAt(0) !== 0x2f) throw `${prefix}${key} must be an absolute znode path`;
  return text;
}

function mode(value: unknown, prefix: string, key: string): CreateModeName {
  if (!(createModes as readonly unknown[]).includes(value)) {
    throw `${prefix}${key} must be one of ${createModes.join(", ")}`;
  }
  return canonical(value as CreateModeName);
}

function subOp(value: unknown, what: string): SubOp {
  if (!isObject(value)) throw `${what} must be an object`;
  const dot = `${what}.`;
  checkKeys(value, subOpKeys, dot);
  const op = value.op;
  if (op !== "create" && op !== "delete" && op !== "setData" && op !== "check") {
    throw `${what}.op must be create, delete, setData or check`;
  }
  const sub: SubOp = { op, path: path(value.path, dot, "path") };
  const data = value.data === undefined ? undefined : string(value.data, dot, "data");
  const version = value.version === undefined ? undefined : integer(value.version, dot, "version");
  const createMode = value.mode === undefined ? undefined : mode(value.mode, dot, "mode");
  if (data !== undefined) sub.data = data;
  if (version !== undefined) sub.version = version;
  if (createMode !== undefined) sub.mode = createMode;
  if (op === "setData" && data === undefined) throw `${what}.data is required for setData`;
  if (op === "check" && version === undefined) throw `${what}.version is required for check`;
  return sub;
}

const own = (object: Json, key: string): boolean =>
  Object.prototype.hasOwnProperty.call(object, key);

// Records, args and results come in many shapes, so reading each known field by name would be a
// megamorphic load; one for-in pass reads the fields present through the enumeration cache.

function parseArgs(value: unknown): OpArgs {
  if (!isObject(value)) throw "args must be an object";
  let data: unknown, version: unknown, createMode: unknown, sync: unknown, watch: unknown;
  let ops: unknown, ttl: unknown, watchMode: unknown, watches: unknown;
  for (const key in value) {
    const field = value[key];
    switch (key) {
      case "data":
        data = field;
        break;
      case "ttl":
        ttl = field;
        break;
      case "watchMode":
        watchMode = field;
        break;
      case "watches":
        watches = field;
        break;
      case "version":
        version = field;
        break;
      case "mode":
        createMode = field;
        break;
      case "sync":
        sync = field;
        break;
      case "watch":
        watch = field;
        break;
      case "ops":
        ops = field;
        break;
      default:
        if (own(value, key)) throw `unknown field args.${key}`;
    }
  }
  const args: OpArgs = {};
  if (data !== undefined) args.data = string(data, "args.", "data");
  if (version !== undefined) args.version = integer(version, "args.", "version");
  if (createMode !== undefined) args.mode = mode(createMode, "args.", "mode");
  if (sync !== undefined) args.sync = boolean(sync, "args.", "sync");
  if (watch !== undefined) args.watch = boolean(watch, "args.", "watch");
  if (ops !== undefined) {
    if (!Array.isArray(ops)) throw "args.ops must be an array";
    args.ops = ops.map((op, i) => subOp(op, `args.ops[${i}]`));
  }
  if (ttl !== undefined) args.ttl = integer(ttl, "args.", "ttl");
  if (watchMode !== undefined) {
    if (!(watchModes as readonly unknown[]).includes(watchMode))
      throw `args.watchMode must be one of ${watchModes.join(", ")}`;
    args.watchMode = canonical(watchMode as WatchModeName);
  }
  if (watches !== undefined) args.watches = watchLists(watches);
  return args;
}

const watchListKeys = ["data", "exist", "child", "persistent", "persistentRecursive"] as const;
const watchListKeySet = new Set<string>(watchListKeys);

function watchLists(value: unknown): WatchLists {
  if (!isObject(value)) throw "args.watches must be an object";
  checkKeys(value, watchListKeySet, "args.watches.");
  const lists = {} as WatchLists;
  for (const key of watchListKeys) {
    const list = value[key] ?? [];
    if (!Array.isArray(list)) throw `args.watches.${key} must be an array of paths`;
    lists[key] = list.map((p, i) => path(p, `args.watches.${key}`, `[${i}]`));
  }
  return lists;
}

function subResult(value: unknown, what: string): SubResult {
  if (!isObject(value)) throw `${what} must be an object`;
  const dot = `${what}.`;
  checkKeys(value, subResultKeys, dot);
  const sub: SubResult = {};
  const subPath = value.path === undefined ? undefined : string(value.path, dot, "path");
  const version = value.version === undefined ? undefined : integer(value.version, dot, "version");
  const mzxid = value.mzxid === undefined ? undefined : hex64Field(value.mzxid, dot, "mzxid");
  if (subPath !== undefined) sub.path = subPath;
  if (version !== undefined) sub.version = version;
  if (mzxid !== undefined) sub.mzxid = mzxid;
  return sub;
}

function children(value: unknown, prefix: string, key: string): string[] {
  if (!Array.isArray(value) || value.some((c) => typeof c !== "string")) {
    throw `${prefix}${key} must be an array of strings`;
  }
  return value as string[];
}

const r = "result.";

function parseResult(value: unknown): OpResult {
  if (!isObject(value)) throw "result must be an object";
  let path: unknown, data: unknown, exists: unknown, childNames: unknown, version: unknown;
  let cversion: unknown, numChildren: unknown, dataLength: unknown, czxid: unknown;
  let mzxid: unknown, pzxid: unknown, owner: unknown, event: unknown, reason: unknown;
  let results: unknown;
  for (const key in value) {
    const field = value[key];
    switch (key) {
      case "path":
        path = field;
        break;
      case "data":
        data = field;
        break;
      case "exists":
        exists = field;
        break;
      case "children":
        childNames = field;
        break;
      case "version":
        version = field;
        break;
      case "cversion":
        cversion = field;
        break;
      case "numChildren":
        numChildren = field;
        break;
      case "dataLength":
        dataLength = field;
        break;
      case "czxid":
        czxid = field;
        break;
      case "mzxid":
        mzxid = field;
        break;
      case "pzxid":
        pzxid = field;
        break;
      case "ephemeralOwner":
        owner = field;
        break;
      case "event":
        event = field;
        break;
      case "reason":
        reason = field;
        break;
      case "results":
        results = field;
        break;
      default:
        if (own(value, key)) throw `unknown field result.${key}`;
    }
  }
  // Fields are checked and added in a fixed order, so results share few hidden classes.
  const result: OpResult = {};
  if (path !== undefined) result.path = string(path, r, "path");
  if (data !== undefined) result.data = string(data, r, "data");
  if (exists !== undefined) result.exists = boolean(exists, r, "exists");
  if (childNames !== undefined) result.children = children(childNames, r, "children");
  if (version !== undefined) result.version = integer(version, r, "version");
  if (cversion !== undefined) result.cversion = integer(cversion, r, "cversion");
  if (numChildren !== undefined) result.numChildren = integer(numChildren, r, "numChildren");
  if (dataLength !== undefined) result.dataLength = integer(dataLength, r, "dataLength");
  if (czxid !== undefined) result.czxid = hex64Field(czxid, r, "czxid");
  if (mzxid !== undefined) result.mzxid = hex64Field(mzxid, r, "mzxid");
  if (pzxid !== undefined) result.pzxid = hex64Field(pzxid, r, "pzxid");
  if (owner !== undefined) result.ephemeralOwner = sessionField(owner, r, "ephemeralOwner");
  if (event !== undefined) result.event = string(event, r, "event");
  if (reason !== undefined) result.reason = string(reason, r, "reason");
  if (results !== undefined) {
    if (!Array.isArray(results)) throw "result.results must be an array";
    result.results = results.map((sub, i) => subResult(sub, `result.results[${i}]`));
  }
  return result;
}

const opNameSet = new Set<string>(opNames);

function checkOpFields(record: HistoryRecord): void {
  const { op, args, type } = record;
  if (!opNameSet.has(op)) throw `op must be one of ${opNames.join(", ")}`;
  if (pathOps.has(op) && record.path === undefined) throw `${op} needs a path`;
  if (op === "multi" && type === "invoke" && args?.ops === undefined) throw "multi needs args.ops";
  if (type !== "invoke") return;
  if (op === "setData" && args?.data === undefined) throw "setData needs args.data";
  if (op === "check" && args?.version === undefined) throw "check needs args.version";
  if (op === "addWatch" && args?.watchMode === undefined) throw "addWatch needs args.watchMode";
  if (op === "setWatches" && args?.watches === undefined) throw "setWatches needs args.watches";
  if (op === "create" && args?.mode === "ttl" && args.ttl === undefined)
    throw "a ttl create needs args.ttl";
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

const isRecordType = (value: unknown): value is RecordType =>
  value === "invoke" || value === "ok" || value === "fail" || value === "info" || value === "event";

// The names records repeat, as this module's own string constants. A parser may hand over a fresh
// copy of "setData" per record; the checkers compare names millions of times, and constants compare
// by identity where copies compare by content.
const canonicalNames = new Map<string, string>(
  [
    ...recordTypes,
    ...opNames,
    ...createModes,
    ...watchModes,
    "watch",
    "sessionExpired",
    "connected",
  ].map((n) => [n, n]),
);
const canonical = <T extends string>(name: T): T => (canonicalNames.get(name) as T) ?? name;

/**
 * Validates one decoded JSON object as a history record. `position` is used when the object has
 * no index. Throws a problem string (the caller adds where it came from).
 */
function toRecord(value: unknown, position: number): HistoryRecord {
  if (!isObject(value)) throw "a record must be a JSON object";
  let type: unknown, index: unknown, process: unknown, session: unknown, time: unknown;
  let op: unknown, where: unknown, args: unknown, result: unknown, err: unknown, zxid: unknown;
  for (const key in value) {
    const field = value[key];
    switch (key) {
      case "type":
        type = field;
        break;
      case "index":
        index = field;
        break;
      case "process":
        process = field;
        break;
      case "session":
        session = field;
        break;
      case "time":
        time = field;
        break;
      case "op":
        op = field;
        break;
      case "path":
        where = field;
        break;
      case "args":
        args = field;
        break;
      case "result":
        result = field;
        break;
      case "err":
        err = field;
        break;
      case "zxid":
        zxid = field;
        break;
      default:
        if (own(value, key)) throw `unknown field ${key}`;
    }
  }
  if (!isRecordType(type)) throw `type must be one of ${recordTypes.join(", ")}`;
  const recordType = canonical(type);
  const recordIndex = index === undefined ? position : integer(index, "index");
  const recordProcess = integer(process, "process");
  const recordSession = session === undefined ? "0x0" : sessionField(session, "session", "");
  const recordTime = integer(time, "time");
  const recordOp = canonical(string(op, "op"));
  if (recordProcess < 0) throw "process must be >= 0";
  // One literal with every field (absent ones undefined): a single allocation, and one hidden
  // class for all records, so the pairing and the checkers read them monomorphically.
  const record: HistoryRecord = {
    type: recordType,
    index: recordIndex,
    process: recordProcess,
    session: recordSession,
    time: recordTime,
    op: recordOp,
    path: where === undefined ? undefined : path(where, "path"),
    args: args === undefined ? undefined : parseArgs(args),
    result: result === undefined ? undefined : parseResult(result),
    err: err === undefined ? undefined : integer(err, "err"),
    zxid: zxid === undefined ? undefined : hex64Field(zxid, "zxid", ""),
  };
  if (record.type === "event") checkEventFields(record);
  else checkOpFields(record);
  if (record.type !== "invoke" && record.type !== "event") checkCompletionFields(record);
  return record;
}

/**
 * The order rules, one record at a time: indexes strictly increase, a process has at most one
 * outstanding operation, and a completion answers the outstanding invoke of its process with the
 * same op. `line` names the record in messages (a line number or a position).
 */
/**
 * A value per process: in an array for the small numbers clients get, in a Map beyond (two
 * lookups per record by number, in the validation and in the pairing, were a tenth of a second
 * on a million ops as Map lookups).
 */
export class ByProcess<T> {
  private readonly near: (T | undefined)[] = [];
  private readonly far = new Map<number, T>();

  get(process: number): T | undefined {
    return process < byProcessNear ? this.near[process] : this.far.get(process);
  }

  set(process: number, value: T): void {
    if (process < byProcessNear) this.near[process] = value;
    else this.far.set(process, value);
  }

  delete(process: number): void {
    if (process < byProcessNear) this.near[process] = undefined;
    else this.far.delete(process);
  }

  /** Every process with a value, the near ones first. */
  forEach(visit: (process: number, value: T) => void): void {
    for (let p = 0; p < this.near.length; p++) {
      const value = this.near[p];
      if (value !== undefined) visit(p, value);
    }
    for (const [p, value] of this.far) visit(p, value);
  }
}

const byProcessNear = 1 << 16;

class OrderCheck {
  private readonly outstanding = new ByProcess<HistoryRecord>();
  private lastIndex = -1;

  next(record: HistoryRecord, line: number): void {
    if (record.index <= this.lastIndex) {
      const problem = `index ${record.index} does not increase (previous ${this.lastIndex})`;
      throw new HistoryFormatError(line, problem);
    }
    this.lastIndex = record.index;
    if (record.type === "event") return;
    const open = this.outstanding.get(record.process);
    if (record.type === "invoke") {
      if (open !== undefined) {
        const problem =
          `process ${record.process} invokes ` + `while op index ${open.index} is outstanding`;
        throw new HistoryFormatError(line, problem);
      }
      this.outstanding.set(record.process, record);
      return;
    }
    if (open === undefined) {
      const problem =
        `${record.type} for process ${record.process}, ` + "which has no outstanding invoke";
      throw new HistoryFormatError(line, problem);
    }
    if (open.op !== record.op) {
      const problem = `${record.type} for ${record.op} answers an invoke of ${open.op}`;
      throw new HistoryFormatError(line, problem);
    }
    this.outstanding.delete(record.process);
  }
}

/** Checks the order rules over all records; `where(i)` names record i in messages. */
function checkOrder(records: readonly HistoryRecord[], where: (i: number) => number): void {
  const order = new OrderCheck();
  for (let i = 0; i < records.length; i++) order.next(records[i]!, where(i));
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

/**
 * Validates in-memory records as recordsFromJson does, handing each on as soon as it passed, so
 * a caller that keeps only what it derives (the pairing) never holds every record at once.
 * Problems are found in another order than recordsFromJson reports them (it checks every record's
 * fields before any order rule): a caller that wants its exact error runs it after a failure.
 */
export function eachRecordFromJson(
  values: readonly unknown[],
  visit: (record: HistoryRecord) => void,
): void {
  const order = new OrderCheck();
  for (let i = 0; i < values.length; i++) {
    let record: HistoryRecord;
    try {
      record = toRecord(values[i], i);
    } catch (problem) {
      if (typeof problem !== "string") throw problem;
      throw new HistoryFormatError(i + 1, problem);
    }
    order.next(record, i + 1);
    visit(record);
  }
}

/**
 * Validates a JSON Lines history as parseHistory does, handing each record on as soon as it
 * passed (so a caller that keeps only what it derives never holds every record). Problems are
 * found in another order than parseHistory reports them: a caller that wants its exact error
 * runs it after a failure.
 */
export function eachRecordOfText(text: string, visit: (record: HistoryRecord) => void): void {
  const order = new OrderCheck();
  const rows = text.split("\n");
  let position = 0;
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!.trim();
    if (row.length === 0) continue;
    let record: HistoryRecord;
    try {
      record = toRecord(JSON.parse(row), position++);
    } catch (problem) {
      if (problem instanceof SyntaxError) throw new HistoryFormatError(i + 1, "not valid JSON");
      if (typeof problem !== "string") throw problem;
      throw new HistoryFormatError(i + 1, problem);
    }
    order.next(record, i + 1);
    visit(record);
  }
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
