// The replication protocol on the wire between servers: each PeerMessage as one frame in the
// project's own binary format (the core's ByteWriter/ByteReader; txns in the log record encoding).
// Pure over Uint8Array, so it is fuzzed and round-trip tested without sockets.

import { ByteReader, ByteWriter, DecodeError } from "../core/codec.ts";
import type { ForwardedWork, PeerMessage, ServerState, Vote } from "../core/replica/index.ts";
import { frame, pooledBytes, writeLength } from "./framing.ts";
import { decodeTxnKeepingBytes, txnBytes } from "./txn-bytes.ts";
import type { Txn } from "../core/txn.ts";
import type { Acl, Id } from "../core/types.ts";
import { sessionId, zxid } from "../core/types.ts";
import { decodeWriteRequest, encodeWriteRequest } from "./peer-requests.ts";

const types = [
  "NOTIFICATION",
  "FOLLOWERINFO",
  "LEADERINFO",
  "ACKEPOCH",
  "SYNC",
  "NEWLEADER",
  "UPTODATE",
  "PROPOSAL",
  "ACK",
  "COMMIT",
  "PING",
  "PONG",
  "FORWARD",
  "FORWARD_REPLY",
  "SESSION_MOVED",
] as const;
const states: ServerState[] = ["looking", "following", "leading"];
const workKinds = ["write", "createSession", "closeSession", "revalidate", "sync"] as const;

// The bytes a follower received become its log record's and snapshotter's (txn-bytes.ts); a frame
// is a buffer of its own (framing.ts), so the view stays valid.
const writeTxn = (w: ByteWriter, txn: Txn) => w.bytes(txnBytes(txn));
const readTxn = (r: ByteReader) => decodeTxnKeepingBytes(r.bytesView());
const writeVote = (w: ByteWriter, v: Vote) => w.i32(v.leader).i32(v.epoch).i64(v.zxid);
const readVote = (r: ByteReader): Vote => ({
  leader: r.i32(),
  epoch: r.i32(),
  zxid: zxid(r.i64()),
});

/**
 * A message framed for the wire (framing.ts). A PROPOSAL, the hot one, is laid out in one buffer
 * around its txn's shared bytes, with none of the general encoder's intermediate copies.
 */
const proposalType = types.indexOf("PROPOSAL");

export function encodePeerFrame(m: PeerMessage): Uint8Array {
  if (m.type !== "PROPOSAL") return frame(encodePeerMessage(m));
  const txn = txnBytes(m.txn);
  const out = pooledBytes(4 + 1 + 4 + txn.length);
  writeLength(out, 0, 1 + 4 + txn.length);
  out[4] = proposalType;
  writeLength(out, 5, txn.length);
  out.set(txn, 9);
  return out;
}

export function encodePeerMessage(m: PeerMessage): Uint8Array {
  // Sized for a snapshot up front: growing by doubling would copy a large one many times over.
  const w = new ByteWriter(
    m.type === "SYNC" && m.snapshot !== undefined ? m.snapshot.length + 4096 : 64,
    pooledBytes,
  ).u8(types.indexOf(m.type));
  switch (m.type) {
    case "NOTIFICATION":
      writeVote(w, m.vote);
      w.i32(m.round).u8(states.indexOf(m.state));
      break;
    case "FOLLOWERINFO":
      w.i32(m.attempt).i32(m.acceptedEpoch).i64(m.lastZxid);
      break;
    case "LEADERINFO":
      w.i32(m.attempt).i32(m.epoch);
      break;
    case "ACKEPOCH":
      w.i32(m.attempt).i32(m.epoch).i32(m.currentEpoch).i64(m.lastZxid);
      break;
    case "SYNC":
      if (m.snapshotAt !== undefined && m.snapshot === undefined)
        throw new Error("a SYNC naming a snapshot is sent only once its bytes are filled in");
      w.i32(m.attempt)
        .i32(m.epoch)
        .u8(m.truncZxid === undefined ? 0 : 1)
        .i64(m.truncZxid ?? 0n);
      w.u8(m.snapshot === undefined ? 0 : 1)
        .bytes(m.snapshot ?? new Uint8Array(0))
        .i64(m.committedZxid)
        .u32(m.txns.length);
      for (const txn of m.txns) writeTxn(w, txn);
      break;
    case "NEWLEADER":
      w.i32(m.attempt).i32(m.epoch).i64(m.zxid);
      break;
    case "UPTODATE":
      w.i32(m.attempt).i64(m.committedZxid);
      break;
    case "PROPOSAL":
      writeTxn(w, m.txn);
      break;
    case "ACK":
      w.i32(m.attempt).i32(m.epoch).i64(m.zxid);
      break;
    case "COMMIT":
      w.i64(m.zxid);
      break;
    case "PING":
      w.i32(m.epoch).i32(m.round);
      break;
    case "PONG":
      w.i32(m.epoch).i32(m.round).u32(m.touched.length);
      for (const s of m.touched) w.i64(s);
      break;
    case "FORWARD":
      writeWork(w, m.work);
      break;
    case "FORWARD_REPLY":
      w.i32(m.tag)
        .u8(m.ok ? 1 : 0)
        .i64(m.zxid);
      break;
    case "SESSION_MOVED":
      w.i64(m.sessionId);
      break;
  }
  return w.finish();
}

