// Storage record formats, pure over bytes, shared by the simulator's disk and the real disk.
//
// Log record:  u32 payloadLength · u32 crc32(payload) · payload (one encoded txn)
// Snapshot:    "ZKTS" · u32 version · u32 crc32(body) · body
//   body:      i64 lastZxid · i64 digest · u32 sessions · (i64 id, u32 timeoutMs)* · u32 nodes
//              · node*
//   node:      path · data · acl · czxid mzxid pzxid · ctime mtime · version cversion aversion
//              · owner
// A znode's data (in a node, a create or a setData) is u32 length · bytes, or the length 0xFFFFFFFF
// alone for null data. Version 2 snapshots may hold that marker; version 1 (written before null was
// kept) never does and still reads. Log records carry no version: old records read unchanged, and a
// server older than the marker would take a record holding it for a torn tail.
// Nodes are written parents first (the tree's insertion order), so a snapshot restores by
// insertion.
// A log whose last record is short or fails its checksum was torn by a crash: decodeLog drops that
// record and everything after it, and says so.

import { assert } from "./assert.ts";
import { dataLength, utf8Length } from "./bytes.ts";
import { ByteReader, ByteSlab, ByteWriter, crc32, DecodeError } from "./codec.ts";
import type { ByteAllocator } from "./codec.ts";
import { Database } from "./database.ts";
import type { TreeCapture, ZNode } from "./tree.ts";
import type { Txn, TxnBody } from "./txn.ts";
import { openAclUnsafe, sessionId, zxid } from "./types.ts";
import type { Acl, SessionId, Zxid } from "./types.ts";

const txnTags = [
  "create",
  "delete",
  "setData",
  "setACL",
  "check",
  "error",
  "multi",
  "createSession",
  "closeSession",
] as const;

/** An ACL as log records, snapshots and forwarded requests lay it out. */
export function writeAcl(w: ByteWriter, acl: readonly Acl[]): void {
  w.u32(acl.length);
  for (const entry of acl) w.i32(entry.perms).string(entry.id.scheme).string(entry.id.id);
}

/** The open ACL as writeAcl lays it out: one entry, every permission, world:anyone. */
const openAclBytes = (() => {
  const w = new ByteWriter(32);
  writeAcl(w, openAclUnsafe);
  return w.finish();
})();

