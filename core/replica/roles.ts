// Role changes happen here and only here; each asserts the transition is legal and resets the
// per-role state, so no field of an old role survives into the next.

import { assert } from "../assert.ts";
import { PendingChanges } from "../pending.ts";
import { zxid } from "../types.ts";
import { emit, sendToAll } from "./outputs.ts";
import type { NodeId } from "./messages.ts";
import type { ReplicaState } from "./state.ts";
import { lastLoggedZxid } from "./state.ts";

/** Leaves any role for LOOKING: drops clients (they reconnect elsewhere) and starts an election. */
export function becomeLooking(s: ReplicaState, reason: string): void {
  closeAllClients(s, `server lost its leader: ${reason}`);
  s.leader = undefined;
  s.follower = undefined;
  s.role = "looking";
  const election = s.election;
  election.round++;
  election.vote = { leader: s.config.id, epoch: s.currentEpoch, zxid: lastLoggedZxid(s) };
  election.received.clear();
  election.decideAtMs = undefined;
  sendToAll(s, {
    type: "NOTIFICATION",
    vote: election.vote,
    round: election.round,
    state: "looking",
  });
  if (s.config.peers.length === 1) election.decideAtMs = s.nowMs; // a single server elects itself
}

export function becomeFollower(s: ReplicaState, leader: NodeId): void {
  assert(s.role === "looking", "only a looking server starts following");
  assert(leader !== s.config.id, "a server does not follow itself");
  s.role = "following";
  s.followAttempts++;
  s.follower = {
    leader,
    attempt: s.followAttempts,
    phase: "discovery",
    epoch: 0,
    lastHeardMs: s.nowMs,
    startedMs: s.nowMs,
    newLeaderZxid: undefined,
    touched: new Set(),
  };
  emit(s, {
    type: "send",
    to: leader,
    message: {
      type: "FOLLOWERINFO",
      attempt: s.followAttempts,
      acceptedEpoch: s.acceptedEpoch,
      lastZxid: lastLoggedZxid(s),
    },
  });
}

export function becomeLeader(s: ReplicaState): void {
  assert(s.role === "looking", "only a looking server starts leading");
  s.role = "leading";
  s.leader = {
    phase: "discovery",
    epoch: 0,
    learners: new Map(),
    newLeaderZxid: zxid(0n),
    newLeaderAcks: new Set(),
    counter: 0,
    pending: new PendingChanges(),
    proposals: [],
    sessions: new Map(),
    sessionCounter: 0,
    syncs: [],
    pingRound: 0,
    roundAcks: new Map(),
    lastQuorumHeardMs: s.nowMs,
    establishedAtMs: s.nowMs,
  };
}

export function closeAllClients(s: ReplicaState, reason: string): void {
  for (const connId of [...s.clients.conns.keys()].sort((a, b) => a - b)) {
    emit(s, { type: "closeConnection", connId, reason });
    const conn = s.clients.conns.get(connId)!;
    if (conn.sessionId !== undefined) s.watches.removeSession(conn.sessionId);
  }
  s.clients.conns.clear();
  s.clients.bySession.clear();
  s.clients.waiting.clear();
  s.clients.touched.clear();
  s.handoffs.length = 0; // for clients that are gone, or for a leader we no longer follow
}

/** Whether this server answers clients: a leader or follower that finished synchronization. */
export function isServing(s: ReplicaState): boolean {
  if (s.role === "leading") return s.leader!.phase === "broadcast";
  if (s.role === "following") return s.follower!.phase === "broadcast";
  return false;
}