function writeIds(w: ByteWriter, ids: readonly Id[]): void {
  w.u32(ids.length);
  for (const id of ids) w.string(id.scheme).string(id.id);
}

function readIds(r: ByteReader): Id[] {
  const count = bounded(r, r.u32());
  return Array.from({ length: count }, () => ({ scheme: r.string(), id: r.string() }));
}

function writeWork(w: ByteWriter, work: ForwardedWork): void {
  w.u8(workKinds.indexOf(work.kind));
  switch (work.kind) {
    case "write":
      w.i64(work.sessionId).i32(work.cxid);
      writeIds(w, work.authIds);
      w.bytes(encodeWriteRequest(work.request));
      return;
    case "createSession":
      w.i32(work.tag).u32(work.timeoutMs);
      return;
    case "closeSession":
      w.i64(work.sessionId).i32(work.cxid);
      return;
    case "revalidate":
      w.i32(work.tag).i64(work.sessionId);
      return;
    case "sync":
      w.i32(work.tag);
      return;
  }
}

function readWork(r: ByteReader): ForwardedWork {
  const kind = workKinds[r.u8()];
  switch (kind) {
    case "write":
      return {
        kind,
        sessionId: sessionId(r.i64()),
        cxid: r.i32(),
        authIds: readIds(r),
        request: decodeWriteRequest(r.bytes()),
      };
    case "createSession":
      return { kind, tag: r.i32(), timeoutMs: r.u32() };
    case "closeSession":
      return { kind, sessionId: sessionId(r.i64()), cxid: r.i32() };
    case "revalidate":
      return { kind, tag: r.i32(), sessionId: sessionId(r.i64()) };
    case "sync":
      return { kind, tag: r.i32() };
    default:
      throw new DecodeError("unknown forwarded work");
  }
}

/** A count read from the wire can never exceed the bytes left (each element takes at least one). */
function bounded(r: ByteReader, count: number): number {
  if (count > r.remaining) throw new DecodeError("count exceeds frame");
  return count;
}

export function decodePeerMessage(bytes: Uint8Array): PeerMessage {
  const r = new ByteReader(bytes);
  const message = readMessage(r);
  if (r.remaining !== 0) throw new DecodeError("trailing bytes in peer message");
  return message;
}

function readMessage(r: ByteReader): PeerMessage {
  const type = types[r.u8()];
  switch (type) {
    case "NOTIFICATION": {
      const vote = readVote(r);
      const round = r.i32();
      const state = states[r.u8()];
      if (state === undefined) throw new DecodeError("unknown server state");
      return { type, vote, round, state };
    }
    case "FOLLOWERINFO":
      return { type, attempt: r.i32(), acceptedEpoch: r.i32(), lastZxid: zxid(r.i64()) };
    case "LEADERINFO":
      return { type, attempt: r.i32(), epoch: r.i32() };
    case "ACKEPOCH":
      return {
        type,
        attempt: r.i32(),
        epoch: r.i32(),
        currentEpoch: r.i32(),
        lastZxid: zxid(r.i64()),
      };
    case "SYNC":
      return readSync(r);
    case "NEWLEADER":
      return { type, attempt: r.i32(), epoch: r.i32(), zxid: zxid(r.i64()) };
    case "UPTODATE":
      return { type, attempt: r.i32(), committedZxid: zxid(r.i64()) };
    case "PROPOSAL":
      return { type, txn: readTxn(r) };
    case "ACK":
      return { type, attempt: r.i32(), epoch: r.i32(), zxid: zxid(r.i64()) };
    case "COMMIT":
      return { type, zxid: zxid(r.i64()) };
    case "PING":
      return { type, epoch: r.i32(), round: r.i32() };
    case "PONG": {
      const epoch = r.i32();
      const round = r.i32();
      const count = bounded(r, r.u32());
      return {
        type,
        epoch,
        round,
        touched: Array.from({ length: count }, () => sessionId(r.i64())),
      };
    }
    case "FORWARD":
      return { type, work: readWork(r) };
    case "FORWARD_REPLY":
      return { type, tag: r.i32(), ok: r.u8() === 1, zxid: zxid(r.i64()) };
    case "SESSION_MOVED":
      return { type, sessionId: sessionId(r.i64()) };
    default:
      throw new DecodeError("unknown peer message type");
  }
}

function readSync(r: ByteReader): PeerMessage {
  const attempt = r.i32();
  const epoch = r.i32();
  const hasTrunc = r.u8() === 1;
  const trunc = zxid(r.i64());
  const hasSnapshot = r.u8() === 1;
  const snapshot = r.bytes();
  const committedZxid = zxid(r.i64());
  const count = bounded(r, r.u32());
  const txns = Array.from({ length: count }, () => readTxn(r));
  return {
    type: "SYNC",
    attempt,
    epoch,
    committedZxid,
    txns,
    ...(hasTrunc ? { truncZxid: trunc } : {}),
    ...(hasSnapshot ? { snapshot } : {}),
  };
}

export type { Acl };