export function readAcl(r: ByteReader): readonly Acl[] {
  // Nearly every create carries the open ACL: shared, without decoding two strings.
  if (r.startsWith(openAclBytes)) {
    r.skip(openAclBytes.length);
    return openAclUnsafe;
  }
  const count = r.u32();
  if (count > r.remaining) throw new DecodeError("acl count exceeds the bytes left");
  const acl: Acl[] = [];
  for (let i = 0; i < count; i++)
    acl.push({ perms: r.i32(), id: { scheme: r.string(), id: r.string() } });
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
        type,
        path: r.string(),
        data: r.nullableBytes(),
        acl: readAcl(r),
        ephemeralOwner: r.i64(),
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

export function encodeTxn(txn: Txn, allocate?: ByteAllocator): Uint8Array {
  // Sized once: no growing copies.
  const w = new ByteWriter(64 + txnDataBytes(txn.body), allocate);
  w.i64(txn.zxid).i64(txn.sessionId).i32(txn.cxid).int53(txn.timeMs);
  writeBody(w, txn.body);
  return w.finish();
}

/** `slab`, when given, holds the txn's data (a log decoded at start: 100,000 records and more). */
export function decodeTxn(bytes: Uint8Array, slab?: ByteSlab): Txn {
  const r = new ByteReader(bytes, slab);
  const txn: Txn = {
    zxid: zxid(r.i64()),
    sessionId: sessionId(r.i64()),
    cxid: r.i32(),
    timeMs: r.int53(),
    body: readBody(r, 0),
  };
  if (r.remaining !== 0) throw new DecodeError("trailing bytes after txn");
  return txn;
}

/** One txn as a log record: length, checksum, payload (encoded in place behind the first two). */
export function encodeLogRecord(txn: Txn): Uint8Array {
  const w = new ByteWriter(64 + txnDataBytes(txn.body));
  w.u32(0).u32(0);
  w.i64(txn.zxid).i64(txn.sessionId).i32(txn.cxid).int53(txn.timeMs);
  writeBody(w, txn.body);
  const record = w.finish();
  writeLogRecordHeader(new DataView(record.buffer, record.byteOffset, 8), 0, record.subarray(8));
  return record;
}

/** A log record's header: the payload's length and crc32. */
export const logRecordHeaderBytes = 8;

/** A log record's 8-byte header for `payload` (an encoded txn), written at `offset` of `view`. */
export function writeLogRecordHeader(view: DataView, offset: number, payload: Uint8Array): void {
  view.setUint32(offset, payload.length);
  view.setUint32(offset + 4, crc32(payload));
}

/** Most of a txn's size, to size its writer once: the data it carries. */
function txnDataBytes(body: TxnBody): number {
  const { type } = body;
  if (type === "create" || type === "setData") return dataLength(body.data) + 2 * body.path.length;
  if (body.type === "multi") return body.ops.reduce((n, op) => n + 32 + txnDataBytes(op), 0);
  return 0;
}

export interface DecodedLog {
  txns: Txn[];
  /** Bytes of the log that hold whole, valid records; a recovering node truncates to this. */
  validBytes: number;
  /** Set when the tail was torn (short or failing its checksum) and dropped. */
  tornTail: boolean;
}

/**
 * Decodes a log file: every whole, valid record up to the first torn one. `onRecord` sees each
 * txn with its payload (a view into `bytes`), for a caller that keeps encodings.
 */
export function decodeLog(
  bytes: Uint8Array,
  onRecord?: (txn: Txn, payload: Uint8Array) => void,
): DecodedLog {
  const txns: Txn[] = [];
  const r = new ByteReader(bytes);
  const slab = new ByteSlab(bytes.length);
  while (r.remaining > 0) {
    const start = r.offset;
    // A log file is grown by zeros ahead of its records (net/storage.ts): they end it. A torn
    // record is never a header's worth of zeros: its length field is not zero.
    if (bytes.length - start >= logRecordHeaderBytes && onlyZerosFrom(bytes, start))
      return { txns, validBytes: start, tornTail: false };
    try {
      const length = r.u32();
      const checksum = r.u32();
      if (length > r.remaining) throw new DecodeError("short record");
      const payload = bytes.subarray(r.offset, r.offset + length);
      if (crc32(payload) !== checksum) throw new DecodeError("checksum mismatch");
      const txn = decodeTxn(payload, slab);
      txns.push(txn);
      onRecord?.(txn, payload);
      r.offset += length;
    } catch (error) {
      if (!(error instanceof DecodeError)) throw error;
      return { txns, validBytes: start, tornTail: true };
    }
  }
  return { txns, validBytes: bytes.length, tornTail: false };
}

/** Whether every byte from `start` on is zero. */
function onlyZerosFrom(bytes: Uint8Array, start: number): boolean {
  for (let i = start; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}

const snapshotMagic = 0x5a4b5453; // "ZKTS"
const snapshotVersion = 2;
/** Version 1 has the same layout without null data. */
const readableSnapshotVersions = new Set([1, 2]);

/**
 * A consistent (never fuzzy) snapshot of the database at its last applied zxid. Written into one
 * buffer of the exact size, header included: growing it by doubling and copying the body behind
 * a header held three large buffers at once (about 660 MB at a million znodes).
 */
export function encodeSnapshot(db: Database): Uint8Array {
  const aclSizes = new Map<readonly Acl[], number>(); // ACLs are interned: a few distinct lists
  let size = snapshotHeaderBytes + snapshotHeadBytes(db.sessions.size);
  db.tree.nodes.forEach((node, path) => {
    size += snapshotNodeBytes(path, node, aclSizes);
  });
  const w = new ByteWriter(size);
  w.u32(snapshotMagic).u32(snapshotVersion).u32(0); // the checksum, once the body is there
  writeSnapshotHead(w, db.lastZxid, db.tree.digest(), db.sessions, db.tree.size);
  db.tree.nodes.forEach((node, path) => writeSnapshotNode(w, path, node));
  const bytes = w.finish();
  const header = new DataView(bytes.buffer, bytes.byteOffset, snapshotHeaderBytes);
  header.setUint32(8, crc32(bytes.subarray(snapshotHeaderBytes)));
  return bytes;
}

/**
 * The snapshot encodeSnapshot would write at the moment this is made, encoded a piece at a time
 * while the database goes on applying txns: the tree keeps a copy of each node before it first
 * changes (TreeCapture), so the replica keeps serving between pieces and no second copy of the
 * tree is needed. The file is the header (once the body's checksum is known) then the pieces.
 */
export class SnapshotEncoder {
  readonly zxid: Zxid;
  readonly nodeCount: number;
  private readonly capture: TreeCapture;
  private readonly sessions: ReadonlyMap<SessionId, number>;
  private headWritten = false;
  private nodesWritten = 0;
  private finished = false;
  private bodyCrc = 0;
  /** Each piece is written here (grown if one node needs more): pieces cost no allocation. */
  private scratch = new Uint8Array(0);

  constructor(db: Database) {
    this.zxid = db.lastZxid;
    this.capture = db.tree.capture(db.lastZxid);
    this.nodeCount = this.capture.size;
    this.sessions = new Map(db.sessions);
  }

  get done(): boolean {
    return this.finished;
  }

  /** Nodes changed since the capture, whose old copies the tree keeps for this encoder. */
  get changedSince(): number {
    return this.capture.changedSince;
  }

  /**
   * The body's next piece: the head first, then nodes until the piece reaches `bytes` (it ends
   * with the node that crossed it). A view of the encoder's own buffer, valid until the next
   * call. Once the last node is out, the tree stops keeping copies.
   */
  nextPiece(bytes: number): Uint8Array {
    assert(!this.finished, "snapshot pieces remain");
    const w = new ByteWriter(bytes + (bytes >> 2), (size) => {
      if (this.scratch.length < size) this.scratch = new Uint8Array(size);
      return this.scratch;
    });
    if (!this.headWritten) {
      const { capture } = this;
      writeSnapshotHead(w, this.zxid, capture.digest, this.sessions, this.nodeCount);
      this.headWritten = true;
    }
    const capture = this.capture;
    while (w.size < bytes) {
      if (!capture.next()) {
        assert(this.nodesWritten === this.nodeCount, "every captured node is in the snapshot");
        this.finished = true;
        this.release();
        break;
      }
      writeSnapshotNode(w, capture.path, capture.node);
      this.nodesWritten++;
    }
    const piece = w.finish();
    this.bodyCrc = crc32(piece, this.bodyCrc);
    return piece;
  }

  /** The snapshot's first bytes, written last: they carry the whole body's checksum. */
  header(): Uint8Array {
    assert(this.finished, "the header follows the last piece");
    return new ByteWriter(snapshotHeaderBytes)
      .u32(snapshotMagic)
      .u32(snapshotVersion)
      .u32(this.bodyCrc)
      .finish();
  }

  /** Gives up (or finishes): the tree no longer keeps copies for this encoder. */
  release(): void {
    this.capture.release();
  }
}

/** Magic, version and the body's CRC-32. */
export const snapshotHeaderBytes = 12;

function snapshotHeadBytes(sessionCount: number): number {
  return 8 + 8 + 4 + 12 * sessionCount + 4;
}

function writeSnapshotHead(
  w: ByteWriter,
  lastZxid: Zxid,
  digest: bigint,
  sessions: ReadonlyMap<SessionId, number>,
  nodeCount: number,
): void {
  w.i64(lastZxid).i64(digest).u32(sessions.size);
  for (const [id, timeoutMs] of sessions) w.i64(id).u32(timeoutMs);
  w.u32(nodeCount);
}

function writeSnapshotNode(w: ByteWriter, path: string, node: ZNode): void {
  w.string(path).nullableBytes(node.data);
  writeAcl(w, node.acl);
  w.i64(node.czxid).i64(node.mzxid).i64(node.pzxid).int53(node.ctime).int53(node.mtime);
  w.i32(node.version).i32(node.cversion).i32(node.aversion).i64(node.ephemeralOwner);
}

/** What writeSnapshotNode writes; `aclSizes` remembers each interned ACL list's size. */
function snapshotNodeBytes(
  path: string,
  node: ZNode,
  aclSizes: Map<readonly Acl[], number>,
): number {
  let aclSize = aclSizes.get(node.acl);
  if (aclSize === undefined) {
    aclSize = 4;
    for (const { id } of node.acl) aclSize += 12 + utf8Length(id.scheme) + utf8Length(id.id);
    aclSizes.set(node.acl, aclSize);
  }
  return 4 + utf8Length(path) + 4 + dataLength(node.data) + aclSize + 5 * 8 + 3 * 4 + 8;
}

/** Checks a snapshot's header and checksum (what damage on disk breaks); returns its body. */
export function checkSnapshot(bytes: Uint8Array): Uint8Array {
  const header = new ByteReader(bytes);
  if (header.u32() !== snapshotMagic) throw new DecodeError("not a snapshot");
  if (!readableSnapshotVersions.has(header.u32())) {
    throw new DecodeError("unknown snapshot version");
  }
  const checksum = header.u32();
  const body = bytes.subarray(header.offset);
  if (crc32(body) !== checksum) throw new DecodeError("snapshot checksum mismatch");
  return body;
}

/**
 * Restores a snapshot; throws DecodeError if it is damaged (checksum, format or digest).
 * A million znodes restore here on every start, so the loop allocates only what the tree keeps:
 * data goes into shared slabs, equal zxids share one BigInt, runs of equal ACL bytes share one
 * decoded list, and each node object is built once in the tree's own shape.
 */
export function decodeSnapshot(
  bytes: Uint8Array,
  options: { extendedTypesEnabled: boolean },
): Database {
  const r = new ByteReader(checkSnapshot(bytes), new ByteSlab(bytes.length));
  const db = new Database(options);
  const lastZxid = zxid(r.i64());
  const digest = r.i64();
  const sessionCount = r.u32();
  for (let i = 0; i < sessionCount; i++) db.sessions.set(sessionId(r.i64()), r.u32());
  const nodeCount = r.u32();
  let aclBytes: Uint8Array | undefined;
  let acl: readonly Acl[] = [];
  for (let i = 0; i < nodeCount; i++) {
    const path = r.string();
    const data = r.nullableBytes();
    if (aclBytes !== undefined && r.startsWith(aclBytes)) {
      r.offset += aclBytes.length;
    } else {
      const aclStart = r.offset;
      acl = db.tree.internAcl(readAcl(r));
      aclBytes = r.viewSince(aclStart);
    }
    const czxid = zxid(r.i64());
    const m = r.i64();
    const p = r.i64();
    const mzxid = m === czxid ? czxid : zxid(m);
    const pzxid = p === czxid ? czxid : p === mzxid ? mzxid : zxid(p);
    const ctime = r.int53();
    const mtime = r.int53();
    const version = r.i32();
    const cversion = r.i32();
    const aversion = r.i32();
    const owner = r.i64();
    db.tree.restoreNode(path, {
      data,
      acl,
      czxid,
      mzxid,
      pzxid,
      ctime,
      mtime,
      version,
      cversion,
      aversion,
      ephemeralOwner: owner === 0n ? noOwner : owner,
      children: null,
      hashHigh: 0,
      hashLow: 0,
      hashStale: false,
    });
  }
  db.lastZxid = lastZxid;
  if (BigInt.asIntN(64, db.tree.digest()) !== digest)
    throw new DecodeError("snapshot digest mismatch");
  assert(db.tree.size === nodeCount, "every snapshot node restored");
  return db;
}

/** One BigInt for every znode without an owner, not one per node. */
const noOwner = 0n;
