// What the server tells its operator at info level: election results and leader changes, followers
// joining and how they were synced, sessions created, moved, closed and expired, connections
// refused. The core is pure and cannot log, so all of it is read off the inputs the server hands it
// and the effects it returns (expiries are an effect of their own), plus the small status view of
// replica-status.ts. At debug level,
// every input and effect in the simulator's trace vocabulary (core/replica/io.ts), which names
// sessions, paths and zxids but never a password, a credential or data.

import type { ConnId, Effect, Input, NodeId, PeerMessage } from "../core/replica/index.ts";
import { describeEffect, describeInput } from "../core/replica/index.ts";
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
}

export interface EventSources {
  conn(connId: ConnId): ConnView | undefined;
  connOfSession(id: SessionId): ConnView | undefined;
  status(): ReplicaStatus;
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
  /** The last zxid each follower reported when it joined (ACKEPOCH). */
  private readonly followerZxid = new Map<NodeId, Zxid>();

  constructor(
    private readonly log: Logger,
    private readonly id: NodeId,
    private readonly sources: EventSources,
    nowMs: number,
  ) {
    this.debug = log.enabled?.("debug") ?? false;
    this.status = sources.status();
    this.lookingSinceMs = nowMs;
  }

  /** Before the core takes `input`. */
  input(input: Input, nowMs: number): void {
    if (this.debug) this.log("debug", "input", { trace: describeInput(this.id, input, nowMs) });
    if (input.type === "peerMessage") this.peerMessage(input.from, input.message);
  }

  /** After a step, before its effects are carried out: connections are as the step found them. */
  effects(input: Input | undefined, effects: readonly Effect[], nowMs: number): void {
    if (this.debug) {
      for (const e of effects) this.log("debug", "effect", { trace: describeEffect(this.id, e) });
    }
    // The core reports every change of role, phase, epoch or leader as a status effect: the
    // view is read only then (reading it every step cost a few percent of the leader's CPU).
    let status = this.status;
    if (effects.some((e) => e.type === "status")) {
      status = this.sources.status();
      this.statusChanged(input, status, effects, nowMs);
    }
    // Allocated only in the rare steps that connect or close clients: this runs every step.
    let closes: Close[] | undefined;
    let connectedNow: Set<ConnId> | undefined;
    for (const effect of effects) {
      switch (effect.type) {
        case "send":
          this.sent(effect.to, effect.message);
          break;
        case "sessionExpired":
          this.expired(effect);
          break;
        case "connectResponse":
          if (effect.timeoutMs > 0) (connectedNow ??= new Set()).add(effect.connId);
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

  /** A SNAP sync went out once its snapshot was encoded (off the event loop). */
  snapshotSent(to: NodeId, message: Sync, snapshotBytes: number, encodeMs: number): void {
    this.log("info", "follower joining", {
      follower: to,
      sync: "SNAP",
      epoch: message.epoch,
      followerZxid: this.followerZxid.get(to),
      snapshotBytes,
      encodeMs: Math.round(encodeMs),
      txns: message.txns.length,
      committedZxid: message.committedZxid,
    });
  }

  private peerMessage(from: NodeId, m: PeerMessage): void {
    switch (m.type) {
      case "ACKEPOCH":
        if (this.status.role === "leading") this.followerZxid.set(from, m.lastZxid);
        return;
      case "SYNC":
        if (this.status.role !== "following" || this.status.leader !== from) return;
        this.log("info", "syncing with leader", {
          leader: from,
          sync: syncKind(m),
          epoch: m.epoch,
          zxid: this.status.lastZxid,
          truncZxid: m.truncZxid,
          snapshotBytes: m.snapshot?.length,
          txns: m.txns.length,
          committedZxid: m.committedZxid,
        });
        return;
      default:
        return;
    }
  }

  private statusChanged(
    input: Input | undefined,
    status: ReplicaStatus,
    effects: readonly Effect[],
    nowMs: number,
  ): void {
    const before = this.status;
    this.status = status;
    if (status.role !== before.role || status.leader !== before.leader) {
      this.followerZxid.clear();
      if (status.role === "looking") {
        this.lookingSinceMs = nowMs;
        this.log("info", "looking for a leader", {
          was: before.role,
          epoch: status.epoch,
          zxid: status.lastZxid,
          reason: lookingReason(this.id, input, effects, nowMs),
        });
      } else {
        this.log("info", "election finished", {
          role: status.role,
          leader: status.leader,
          epoch: status.epoch,
          zxid: status.lastZxid,
          tookMs: nowMs - this.lookingSinceMs,
        });
      }
    }
    if (status.serving && !before.serving) {
      const where = { epoch: status.epoch, zxid: status.lastZxid };
      if (status.role === "leading") this.log("info", "leader established", where);
      else this.log("info", "following leader", { leader: status.leader, ...where });
    }
  }

  private sent(to: NodeId, m: PeerMessage): void {
    if (m.type === "SYNC") {
      if (m.snapshotAt !== undefined) return; // logged by snapshotSent once encoded, with its size
      this.log("info", "follower joining", {
        follower: to,
        sync: syncKind(m),
        epoch: m.epoch,
        followerZxid: this.followerZxid.get(to),
        truncZxid: m.truncZxid,
        snapshotBytes: m.snapshot?.length,
        txns: m.txns.length,
        committedZxid: m.committedZxid,
      });
    } else if (m.type === "UPTODATE") {
      this.log("info", "follower synced", { follower: to, committedZxid: m.committedZxid });
    }
  }

  /** The leader expired a session (the core says so, with how long it was silent). */
  private expired(effect: Extract<Effect, { type: "sessionExpired" }>): void {
    const conn = this.sources.connOfSession(effect.sessionId);
    this.log("info", "session expired", {
      session: effect.sessionId,
      timeoutMs: effect.timeoutMs,
      sinceLastHeardMs: effect.silentMs,
      ephemerals: effect.ephemerals,
      zxid: effect.zxid,
      client: conn?.remote,
    });
  }

  private connected(effect: Extract<Effect, { type: "connectResponse" }>): void {
    const conn = this.sources.conn(effect.connId);
    if (conn === undefined || effect.timeoutMs === 0) return; // timeout 0: refused, a close follows
    const created = conn.requestedSessionId === 0n;
    this.log("info", created ? "session created" : "session reconnected", {
      session: effect.sessionId,
      timeoutMs: effect.timeoutMs,
      client: conn.remote,
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
          session,
          client: conn.remote,
          reason,
          sinceLastHeardMs: nowMs - conn.lastHeardMs,
        });
      }
    }
  }
}

function syncKind(m: Sync): "SNAP" | "TRUNC" | "DIFF" {
  if (m.snapshot !== undefined || m.snapshotAt !== undefined) return "SNAP";
  return m.truncZxid !== undefined ? "TRUNC" : "DIFF";
}

/** The core gives the reason when it closes clients; without clients, the input that did it. */
function lookingReason(
  id: NodeId,
  input: Input | undefined,
  effects: readonly Effect[],
  nowMs: number,
): string {
  for (const effect of effects) {
    if (effect.type === "closeConnection" && effect.reason.startsWith(lostLeaderPrefix)) {
      return effect.reason.slice(lostLeaderPrefix.length);
    }
  }
  if (input === undefined) return "starting";
  return `after ${describeInput(id, input, nowMs)}`;
}
