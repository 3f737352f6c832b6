// Storage record formats, pure over bytes, shared by the simulator's disk and the real disk.
//
// Log record:  u32 payloadLength · u32 crc32(payload) · payload (one encoded txn)
// Snapshot:    "ZKTS" · u32 version · u32 crc32(body) · body
//   body:      i64 lastZxid · i64 digest · u32 sessions · (i64 id, u32 timeoutMs)* · u32 nodes · node*
//   node:      path · data · acl · czxid mzxid pzxid · ctime mtime · version cversion aversion · owner
// A znode's data (in a node, a create or a setData) is u32 length · bytes, or the length 0xFFFFFFFF
// alone for null data. Version 2 snapshots may hold that marker; version 1 (written before null was
// kept) never does and still reads. Log records carry no version: old records read unchanged, and a
// server older than the marker would take a record holding it for a torn tail.
// Nodes are written parents first (the tree's insertion order), so a snapshot restores by insertion.
// A log whose last record is short or fails its checksum was torn by a crash: decodeLog drops that
// record and everything after it, and says so.

import { assert } from "./assert.ts";
import { ByteReader, ByteWriter, crc32, DecodeError } from "./codec.ts";
import { Database } from "./database.ts";
import type { Txn, TxnBody } from "./txn.ts";
import { sessionId, zxid } from "./types.ts";
import type { Acl } from "./types.ts";

const txnTags = ["create", "delete", "setData", "setACL", "check", "error", "multi", "createSession", "closeSession"] as const;

function writeAcl(w: ByteWriter, acl: readonly Acl[]): void {
  w.u32(acl.length);
  for (const entry of acl) w.i32(entry.perms).string(entry.id.scheme).string(entry.id.id);
}

function readAcl(r: ByteReader): Acl[] {
  const count = r.u32();
  if (count > r.remaining) throw new DecodeError("acl count exceeds record");
  const acl: Acl[] = [];
  for (let i = 0; i < count; i++) acl.push({ perms: r.i32(), id: { scheme: r.string(), id: r.string() } });
  return acl;
}

function writeBody(w: ByteWriter, body: TxnBody): void {
  w.u8(txnTags.indexOf(body.type));
  switch (body.type) {
    case "create":
      w.string(body.path).nullableBytes(body.data);
      writeAcl(w, body.acl);
      w.i64(body.ephemeralOwner).i32(body.parentCversion);
      return;
    case "delete":
      w.string(body.path);
      return;
    case "setData":
      w.string(body.path).nullableBytes(body.data).i32(body.version);
      return;
    case "setACL":
      w.string(body.path);
      writeAcl(w, body.acl);
      w.i32(body.aversion);
      return;
    case "check":
      w.string(body.path).i32(body.version);
      return;
    case "error":
      w.i32(body.err);
      return;
    case "multi":
      w.u32(body.ops.length);
      for (const op of body.ops) writeBody(w, op);
      return;
    case "createSession":
      w.u32(body.timeoutMs).i32(body.originServer).i32(body.originTag);
      return;
    case "closeSession":
      w.u32(body.ephemerals.length);
      for (const path of body.ephemerals) w.string(path);
      return;
  }
}

function readBody(r: ByteReader, depth: number): TxnBody {
  const type = txnTags[r.u8()];
  switch (type) {
    case "create":
      return {
        type, path: r.string(), data: r.nullableBytes(), acl: readAcl(r), ephemeralOwner: r.i64(),
        parentCversion: r.i32(),
      };
    case "delete":
      return { type, path: r.string() };
    case "setData":
      return { type, path: r.string(), data: r.nullableBytes(), version: r.i32() };
    case "setACL":
      return { type, path: r.string(), acl: readAcl(r), aversion: r.i32() };
    case "check":
      return { type, path: r.string(), version: r.i32() };
    case "error":
      return { type, err: r.i32() };
    case "multi": {
      if (depth > 0) throw new DecodeError("multi does not nest");
      const count = r.u32();
      if (count > r.remaining) throw new DecodeError("multi op count exceeds record");
      const ops: TxnBody[] = [];
      for (let i = 0; i < count; i++) ops.push(readBody(r, depth + 1));
      return { type, ops };
    }
    case "createSession":
      return { type, timeoutMs: r.u32(), originServer: r.i32(), originTag: r.i32() };
    case "closeSession": {
      const count = r.u32();
      if (count > r.remaining) throw new DecodeError("ephemeral count exceeds record");
      const ephemerals: string[] = [];
      for (let i = 0; i < count; i++) ephemerals.push(r.string());
      return { type, ephemerals };
    }
    default:
      throw new DecodeError("unknown txn type");
  }
}

