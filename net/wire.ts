// ZooKeeper's client wire protocol (3.8/3.9) mapped to the core's requests and replies, both ways:
// the server decodes requests and encodes replies; the project's client (and tests) do the reverse.
// Record layouts follow zookeeper.jute; see ../shared/reference/zookeeper-facts.md A.2-A.4.

import type { ClientOp } from "../core/replica/index.ts";
import type { ZnodeData } from "../core/bytes.ts";
import { Err } from "../core/errors.ts";
import { isValidPath } from "../core/path.ts";
import type { MultiReadOp, MultiWriteOp, OpResult, Reply, Request } from "../core/requests.ts";
import type { Acl, Stat } from "../core/types.ts";
import { openAclUnsafe, Perms, sessionId, zxid } from "../core/types.ts";
import type { SessionId, Zxid } from "../core/types.ts";
import type { WatchEvent } from "../core/watches.ts";
import { JuteError, JuteReader, JuteWriter } from "./jute-io.ts";

export const OpCode = {
  notification: 0,
  create: 1,
  delete: 2,
  exists: 3,
  getData: 4,
  setData: 5,
  getACL: 6,
  setACL: 7,
  getChildren: 8,
  sync: 9,
  ping: 11,
  getChildren2: 12,
  check: 13,
  multi: 14,
  create2: 15,
  reconfig: 16,
  checkWatches: 17,
  removeWatches: 18,
  createContainer: 19,
  deleteContainer: 20,
  createTTL: 21,
  multiRead: 22,
  auth: 100,
  setWatches: 101,
  sasl: 102,
  getEphemerals: 103,
  getAllChildrenNumber: 104,
  setWatches2: 105,
  addWatch: 106,
  whoAmI: 107,
  createSession: -10,
  closeSession: -11,
  error: -1,
} as const;

// notification and error never head a request: ZooKeeper treats them as unknown (seen on the wire).
const knownOpCodes = new Set<number>(
  Object.values(OpCode).filter((c) => c !== OpCode.notification && c !== OpCode.error),
);
/** An opcode ZooKeeper accepts in a request (implemented here or not). */
export const isKnownOpCode = (type: number): boolean => knownOpCodes.has(type);

export const Xid = { notification: -1, ping: -2, auth: -4, setWatches: -8 } as const;

export interface ConnectRequest {
  protocolVersion: number;
  lastZxidSeen: Zxid;
  timeoutMs: number;
  sessionId: SessionId;
  password: Uint8Array;
  readOnly: boolean;
}

/** 3.8 clients may omit the trailing readOnly byte; 3.9 sends it; either is accepted. */
export function decodeConnectRequest(bytes: Uint8Array): ConnectRequest {
  const r = new JuteReader(bytes);
  const request: ConnectRequest = {
    protocolVersion: r.int(),
    lastZxidSeen: zxid(r.long()),
    timeoutMs: r.int(),
    sessionId: sessionId(r.long()),
    password: r.buffer(),
    readOnly: false,
  };
  if (r.remaining > 0) request.readOnly = r.bool();
  r.end("ConnectRequest");
  return request;
}

export function encodeConnectRequest(c: ConnectRequest): Uint8Array {
  return new JuteWriter()
    .int(c.protocolVersion)
    .long(c.lastZxidSeen)
    .int(c.timeoutMs)
    .long(c.sessionId)
    .buffer(c.password)
    .bool(c.readOnly)
    .finish();
}

export function encodeConnectResponse(
  timeoutMs: number,
  id: bigint,
  password: Uint8Array,
): Uint8Array {
  return new JuteWriter().int(0).int(timeoutMs).long(id).buffer(password).bool(false).finish();
}

export interface ConnectResponse {
  timeoutMs: number;
  sessionId: SessionId;
  password: Uint8Array;
  /** The server is in read-only mode (a 3.4+ server sends the byte; older ones may not). */
  readOnly: boolean;
}

