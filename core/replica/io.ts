// The replica's inputs and effects: everything that enters `step` and everything that leaves it.
//
// ORDERING CONTRACT for harnesses (etcd-io/raft's Ready, adapted):
// 1. Effects are returned in the order they must take effect. Within one step's effects, a
//    `persist` must be durable (written and fsynced) before the harness reports `persistDone` with
//    its id; the core itself never emits an acknowledgement that depends on a persist before that
//    report. Persists complete in issue order, so `persistDone` with an id reports that one and
//    every earlier one: a harness whose one fsync covered many persists reports the last, and the
//    core acknowledges them with one ACK (cumulative, as the leader counts ACKs) instead of many.
// 2. `send` effects to the same peer are delivered in order (FIFO), or the connection breaks and
//    both ends get `peerDown`. Messages to different peers carry no mutual order.
// 3. `reply`, `watchEvent` and `closeConnection` effects for one client connection are delivered in
//    the order emitted: a watch event is always emitted before any reply that reflects its change.
// 4. `setTimer` replaces any earlier timer: call `tick` with `now >= atMs` (ticks may come earlier
//    too).
// 5. Every step is given the harness's clock at the moment the input is delivered (`step`'s
//    `nowMs`): the core dates sessions, znodes and deadlines with it, never with the time of an
//    earlier tick, so a touch is never dated in the past (that expired sessions early).
// 6. A harness may deliver several inputs between steps in any order it likes, but never
//    concurrently: `step` owns the state it is given until it returns.
// 7. A `send` of a SYNC with `snapshotAt` carries no snapshot bytes: the harness puts in the
//    snapshot of the sender's tree at exactly that zxid (`withSnapshot` encodes it from a tree at
//    that zxid; the step's own state is one when the step returns) and sends it in its FIFO place,
//    holding later messages to that peer until it is out. If it cannot, it breaks the connection.

import { assert } from "../assert.ts";
import type { Database } from "../database.ts";
import type { Reply, Request } from "../requests.ts";
import { encodeSnapshot } from "../storage.ts";
import type { Txn } from "../txn.ts";
import type { Id, SessionId, Zxid } from "../types.ts";
import { hex } from "../types.ts";
import { errName } from "../errors.ts";
import type { WatchEvent } from "../watches.ts";
import { eventTypeName } from "../watches.ts";
import type { NodeId, PeerMessage } from "./messages.ts";
import { describeMessage } from "./messages.ts";
import type { ReplicaStatus } from "./status.ts";

export type ConnId = number;

/** What a node finds on its disk at start (recovery). */
export interface DurableState {
  acceptedEpoch: number;
  currentEpoch: number;
  /** The latest valid snapshot, if any. */
  snapshot: Uint8Array | undefined;
  /** Log records after the snapshot, torn tail already dropped (storage.ts decodeLog). */
  log: readonly Txn[];
}

export type Input =
  /** The timer `setTimer` asked for is due (or earlier; see rule 4). */
  | { type: "tick" }
  | { type: "peerMessage"; from: NodeId; message: PeerMessage }
  | { type: "peerUp"; peer: NodeId }
  | { type: "peerDown"; peer: NodeId }
  /** Persist `id` and every one issued before it are durable (rule 1). */
  | { type: "persistDone"; id: number }
  | {
      type: "clientConnect";
      connId: ConnId;
      clientAddr: string;
      sessionId: SessionId;
      password: Uint8Array;
      timeoutMs: number;
      lastZxidSeen: Zxid;
    }
  | { type: "clientRequest"; connId: ConnId; xid: number; request: ClientOp }
  | { type: "clientDisconnect"; connId: ConnId };

/** Everything a connected client can send after the handshake. */
export type ClientOp =
  | Request
  | { op: "ping" }
  | { op: "auth"; scheme: string; credentials: string }
  | { op: "closeSession" }
  /**
   * An opcode this server does not implement; answered in order with `err` (UNIMPLEMENTED, ...).
   */
  | { op: "unsupported"; opcode: number; err: number }
  | { op: "addWatch"; path: string; mode: number }
  | { op: "removeWatches"; path: string; watcherType: number }
  | { op: "checkWatches"; path: string; watcherType: number }
  | {
      op: "setWatches";
      relativeZxid: Zxid;
      data: readonly string[];
      exist: readonly string[];
      child: readonly string[];
      persistent: readonly string[];
      persistentRecursive: readonly string[];
    };

/** One durable write; a persist effect carries them in order. */
export type DiskWrite =
  | { kind: "append"; txns: readonly Txn[] }
  /** Drop every log record after `zxid` (TRUNC of an uncommitted tail). */
  | { kind: "truncate"; zxid: Zxid }
  | { kind: "epochs"; acceptedEpoch: number; currentEpoch: number }
  /** A snapshot at `zxid`; log records up to it may be purged once it is durable. */
  | { kind: "snapshot"; zxid: Zxid; bytes: Uint8Array; replaceLog: boolean };