export function encodeTxn(txn: Txn): Uint8Array {
  const w = new ByteWriter(64);
  w.i64(txn.zxid).i64(txn.sessionId).i32(txn.cxid).int53(txn.timeMs);
  writeBody(w, txn.body);
  return w.finish();
}

export function decodeTxn(bytes: Uint8Array): Txn {
  const r = new ByteReader(bytes);
  const txn: Txn = { zxid: zxid(r.i64()), sessionId: sessionId(r.i64()), cxid: r.i32(), timeMs: r.int53(), body: readBody(r, 0) };
  if (r.remaining !== 0) throw new DecodeError("trailing bytes after txn");
  return txn;
}

/** One txn as a log record: length, checksum, payload. */
export function encodeLogRecord(txn: Txn): Uint8Array {
  const payload = encodeTxn(txn);
  return new ByteWriter(payload.length + 8).u32(payload.length).u32(crc32(payload)).raw(payload).finish();
}

export interface DecodedLog {
  txns: Txn[];
  /** Bytes of the log that hold whole, valid records; a recovering node truncates to this. */
  validBytes: number;
  /** Set when the tail was torn (short or failing its checksum) and dropped. */
  tornTail: boolean;
}

/** Decodes a log file: every whole, valid record up to the first torn one. */
export function decodeLog(bytes: Uint8Array): DecodedLog {
  const txns: Txn[] = [];
  const r = new ByteReader(bytes);
  while (r.remaining > 0) {
    const start = r.offset;
    try {
      const length = r.u32();
      const checksum = r.u32();
      if (length > r.remaining) throw new DecodeError("short record");
      const payload = bytes.subarray(r.offset, r.offset + length);
      if (crc32(payload) !== checksum) throw new DecodeError("checksum mismatch");
      txns.push(decodeTxn(payload));
      r.offset += length;
    } catch (error) {
      if (!(error instanceof DecodeError)) throw error;
      return { txns, validBytes: start, tornTail: true };
    }
  }
  return { txns, validBytes: bytes.length, tornTail: false };
}

const snapshotMagic = 0x5a4b5453; // "ZKTS"
const snapshotVersion = 2;
/** Version 1 has the same layout without null data. */
const readableSnapshotVersions = new Set([1, 2]);

/** A consistent (never fuzzy) snapshot of the database at its last applied zxid. */
export function encodeSnapshot(db: Database): Uint8Array {
  const w = new ByteWriter(1 << 16);
  w.i64(db.lastZxid).i64(db.tree.digest()).u32(db.sessions.size);
  for (const [id, timeoutMs] of db.sessions) w.i64(id).u32(timeoutMs);
  w.u32(db.tree.size);
  for (const [path, node] of db.tree.nodes) {
    w.string(path).nullableBytes(node.data);
    writeAcl(w, node.acl);
    w.i64(node.czxid).i64(node.mzxid).i64(node.pzxid).int53(node.ctime).int53(node.mtime);
    w.i32(node.version).i32(node.cversion).i32(node.aversion).i64(node.ephemeralOwner);
  }
  const body = w.finish();
  return new ByteWriter(body.length + 12).u32(snapshotMagic).u32(snapshotVersion).u32(crc32(body)).raw(body).finish();
}

/** Restores a snapshot; throws DecodeError if it is damaged (checksum, format or digest). */
export function decodeSnapshot(bytes: Uint8Array, options: { extendedTypesEnabled: boolean }): Database {
  const header = new ByteReader(bytes);
  if (header.u32() !== snapshotMagic) throw new DecodeError("not a snapshot");
  if (!readableSnapshotVersions.has(header.u32())) {
    throw new DecodeError("unknown snapshot version");
  }
  const checksum = header.u32();
  const body = bytes.subarray(header.offset);
  if (crc32(body) !== checksum) throw new DecodeError("snapshot checksum mismatch");
  const r = new ByteReader(body);
  const db = new Database(options);
  const lastZxid = zxid(r.i64());
  const digest = r.i64();
  const sessionCount = r.u32();
  for (let i = 0; i < sessionCount; i++) db.sessions.set(sessionId(r.i64()), r.u32());
  const nodeCount = r.u32();
  for (let i = 0; i < nodeCount; i++) {
    const path = r.string();
    db.tree.restoreNode(path, {
      data: r.nullableBytes(), acl: readAcl(r),
      czxid: zxid(r.i64()), mzxid: zxid(r.i64()), pzxid: zxid(r.i64()),
      ctime: r.int53(), mtime: r.int53(), version: r.i32(), cversion: r.i32(), aversion: r.i32(), ephemeralOwner: r.i64(),
    });
  }
  db.lastZxid = lastZxid;
  if (BigInt.asIntN(64, db.tree.digest()) !== digest) throw new DecodeError("snapshot digest mismatch");
  assert(db.tree.size === nodeCount, "every snapshot node restored");
  return db;
}
