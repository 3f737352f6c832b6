// What the server tells its operator at info level: election results and leader changes, followers
// joining and how they were synced, sessions created, moved, closed and expired, connections
// refused. The core is pure and cannot log, so all of it is read off the inputs the server hands it
// and the effects it returns (plus the small status view of replica-status.ts). At debug level,
// every input and effect in the simulator's trace vocabulary (core/replica/io.ts), which names
// sessions, paths and zxids but never a password, a credential or data.

import type { ClientOp, ConnId, Effect, Input } from "../core/replica/io.ts";
import { describeInput, describeEffect } from "../core/replica/io.ts";
import type { NodeId, PeerMessage } from "../core/replica/messages.ts";
import type { Txn } from "../core/txn.ts";
import type { SessionId, Zxid } from "../core/types.ts";
import type { Logger } from "./log.ts";
import type { ReplicaStatus } from "./replica-status.ts";

/** A client connection as the server holds it, before the step's effects are carried out. */
export interface ConnView {
  remote: string;
  connected: boolean;
  sessionId: bigint | undefined;
  /** The session the client asked for in its ConnectRequest (0 for a new one). */
  requestedSessionId: bigint;
  lastHeardMs: number;
  /** Requests sent and not yet answered. */
  pending: readonly { xid: number; op: ClientOp }[];
}

export interface EventSources {
  conn(connId: ConnId): ConnView | undefined;
  connOfSession(id: SessionId): ConnView | undefined;
  status(): ReplicaStatus;
  sessionTimeoutMs(id: SessionId): number | undefined;
}

type Sync = Extract<PeerMessage, { type: "SYNC" }>;
type Close = Extract<Effect, { type: "closeConnection" }>;

const lostLeaderPrefix = "server lost its leader: ";
/** More connections than this closed for one reason in one step get one line between them. */
const closesListedMax = 3;

export class EventLog {
  /** Debug lines cost string building; decided once, so info level pays one boolean test. */
  readonly debug: boolean;
  private status: ReplicaStatus;
  private lookingSinceMs: number;
  private servingSinceMs: number;
  // What a leader gathers to describe an expiry; cleared at every role change.
  /** When the leader last heard of each session: its own clients' packets, PONGs, FORWARDs. */
  private readonly heard = new Map<SessionId, number>();
  private lastPruneMs: number;
  /** closeSession requests that followers forwarded: their txn is a close, not an expiry. */
  private readonly forwardedCloses = new Map<SessionId, number>();
  /** The last zxid each follower reported when it joined (ACKEPOCH). */
  private readonly followerZxid = new Map<NodeId, Zxid>();
  /** Sessions attached to a connection in the step being read (the server's index lags by one). */
  private readonly attachedNow = new Map<SessionId, ConnId>();

  constructor(
    private readonly log: Logger,
    private readonly id: NodeId,
    private readonly sources: EventSources,
    private readonly maxSessionTimeoutMs: number,
    nowMs: number,
  ) {
    this.debug = log.enabled?.("debug") ?? false;
    this.status = sources.status();
    this.lookingSinceMs = nowMs;
    this.servingSinceMs = nowMs;
    this.lastPruneMs = nowMs;
  }

  /** Before the core takes `input`. */
  input(input: Input, nowMs: number): void {
    if (this.debug) this.log("debug", "input", { trace: describeInput(this.id, input, nowMs) });
    if (input.type === "peerMessage") this.peerMessage(input.from, input.message, nowMs);
    else if (input.type === "tick") this.prune(nowMs);
  }

  /** After a step, before its effects are carried out: connections are as the step found them. */
  effects(input: Input | undefined, effects: readonly Effect[], nowMs: number): void {
    if (this.debug) {
      for (const e of effects) this.log("debug", "effect", { trace: describeEffect(this.id, e) });
    }
    const status = this.sources.status();
    this.statusChanged(input, status, effects, nowMs);
    // Allocated only in the rare steps that connect or close clients: this runs every step.
    let closes: Close[] | undefined;
    let connectedNow: Set<ConnId> | undefined;
    if (this.attachedNow.size > 0) this.attachedNow.clear();
    for (const effect of effects) {
      switch (effect.type) {
        case "send":
          this.sent(effect.to, effect.message);
          break;
        case "persist":
          if (status.role !== "leading") break;
          for (const write of effect.writes) {
            if (write.kind === "append") for (const txn of write.txns) this.proposed(txn, nowMs);
          }
          break;
        case "connectResponse":
          if (effect.timeoutMs > 0) {
            (connectedNow ??= new Set()).add(effect.connId);
            this.attachedNow.set(effect.sessionId, effect.connId);
          }
          this.connected(effect);
          break;
        case "closeConnection":
          (closes ??= []).push(effect);
          break;
        default:
          break;
      }
    }
    if (closes !== undefined) this.closed(closes, connectedNow ?? new Set(), nowMs);
  }