export function decodeConnectResponse(bytes: Uint8Array): ConnectResponse {
  const r = new JuteReader(bytes);
  r.int();
  const response = {
    timeoutMs: r.int(),
    sessionId: sessionId(r.long()),
    password: r.buffer(),
    readOnly: false,
  };
  if (r.remaining > 0) response.readOnly = r.bool();
  return response;
}

const readAcl = (r: JuteReader): Acl => ({
  perms: r.int(),
  id: { scheme: r.ustring(), id: r.ustring() },
});
const writeAcl = (w: JuteWriter, a: Acl) => w.int(a.perms).ustring(a.id.scheme).ustring(a.id.id);

/** The open ACL as a request's vector lays it out: one entry, every permission, world:anyone. */
const openAclVector = Uint8Array.from(
  new JuteWriter(64).int(1).int(Perms.ALL).ustring("world").ustring("anyone").finish(),
);

/** A request's ACL; nearly every create carries the open one, shared and read without strings. */
function readAclVector(r: JuteReader): readonly Acl[] {
  if (!r.startsWith(openAclVector)) return r.vector(() => readAcl(r));
  r.skip(openAclVector.length);
  return openAclUnsafe;
}

function readStat(r: JuteReader): Stat {
  return {
    czxid: zxid(r.long()),
    mzxid: zxid(r.long()),
    ctime: Number(r.long()),
    mtime: Number(r.long()),
    version: r.int(),
    cversion: r.int(),
    aversion: r.int(),
    ephemeralOwner: r.long(),
    dataLength: r.int(),
    numChildren: r.int(),
    pzxid: zxid(r.long()),
  };
}

function writeStat(w: JuteWriter, s: Stat): void {
  w.long(s.czxid)
    .long(s.mzxid)
    .long(BigInt(s.ctime))
    .long(BigInt(s.mtime))
    .int(s.version)
    .int(s.cversion)
    .int(s.aversion)
    .long(s.ephemeralOwner)
    .int(s.dataLength)
    .int(s.numChildren)
    .long(s.pzxid);
}

const createOps = {
  [OpCode.create]: "create",
  [OpCode.create2]: "create2",
  [OpCode.createContainer]: "createContainer",
  [OpCode.createTTL]: "createTTL",
} as const;

/** The request record of one op (after its RequestHeader, or inside a multi). */
function readOp(r: JuteReader, type: number): ClientOp {
  switch (type) {
    case OpCode.create:
    case OpCode.create2:
    case OpCode.createContainer:
    case OpCode.createTTL: {
      const path = r.ustring();
      const data = r.nullableBuffer();
      const acl = readAclVector(r);
      const flags = r.int();
      const ttl = type === OpCode.createTTL ? Number(r.long()) : -1;
      return { op: createOps[type], path, data, acl, flags, ttl };
    }
    case OpCode.delete:
      return { op: "delete", path: r.ustring(), version: r.int() };
    case OpCode.exists:
      return { op: "exists", path: r.ustring(), watch: r.bool() };
    case OpCode.getData:
      return { op: "getData", path: r.ustring(), watch: r.bool() };
    case OpCode.setData:
      return { op: "setData", path: r.ustring(), data: r.nullableBuffer(), version: r.int() };
    case OpCode.getACL:
      return { op: "getACL", path: r.ustring() };
    case OpCode.setACL:
      return { op: "setACL", path: r.ustring(), acl: readAclVector(r), version: r.int() };
    case OpCode.getChildren:
      return { op: "getChildren", path: r.ustring(), watch: r.bool() };
    case OpCode.getChildren2:
      return { op: "getChildren2", path: r.ustring(), watch: r.bool() };
    case OpCode.sync:
      return { op: "sync", path: r.ustring() };
    case OpCode.check:
      return { op: "check", path: r.ustring(), version: r.int() };
    case OpCode.getAllChildrenNumber:
      return { op: "getAllChildrenNumber", path: r.ustring() };
    case OpCode.getEphemerals:
      return { op: "getEphemerals", prefixPath: r.ustring() };
    case OpCode.addWatch:
      return { op: "addWatch", path: r.ustring(), mode: r.int() };
    case OpCode.removeWatches:
      return { op: "removeWatches", path: r.ustring(), watcherType: r.int() };
    case OpCode.checkWatches:
      return { op: "checkWatches", path: r.ustring(), watcherType: r.int() };
    case OpCode.whoAmI:
      return { op: "whoAmI" };
    case OpCode.ping:
      return { op: "ping" };
    case OpCode.closeSession:
      return { op: "closeSession" };
    case OpCode.auth: {
      r.int(); // AuthPacket.type, always 0
      const scheme = r.ustring();
      return { op: "auth", scheme, credentials: new TextDecoder().decode(r.buffer()) };
    }
    case OpCode.setWatches:
    case OpCode.setWatches2: {
      const relativeZxid = zxid(r.long());
      const strings = () => r.vector(() => r.ustring());
      const [data, exist, child] = [strings(), strings(), strings()];
      const [persistent, persistentRecursive] =
        type === OpCode.setWatches2 ? [strings(), strings()] : [[], []];
      return {
        op: "setWatches",
        relativeZxid,
        data,
        exist,
        child,
        persistent,
        persistentRecursive,
      };
    }
    case OpCode.multi:
    case OpCode.multiRead:
      return readMulti(r, type);
    default:
      throw new UnsupportedOp(type);
  }
}

