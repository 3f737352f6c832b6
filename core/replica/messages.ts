// Messages between replicas (Zab: election, discovery, synchronization, broadcast) and the
// forwarding of client work from followers to the leader. Peer connections are FIFO and lose
// messages only when they break; a break is reported to both ends (peerDown).

import type { Id, SessionId, Zxid } from "../types.ts";
import { hex } from "../types.ts";
import type { Txn } from "../txn.ts";
import { describeTxn } from "../txn.ts";
import type { WriteRequest } from "../requests.ts";

export type NodeId = number;
export type ServerState = "looking" | "following" | "leading";

/** A vote: who should lead, and the (epoch, zxid) that candidate reported. */
export interface Vote {
  leader: NodeId;
  epoch: number;
  zxid: Zxid;
}

/** Client work a follower hands to the leader; `origin` routes the outcome back. */
export type ForwardedWork =
  | {
      kind: "write";
      sessionId: SessionId;
      cxid: number;
      request: WriteRequest;
      authIds: readonly Id[];
    }
  | { kind: "createSession"; tag: number; timeoutMs: number }
  | { kind: "closeSession"; sessionId: SessionId; cxid: number }
  | { kind: "revalidate"; tag: number; sessionId: SessionId }
  | { kind: "sync"; tag: number };

export type PeerMessage =
  | { type: "NOTIFICATION"; vote: Vote; round: number; state: ServerState }
  /**
   * `attempt` numbers each time a follower starts following; the leader echoes it in every
   * handshake reply and drops handshake messages of an older attempt still in flight on the link.
   */
  | { type: "FOLLOWERINFO"; attempt: number; acceptedEpoch: number; lastZxid: Zxid }
  | { type: "LEADERINFO"; attempt: number; epoch: number }
  /** `epoch` is the LEADERINFO epoch being acknowledged: a leader ignores acks of another term. */
  | { type: "ACKEPOCH"; attempt: number; epoch: number; currentEpoch: number; lastZxid: Zxid }
  /**
   * Synchronization: TRUNC the log to `truncZxid` (if set), or replace everything with `snapshot`
   * (SNAP), then append `txns` (DIFF). Txns up to `committedZxid` are known committed.
   * A leader's step names the snapshot by `snapshotAt` (its applied zxid) instead of encoding it:
   * serializing a large tree takes seconds, so the harness fills in `snapshot` (see io.ts).
   */
  | {
      type: "SYNC";
      attempt: number;
      epoch: number;
      truncZxid?: Zxid;
      snapshot?: Uint8Array;
      snapshotAt?: Zxid;
      txns: readonly Txn[];
      committedZxid: Zxid;
    }
  | { type: "NEWLEADER"; attempt: number; epoch: number; zxid: Zxid }
  | { type: "UPTODATE"; attempt: number; committedZxid: Zxid }
  | { type: "PROPOSAL"; txn: Txn }
  /** Cumulative: every txn up to `zxid` is durable on the sender. */
  | { type: "ACK"; attempt: number; epoch: number; zxid: Zxid }
  /** Cumulative: every txn up to `zxid` is committed. */
  | { type: "COMMIT"; zxid: Zxid }
  | { type: "PING"; epoch: number; round: number }
  /** Answers PING; carries the sessions whose clients this follower heard from since last time. */
  | { type: "PONG"; epoch: number; round: number; touched: readonly SessionId[] }
  | { type: "FORWARD"; work: ForwardedWork }
  /** Outcome of forwarded work that produces no txn (revalidate, sync). */
  | { type: "FORWARD_REPLY"; tag: number; ok: boolean; zxid: Zxid }
  /** The session moved to another server; the old server drops its connection. */
  | { type: "SESSION_MOVED"; sessionId: SessionId };

export function describeVote(vote: Vote): string {
  return `(${vote.leader}, e${vote.epoch}, ${hex(vote.zxid)})`;
}

export function describeMessage(m: PeerMessage): string {
  switch (m.type) {
    case "NOTIFICATION":
      return `NOTIFICATION vote=${describeVote(m.vote)} round=${m.round} ${m.state}`;
    case "FOLLOWERINFO":
      return `FOLLOWERINFO accepted=${m.acceptedEpoch} last=${hex(m.lastZxid)}`;
    case "LEADERINFO":
      return `LEADERINFO epoch=${m.epoch}`;
    case "ACKEPOCH":
      return `ACKEPOCH current=${m.currentEpoch} last=${hex(m.lastZxid)}`;
    case "SYNC": {
      const mode =
        m.snapshot !== undefined || m.snapshotAt !== undefined
          ? "SNAP"
          : m.truncZxid !== undefined
            ? `TRUNC(${hex(m.truncZxid)})+DIFF`
            : "DIFF";
      return `SYNC ${mode} txns=${m.txns.length} committed=${hex(m.committedZxid)}`;
    }
    case "NEWLEADER":
      return `NEWLEADER epoch=${m.epoch} zxid=${hex(m.zxid)}`;
    case "UPTODATE":
      return `UPTODATE committed=${hex(m.committedZxid)}`;
    case "PROPOSAL":
      return `PROPOSAL ${describeTxn(m.txn)}`;
    case "ACK":
      return `ACK zxid=${hex(m.zxid)}`;
    case "COMMIT":
      return `COMMIT zxid=${hex(m.zxid)}`;
    case "PING":
      return `PING round=${m.round}`;
    case "PONG":
      return `PONG round=${m.round} touched=${m.touched.length}`;
    case "FORWARD":
      return `FORWARD ${describeWork(m.work)}`;
    case "FORWARD_REPLY":
      return `FORWARD_REPLY tag=${m.tag} ${m.ok ? "ok" : "refused"} zxid=${hex(m.zxid)}`;
    case "SESSION_MOVED":
      return `SESSION_MOVED s=${hex(m.sessionId)}`;
  }
}

function describeWork(w: ForwardedWork): string {
  switch (w.kind) {
    case "write": {
      const path = "path" in w.request ? w.request.path : "";
      return `write s=${hex(w.sessionId)} cxid=${w.cxid} ${w.request.op} ${path}`.trimEnd();
    }
    case "createSession":
      return `createSession tag=${w.tag} timeout=${w.timeoutMs}ms`;
    case "closeSession":
      return `closeSession s=${hex(w.sessionId)}`;
    case "revalidate":
      return `revalidate tag=${w.tag} s=${hex(w.sessionId)}`;
    case "sync":
      return `sync tag=${w.tag}`;
  }
}
