// The session checker: no session may expire before its timeout has passed since the ensemble
// last heard from its client. The simulator knows when each server really received each client
// packet and what its clock read then, so it can hold the leader to the bound ZooKeeper promises
// (a session lives `timeout` after its last packet, in the clock of the server that times it).
//
// What counts as "the leader heard it" is what a correct leader can know: a packet on one of the
// session's established connections to the leader itself, or one to a follower that the follower
// then reported in a PONG the leader accepted (a follower cut off before reporting it cannot save
// the session, in ZooKeeper either). Each credit is the leader's own clock reading at that moment,
// so drift and jumps are accounted for exactly; a new leader starts from no credits, as it gives
// every session a fresh timeout anyway.

import { InvariantViolation } from "../core/assert.ts";
import type {
  ConnId,
  Effect,
  Input,
  NodeId,
  PeerMessage,
  ReplicaStatus,
} from "../core/replica/index.ts";
import type { SessionId } from "../core/types.ts";
import { hex } from "../core/types.ts";

interface LeaderCredits {
  epoch: number;
  /** The leader's clock when it last heard from each session, this epoch. */
  lastHeardMs: Map<SessionId, number>;
}

export class SessionChecker {
  /** Per server, its established client connections and their sessions. */
  private readonly conns = new Map<NodeId, Map<ConnId, SessionId>>();
  /** Per follower, sessions heard from since its last PONG. */
  private readonly unreported = new Map<NodeId, Set<SessionId>>();
  /** PONGs in flight, with the sessions their sender had heard from (not what they claim). */
  private readonly pongs = new WeakMap<PeerMessage, readonly SessionId[]>();
  private readonly credits = new Map<NodeId, LeaderCredits>();
  private readonly timeouts = new Map<SessionId, number>();
  private readonly closeRequested = new Set<SessionId>();
  /** Expiries checked against a credit (for the run's summary and the teeth tests). */
  expiriesChecked = 0;

  /** Before a server's step: what it is about to hear. */
  beforeStep(node: NodeId, input: Input, nowMs: number, status: ReplicaStatus | undefined): void {
    if (status === undefined) return;
    switch (input.type) {
      case "clientRequest": {
        const sessionId = this.connsOf(node).get(input.connId);
        if (sessionId === undefined) return;
        if (input.request.op === "closeSession") this.closeRequested.add(sessionId);
        if (isServingLeader(status)) this.credit(node, status.epoch, sessionId, nowMs);
        else if (status.role === "following") this.unreportedOf(node).add(sessionId);
        return;
      }
      case "clientDisconnect":
        this.connsOf(node).delete(input.connId);
        return;
      case "peerMessage": {
        const heard = this.pongs.get(input.message);
        if (heard === undefined || !isServingLeader(status)) return;
        if (input.message.type !== "PONG" || input.message.epoch !== status.epoch) return;
        for (const sessionId of heard) this.credit(node, status.epoch, sessionId, nowMs);
        return;
      }
      default:
        return;
    }
  }

  /** After a server's step: what it established, closed, reported and expired. */
  afterStep(node: NodeId, effects: readonly Effect[], nowMs: number, status: ReplicaStatus): void {
    for (const effect of effects) {
      switch (effect.type) {
        case "connectResponse":
          if (effect.timeoutMs > 0) {
            this.connsOf(node).set(effect.connId, effect.sessionId);
            this.timeouts.set(effect.sessionId, effect.timeoutMs);
          }
          break;
        case "closeConnection":
          this.connsOf(node).delete(effect.connId);
          break;
        case "send":
          if (effect.message.type === "PONG") {
            const heard = this.unreportedOf(node);
            this.pongs.set(effect.message, [...heard]);
            heard.clear();
          } else if (effect.message.type === "FOLLOWERINFO") {
            this.unreportedOf(node).clear(); // a new follow attempt: the old reports are gone
          }
          break;
        case "persist":
          this.learnTimeouts(effect, status);
          break;
        case "sessionExpired":
          if (isServingLeader(status))
            this.checkExpiry(node, effect.sessionId, nowMs, status.epoch);
          break;
        default:
          break;
      }
    }
  }

  /** A crashed server forgets its connections and what it had not reported. */
  crashed(node: NodeId): void {
    this.conns.delete(node);
    this.unreported.delete(node);
    this.credits.delete(node);
  }

  /** Negotiated timeouts, from the leader's createSession txns. */
  private learnTimeouts(effect: Effect & { type: "persist" }, status: ReplicaStatus): void {
    if (status.role !== "leading") return;
    for (const write of effect.writes) {
      if (write.kind !== "append") continue;
      for (const txn of write.txns) {
        if (txn.body.type === "createSession") this.timeouts.set(txn.sessionId, txn.body.timeoutMs);
      }
    }
  }

  /** The leader says it expired a session: it must have been silent for the whole timeout. */
  private checkExpiry(node: NodeId, sessionId: SessionId, nowMs: number, epoch: number): void {
    if (this.closeRequested.has(sessionId)) return; // its client was closing it anyway
    const credits = this.credits.get(node);
    const lastHeardMs = credits?.epoch === epoch ? credits.lastHeardMs.get(sessionId) : undefined;
    const timeoutMs = this.timeouts.get(sessionId);
    if (lastHeardMs === undefined || timeoutMs === undefined) return;
    this.expiriesChecked++;
    const livedMs = nowMs - lastHeardMs;
    if (livedMs < timeoutMs) {
      throw new InvariantViolation(
        `session ${hex(sessionId)} expired early: leader ${node} expired it ${livedMs} ms ` +
          `(its own clock) after it last heard from the client; the timeout is ${timeoutMs} ms`,
      );
    }
  }

  private credit(node: NodeId, epoch: number, sessionId: SessionId, nowMs: number): void {
    let credits = this.credits.get(node);
    if (credits === undefined || credits.epoch !== epoch) {
      credits = { epoch, lastHeardMs: new Map() };
      this.credits.set(node, credits);
    }
    const previous = credits.lastHeardMs.get(sessionId);
    // The core keeps the later deadline when its clock steps back; so does the bound.
    if (previous === undefined || nowMs > previous) credits.lastHeardMs.set(sessionId, nowMs);
  }

  private connsOf(node: NodeId): Map<ConnId, SessionId> {
    let conns = this.conns.get(node);
    if (conns === undefined) this.conns.set(node, (conns = new Map()));
    return conns;
  }

  private unreportedOf(node: NodeId): Set<SessionId> {
    let heard = this.unreported.get(node);
    if (heard === undefined) this.unreported.set(node, (heard = new Set()));
    return heard;
  }
}

function isServingLeader(status: ReplicaStatus): boolean {
  return status.role === "leading" && status.phase === "broadcast";
}