/** An opcode the server does not implement (reconfig, sasl, ...): see unsupportedOpErr. */
export class UnsupportedOp extends Error {
  override name = "UnsupportedOp";
  constructor(readonly type: number) {
    super(`unsupported opcode ${type}`);
  }
}

/**
 * The code ZooKeeper 3.8 answers for an opcode this server does not implement (found on the wire):
 * reconfig is RECONFIGDISABLED unless reconfigEnabled, then UNIMPLEMENTED (what a standalone
 * ZooKeeper says; this server cannot reconfigure an ensemble either); sasl is OK with a null token
 * (ZooKeeper without a SASL login); createSession on an open connection is MARSHALLINGERROR;
 * deleteContainer, whose whole body ZooKeeper reads as a path, is BADARGUMENTS unless that is a
 * valid path; anything else is UNIMPLEMENTED.
 */
export function unsupportedOpErr(type: number, body: Uint8Array, reconfigEnabled: boolean): number {
  switch (type) {
    case OpCode.reconfig:
      return reconfigEnabled ? Err.UNIMPLEMENTED : Err.RECONFIGDISABLED;
    case OpCode.sasl:
      return Err.OK;
    case OpCode.createSession:
      return Err.MARSHALLINGERROR;
    case OpCode.deleteContainer:
      return isValidPath(new TextDecoder().decode(body)) ? Err.UNIMPLEMENTED : Err.BADARGUMENTS;
    default:
      return Err.UNIMPLEMENTED;
  }
}

const multiWriteTypes = new Set<number>([
  OpCode.create,
  OpCode.create2,
  OpCode.createContainer,
  OpCode.createTTL,
  OpCode.delete,
  OpCode.setData,
  OpCode.check,
]);
const multiReadTypes = new Set<number>([OpCode.getData, OpCode.getChildren]);

function readMulti(r: JuteReader, type: number): ClientOp {
  const ops: ClientOp[] = [];
  for (;;) {
    const opType = r.int();
    const done = r.bool();
    r.int(); // err, unused in requests
    if (done) break;
    const allowed = type === OpCode.multi ? multiWriteTypes : multiReadTypes;
    if (!allowed.has(opType))
      throw new JuteError(
        `op ${opType} not allowed in ${type === OpCode.multi ? "multi" : "multiRead"}`,
      );
    ops.push(readOp(r, opType));
  }
  return type === OpCode.multi
    ? { op: "multi", ops: ops as MultiWriteOp[] }
    : { op: "multiRead", ops: ops as MultiReadOp[] };
}