  /** A client connection with a session went away: a leader keeps when it last heard from it. */
  disconnected(id: SessionId, lastHeardMs: number): void {
    if (this.status.role !== "leading") return;
    this.heard.set(id, Math.max(this.heard.get(id) ?? -Infinity, lastHeardMs));
  }

  /** A SNAP sync went out once its snapshot was encoded (off the event loop). */
  snapshotSent(to: NodeId, message: Sync, snapshotBytes: number, encodeMs: number): void {
    this.log("info", "follower joining", {
      follower: to, sync: "SNAP", epoch: message.epoch, followerZxid: this.followerZxid.get(to),
      snapshotBytes, encodeMs: Math.round(encodeMs), txns: message.txns.length,
      committedZxid: message.committedZxid,
    });
  }

  private peerMessage(from: NodeId, m: PeerMessage, nowMs: number): void {
    const leading = this.status.role === "leading";
    switch (m.type) {
      case "ACKEPOCH":
        if (leading) this.followerZxid.set(from, m.lastZxid);
        return;
      case "PONG":
        if (leading) for (const id of m.touched) this.heard.set(id, nowMs);
        return;
      case "FORWARD":
        if (!leading || !("sessionId" in m.work)) return;
        this.heard.set(m.work.sessionId, nowMs);
        if (m.work.kind === "closeSession") {
          this.forwardedCloses.set(m.work.sessionId, m.work.cxid);
        }
        return;
      case "SYNC":
        if (this.status.role !== "following" || this.status.leader !== from) return;
        this.log("info", "syncing with leader", {
          leader: from, sync: syncKind(m), epoch: m.epoch, zxid: this.status.lastZxid,
          truncZxid: m.truncZxid, snapshotBytes: m.snapshot?.length, txns: m.txns.length,
          committedZxid: m.committedZxid,
        });
        return;
      default:
        return;
    }
  }

  private statusChanged(
    input: Input | undefined, status: ReplicaStatus, effects: readonly Effect[], nowMs: number,
  ): void {
    const before = this.status;
    this.status = status;
    if (status.role !== before.role || status.leader !== before.leader) {
      this.heard.clear();
      this.forwardedCloses.clear();
      this.followerZxid.clear();
      if (status.role === "looking") {
        this.lookingSinceMs = nowMs;
        this.log("info", "looking for a leader", {
          was: before.role, epoch: status.epoch, zxid: status.lastZxid,
          reason: lookingReason(this.id, input, effects, nowMs),
        });
      } else {
        this.log("info", "election finished", {
          role: status.role, leader: status.leader, epoch: status.epoch, zxid: status.lastZxid,
          tookMs: nowMs - this.lookingSinceMs,
        });
      }
    }
    if (status.serving && !before.serving) {
      this.servingSinceMs = nowMs;
      const where = { epoch: status.epoch, zxid: status.lastZxid };
      if (status.role === "leading") this.log("info", "leader established", where);
      else this.log("info", "following leader", { leader: status.leader, ...where });
    }
  }

  private sent(to: NodeId, m: PeerMessage): void {
    if (m.type === "SYNC") {
      if (m.snapshotAt !== undefined) return; // logged by snapshotSent once encoded, with its size
      this.log("info", "follower joining", {
        follower: to, sync: syncKind(m), epoch: m.epoch, followerZxid: this.followerZxid.get(to),
        truncZxid: m.truncZxid, snapshotBytes: m.snapshot?.length, txns: m.txns.length,
        committedZxid: m.committedZxid,
      });
    } else if (m.type === "UPTODATE") {
      this.log("info", "follower synced", { follower: to, committedZxid: m.committedZxid });
    }
  }