export type Effect =
  | { type: "send"; to: NodeId; message: PeerMessage }
  | { type: "persist"; id: number; writes: readonly DiskWrite[] }
  | {
      type: "connectResponse";
      connId: ConnId;
      sessionId: SessionId;
      timeoutMs: number;
      password: Uint8Array;
    }
  /**
   * The answer to `op`, the request as the client sent it (its reply's wire shape depends on it).
   */
  | { type: "reply"; connId: ConnId; xid: number; op: ClientOp; reply: Reply }
  | { type: "watchEvent"; connId: ConnId; event: WatchEvent }
  | { type: "closeConnection"; connId: ConnId; reason: string }
  | { type: "setTimer"; atMs: number }
  /** Committed txns this step applied to the tree, in order; applied txns never roll back. */
  | { type: "applied"; txns: readonly Txn[] }
  /**
   * The tree now stands at `zxid` without the txns in between having been applied one by one: at
   * start (recovered from disk) or after a SNAP from the leader replaced it.
   */
  | { type: "treeReplaced"; zxid: Zxid; reason: "recovered" | "snapshot" }
  /**
   * The leader expired a session: nothing was heard of it for `silentMs` of the leader's clock
   * (at least its timeout). Its closeSession txn, `zxid`, was proposed in the same step.
   */
  | {
      type: "sessionExpired";
      sessionId: SessionId;
      timeoutMs: number;
      silentMs: number;
      zxid: Zxid;
      ephemerals: number;
    }
  /** The replica's role, phase, epoch or leader changed (and once at start). */
  | { type: "status"; status: ReplicaStatus };

/**
 * A send's message with the snapshot a SYNC names (by `snapshotAt`) encoded from `db`, which must
 * be at that zxid.
 */
export function withSnapshot(message: PeerMessage, db: Database): PeerMessage {
  if (message.type !== "SYNC" || message.snapshotAt === undefined) return message;
  assert(
    db.lastZxid === message.snapshotAt,
    `the tree encoded for SYNC is at ${hex(message.snapshotAt)} (it is at ${hex(db.lastZxid)})`,
  );
  const { snapshotAt: _named, ...rest } = message;
  return { ...rest, snapshot: encodeSnapshot(db) };
}

/** True for a SYNC whose snapshot the harness must still encode. */
export function needsSnapshot(
  message: PeerMessage,
): message is Extract<PeerMessage, { type: "SYNC" }> & { snapshotAt: Zxid } {
  return message.type === "SYNC" && message.snapshotAt !== undefined;
}

export function describeInput(node: NodeId, input: Input, nowMs: number): string {
  switch (input.type) {
    case "tick":
      return `${node} tick now=${nowMs}`;
    case "peerMessage":
      return `${input.from}->${node} ${describeMessage(input.message)}`;
    case "peerUp":
      return `${node} peerUp ${input.peer}`;
    case "peerDown":
      return `${node} peerDown ${input.peer}`;
    case "persistDone":
      return `${node} persistDone ${input.id}`;
    case "clientConnect":
      return (
        `${node} connect c${input.connId} s=${hex(input.sessionId)} ` +
        `last=${hex(input.lastZxidSeen)}`
      );
    case "clientRequest":
      return `${node} request c${input.connId} xid=${input.xid} ${describeClientOp(input.request)}`;
    case "clientDisconnect":
      return `${node} disconnect c${input.connId}`;
  }
}

export function describeClientOp(op: ClientOp): string {
  return "path" in op ? `${op.op} ${op.path}` : op.op;
}

export function describeEffect(node: NodeId, effect: Effect): string {
  switch (effect.type) {
    case "send":
      return `${node}->${effect.to} ${describeMessage(effect.message)}`;
    case "persist":
      return `${node} persist ${effect.id} [${effect.writes.map(describeWrite).join(", ")}]`;
    case "connectResponse":
      return (
        `${node} connected c${effect.connId} s=${hex(effect.sessionId)} ` +
        `timeout=${effect.timeoutMs}`
      );
    case "reply": {
      const r = effect.reply;
      const outcome = r.err === 0 ? "ok" : errName(r.err);
      return `${node} reply c${effect.connId} xid=${effect.xid} ${outcome} zxid=${hex(r.zxid)}`;
    }
    case "watchEvent":
      return (
        `${node} event c${effect.connId} ${eventTypeName(effect.event.type)} ` +
        `${effect.event.path} zxid=${hex(effect.event.zxid)}`
      );
    case "closeConnection":
      return `${node} close c${effect.connId} (${effect.reason})`;
    case "setTimer":
      return `${node} timer at=${effect.atMs}`;
    case "applied": {
      const first = effect.txns[0];
      const last = effect.txns[effect.txns.length - 1];
      const range =
        first === last ? hex(first?.zxid ?? 0n) : `${hex(first!.zxid)}..${hex(last!.zxid)}`;
      return `${node} applied ${effect.txns.length} (${range})`;
    }
    case "treeReplaced":
      return `${node} tree at ${hex(effect.zxid)} (${effect.reason})`;
    case "sessionExpired":
      return (
        `${node} expired s=${hex(effect.sessionId)} silent=${effect.silentMs}ms ` +
        `zxid=${hex(effect.zxid)}`
      );
    case "status": {
      const { role, phase, epoch, leader } = effect.status;
      return `${node} status ${role} ${phase} epoch=${epoch} leader=${leader ?? "-"}`;
    }
  }
}

/**
 * Effects the simulator's trace leaves out: timers, and what the core reports of itself (applied
 * txns, status), which the trace already shows through the inputs and effects that caused them.
 */
export function isTraced(effect: Effect): boolean {
  return (
    effect.type !== "setTimer" &&
    effect.type !== "applied" &&
    effect.type !== "treeReplaced" &&
    effect.type !== "status" &&
    effect.type !== "sessionExpired"
  );
}

function describeWrite(w: DiskWrite): string {
  switch (w.kind) {
    case "append":
      return w.txns.length === 1
        ? `append ${hex(w.txns[0]!.zxid)}`
        : `append ${w.txns.length} txns`;
    case "truncate":
      return `truncate after ${hex(w.zxid)}`;
    case "epochs":
      return `epochs accepted=${w.acceptedEpoch} current=${w.currentEpoch}`;
    case "snapshot":
      return `snapshot ${hex(w.zxid)}${w.replaceLog ? " (replaces log)" : ""}`;
  }
}

export type { Id };