export interface ClientFrame {
  xid: number;
  type: number;
  op: ClientOp;
}

/** A request whose header reads but whose record does not (ZooKeeper answers MARSHALLINGERROR). */
export class MalformedRecord extends JuteError {
  override name = "MalformedRecord";
  constructor(
    readonly xid: number,
    readonly type: number,
    message: string,
  ) {
    super(`request type ${type}: ${message}`);
  }
}

/**
 * A request frame from a client: RequestHeader then the op's record. Bytes after the record are
 * ignored, as ZooKeeper 3.8 ignores them. Throws JuteError (MalformedRecord once the header is
 * read) or UnsupportedOp.
 */
export function decodeClientFrame(bytes: Uint8Array): ClientFrame {
  const r = new JuteReader(bytes);
  const xid = r.int();
  const type = r.int();
  try {
    return { xid, type, op: readOp(r, type) };
  } catch (error) {
    if (error instanceof JuteError) throw new MalformedRecord(xid, type, error.message);
    throw error;
  }
}

const opCodeOf: Record<string, number> = {
  create: OpCode.create,
  create2: OpCode.create2,
  createContainer: OpCode.createContainer,
  createTTL: OpCode.createTTL,
  delete: OpCode.delete,
  exists: OpCode.exists,
  getData: OpCode.getData,
  setData: OpCode.setData,
  getACL: OpCode.getACL,
  setACL: OpCode.setACL,
  getChildren: OpCode.getChildren,
  getChildren2: OpCode.getChildren2,
  sync: OpCode.sync,
  check: OpCode.check,
  multi: OpCode.multi,
  multiRead: OpCode.multiRead,
  getAllChildrenNumber: OpCode.getAllChildrenNumber,
  getEphemerals: OpCode.getEphemerals,
  addWatch: OpCode.addWatch,
  removeWatches: OpCode.removeWatches,
  checkWatches: OpCode.checkWatches,
  whoAmI: OpCode.whoAmI,
  ping: OpCode.ping,
  closeSession: OpCode.closeSession,
  auth: OpCode.auth,
  setWatches: OpCode.setWatches2,
};

export const opCode = (op: ClientOp): number => opCodeOf[op.op]!;

function writeOp(w: JuteWriter, op: ClientOp): void {
  switch (op.op) {
    case "create":
    case "create2":
    case "createContainer":
    case "createTTL":
      w.ustring(op.path)
        .buffer(op.data)
        .vector(op.acl, (a) => writeAcl(w, a))
        .int(op.flags);
      if (op.op === "createTTL") w.long(BigInt(op.ttl));
      return;
    case "delete":
    case "check":
      w.ustring(op.path).int(op.version);
      return;
    case "exists":
    case "getData":
    case "getChildren":
    case "getChildren2":
      w.ustring(op.path).bool(op.watch);
      return;
    case "setData":
      w.ustring(op.path).buffer(op.data).int(op.version);
      return;
    case "getACL":
    case "sync":
    case "getAllChildrenNumber":
      w.ustring(op.path);
      return;
    case "setACL":
      w.ustring(op.path)
        .vector(op.acl, (a) => writeAcl(w, a))
        .int(op.version);
      return;
    case "getEphemerals":
      w.ustring(op.prefixPath);
      return;
    case "addWatch":
      w.ustring(op.path).int(op.mode);
      return;
    case "removeWatches":
    case "checkWatches":
      w.ustring(op.path).int(op.watcherType);
      return;
    case "whoAmI":
    case "ping":
    case "closeSession":
      return;
    case "auth":
      w.int(0).ustring(op.scheme).buffer(new TextEncoder().encode(op.credentials));
      return;
    case "setWatches": {
      const strings = (list: readonly string[]) => w.vector(list, (p) => w.ustring(p));
      w.long(op.relativeZxid);
      for (const list of [op.data, op.exist, op.child, op.persistent, op.persistentRecursive])
        strings(list);
      return;
    }
    case "multi":
    case "multiRead":
      for (const inner of op.ops) {
        w.int(opCode(inner)).bool(false).int(-1);
        writeOp(w, inner);
      }
      w.int(-1).bool(true).int(-1);
      return;
    case "unsupported":
      return; // an opcode the server does not know: a client of ours never sends one
  }
}