  /** A txn this leader proposed (its own log appends are its proposals). */
  private proposed(txn: Txn, nowMs: number): void {
    const id = txn.sessionId;
    if (txn.body.type === "createSession") {
      this.heard.set(id, nowMs);
      return;
    }
    if (txn.body.type !== "closeSession" && txn.body.type !== "error") return;
    const forwarded = this.forwardedCloses.get(id) === txn.cxid;
    if (forwarded) this.forwardedCloses.delete(id);
    if (txn.body.type === "error") return;
    // A client's own close is logged where it is connected ("session closed"); here, expiries.
    const attached = this.attachedNow.get(id);
    const local = attached === undefined
      ? this.sources.connOfSession(id)
      : this.sources.conn(attached);
    const askedHere = local?.pending.some((p) => p.op.op === "closeSession" && p.xid === txn.cxid);
    const heard = Math.max(this.heard.get(id) ?? -Infinity, local?.lastHeardMs ?? -Infinity);
    this.heard.delete(id);
    if (forwarded || askedHere === true) return;
    const lastHeard = heard === -Infinity
      ? { notHeardSinceLeadingMs: nowMs - this.servingSinceMs }
      : { sinceLastHeardMs: nowMs - heard };
    this.log("info", "session expired", {
      session: id, timeoutMs: this.sources.sessionTimeoutMs(id), ...lastHeard,
      ephemerals: txn.body.ephemerals.length, zxid: txn.zxid, client: local?.remote,
    });
  }

  private connected(effect: Extract<Effect, { type: "connectResponse" }>): void {
    const conn = this.sources.conn(effect.connId);
    if (conn === undefined || effect.timeoutMs === 0) return; // timeout 0: refused, a close follows
    const created = conn.requestedSessionId === 0n;
    this.log("info", created ? "session created" : "session reconnected", {
      session: effect.sessionId, timeoutMs: effect.timeoutMs, client: conn.remote,
    });
  }

  /** Connections the core closes, one line each, or one line per reason when many go at once. */
  private closed(closes: readonly Close[], connectedNow: ReadonlySet<ConnId>, nowMs: number): void {
    const groups = new Map<string, number>();
    for (const close of closes) groups.set(close.reason, (groups.get(close.reason) ?? 0) + 1);
    for (const [reason, count] of groups) {
      if (count > closesListedMax) this.log("info", "client connections closed", { reason, count });
    }
    for (const { connId, reason } of closes) {
      if (groups.get(reason)! > closesListedMax) continue;
      const conn = this.sources.conn(connId);
      if (conn === undefined) continue;
      const session = conn.sessionId ?? conn.requestedSessionId;
      if (!conn.connected && !connectedNow.has(connId)) {
        const asked = session === 0n ? undefined : session;
        this.log("info", "connection refused", { client: conn.remote, reason, session: asked });
      } else if (reason === "session closed by client") {
        this.log("info", "session closed", { session, client: conn.remote });
      } else if (reason === "session moved to another server") {
        this.log("info", "session moved", { session, client: conn.remote, reason });
      } else {
        this.log("info", "client connection closed", {
          session, client: conn.remote, reason, sinceLastHeardMs: nowMs - conn.lastHeardMs,
        });
      }
    }
  }

  /** Forgets sessions not heard of for twice the longest timeout: they expired meanwhile. */
  private prune(nowMs: number): void {
    if (nowMs - this.lastPruneMs < this.maxSessionTimeoutMs) return;
    this.lastPruneMs = nowMs;
    for (const [id, heardMs] of this.heard) {
      if (nowMs - heardMs > 2 * this.maxSessionTimeoutMs) this.heard.delete(id);
    }
    for (const [id] of this.forwardedCloses) {
      if (!this.heard.has(id)) this.forwardedCloses.delete(id);
    }
  }
}

function syncKind(m: Sync): "SNAP" | "TRUNC" | "DIFF" {
  if (m.snapshot !== undefined || m.snapshotAt !== undefined) return "SNAP";
  return m.truncZxid !== undefined ? "TRUNC" : "DIFF";
}

/** The core gives the reason when it closes clients; without clients, the input that did it. */
function lookingReason(id: NodeId, input: Input | undefined, effects: readonly Effect[], nowMs: number): string {
  for (const effect of effects) {
    if (effect.type === "closeConnection" && effect.reason.startsWith(lostLeaderPrefix)) {
      return effect.reason.slice(lostLeaderPrefix.length);
    }
  }
  if (input === undefined) return "starting";
  return `after ${describeInput(id, input, nowMs)}`;
}