/** A client's request frame payload (RequestHeader + record). */
export function encodeRequest(xid: number, op: ClientOp): Uint8Array {
  const w = new JuteWriter().int(xid).int(opCode(op));
  writeOp(w, op);
  return w.finish();
}

/** The response record of a successful op (nothing for ops whose response is empty). */
function writeResponse(w: JuteWriter, op: ClientOp, reply: Reply): void {
  switch (op.op) {
    case "create":
      w.ustring(reply.path!);
      return;
    case "create2":
    case "createContainer":
    case "createTTL":
      w.ustring(reply.path!);
      writeStat(w, reply.stat!);
      return;
    case "exists":
    case "setData":
    case "setACL":
      writeStat(w, reply.stat!);
      return;
    case "getData":
      w.buffer(reply.data as ZnodeData);
      writeStat(w, reply.stat!);
      return;
    case "getACL":
      w.vector(reply.acl!, (a) => writeAcl(w, a));
      writeStat(w, reply.stat!);
      return;
    case "getChildren":
      w.vector(reply.children!, (c) => w.ustring(c));
      return;
    case "getChildren2":
      w.vector(reply.children!, (c) => w.ustring(c));
      writeStat(w, reply.stat!);
      return;
    case "sync":
      w.ustring(reply.path!);
      return;
    case "getAllChildrenNumber":
      w.int(reply.count!);
      return;
    case "getEphemerals":
      w.vector(reply.ephemerals!, (p) => w.ustring(p));
      return;
    case "whoAmI":
      w.vector(reply.clientInfo!, (c) => w.ustring(c.authScheme).ustring(c.user));
      return;
    case "addWatch":
      w.int(0);
      return; // ErrorResponse(0), as ZooKeeper sends
    case "multi":
    case "multiRead":
      writeMultiResults(w, reply.results!);
      return;
    case "unsupported":
      if (op.opcode === OpCode.sasl) w.buffer(null);
      return; // SetSASLResponse
    default:
      return;
  }
}

function writeMultiResults(w: JuteWriter, results: readonly OpResult[]): void {
  for (const result of results) {
    switch (result.op) {
      case "create":
        w.int(result.stat === undefined ? OpCode.create : OpCode.create2)
          .bool(false)
          .int(0)
          .ustring(result.path);
        if (result.stat !== undefined) writeStat(w, result.stat);
        break;
      case "delete":
        w.int(OpCode.delete).bool(false).int(0);
        break;
      case "setData":
        w.int(OpCode.setData).bool(false).int(0);
        writeStat(w, result.stat);
        break;
      case "check":
        w.int(OpCode.check).bool(false).int(0);
        break;
      case "getData":
        w.int(OpCode.getData).bool(false).int(0).buffer(result.data);
        writeStat(w, result.stat);
        break;
      case "getChildren":
        w.int(OpCode.getChildren)
          .bool(false)
          .int(0)
          .vector(result.children, (c) => w.ustring(c));
        break;
      case "error":
        w.int(OpCode.error).bool(false).int(result.err).int(result.err);
        break;
    }
  }
  w.int(-1).bool(true).int(-1);
}

/** The reply frame payload: ReplyHeader, then the response record when the op succeeded. */
export function encodeReply(xid: number, op: ClientOp, reply: Reply): Uint8Array {
  const w = new JuteWriter().int(xid).long(reply.zxid).int(reply.err);
  if (reply.err === 0) writeResponse(w, op, reply);
  return w.finish();
}

/** A watch notification: ReplyHeader(xid -1, the txn's zxid as 3.9 does; 3.8 clients ignore it). */
export function encodeNotification(event: WatchEvent, state = 3): Uint8Array {
  return new JuteWriter()
    .int(Xid.notification)
    .long(event.zxid)
    .int(0)
    .int(event.type)
    .int(state)
    .ustring(event.path)
    .finish();
}

export interface DecodedReply {
  xid: number;
  reply: Reply;
}

export function decodeReplyHeader(bytes: Uint8Array): {
  xid: number;
  zxid: Zxid;
  err: number;
  body: JuteReader;
} {
  const r = new JuteReader(bytes);
  return { xid: r.int(), zxid: zxid(r.long()), err: r.int(), body: r };
}

/** Client side: the reply to `op` (whose header was just read). */
export function decodeReplyBody(
  op: ClientOp,
  header: { zxid: Zxid; err: number; body: JuteReader },
): Reply {
  const reply: Reply = { err: header.err, zxid: header.zxid };
  if (header.err !== 0) return reply;
  const r = header.body;
  switch (op.op) {
    case "create":
      reply.path = r.ustring();
      break;
    case "create2":
    case "createContainer":
    case "createTTL":
      reply.path = r.ustring();
      reply.stat = readStat(r);
      break;
    case "exists":
    case "setData":
    case "setACL":
      reply.stat = readStat(r);
      break;
    case "getData":
      reply.data = r.nullableBuffer();
      reply.stat = readStat(r);
      break;
    case "getACL":
      reply.acl = r.vector(() => readAcl(r));
      reply.stat = readStat(r);
      break;
    case "getChildren":
      reply.children = r.vector(() => r.ustring());
      break;
    case "getChildren2":
      reply.children = r.vector(() => r.ustring());
      reply.stat = readStat(r);
      break;
    case "sync":
      reply.path = r.ustring();
      break;
    case "getAllChildrenNumber":
      reply.count = r.int();
      break;
    case "getEphemerals":
      reply.ephemerals = r.vector(() => r.ustring());
      break;
    case "whoAmI":
      reply.clientInfo = r.vector(() => ({ authScheme: r.ustring(), user: r.ustring() }));
      break;
    case "addWatch":
      if (r.remaining >= 4) r.int();
      break;
    case "multi":
    case "multiRead":
      reply.results = readMultiResults(r);
      break;
    default:
      break;
  }
  return reply;
}

function readMultiResults(r: JuteReader): OpResult[] {
  const results: OpResult[] = [];
  for (;;) {
    const type = r.int();
    const done = r.bool();
    const err = r.int();
    if (done) return results;
    switch (type) {
      case OpCode.create:
        results.push({ op: "create", path: r.ustring() });
        break;
      case OpCode.create2:
      case OpCode.createTTL:
      case OpCode.createContainer:
        results.push({ op: "create", path: r.ustring(), stat: readStat(r) });
        break;
      case OpCode.delete:
        results.push({ op: "delete" });
        break;
      case OpCode.setData:
        results.push({ op: "setData", stat: readStat(r) });
        break;
      case OpCode.check:
        results.push({ op: "check" });
        break;
      case OpCode.getData:
        results.push({ op: "getData", data: r.nullableBuffer(), stat: readStat(r) });
        break;
      case OpCode.getChildren:
        results.push({ op: "getChildren", children: r.vector(() => r.ustring()) });
        break;
      case OpCode.error:
        r.int();
        results.push({ op: "error", err });
        break;
      default:
        throw new JuteError(`unknown multi result type ${type}`);
    }
  }
}

export function decodeNotification(body: JuteReader): {
  type: number;
  state: number;
  path: string;
} {
  return { type: body.int(), state: body.int(), path: body.ustring() };
}

export type { Request };
