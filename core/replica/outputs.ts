// What a replica's parts emit: effects (sends, persists, the timer) and handoffs to each other.

import { assert } from "../assert.ts";
import { persistsInFlightMax } from "../limits.ts";
import type { DiskWrite, Effect } from "./io.ts";
import type { NodeId, PeerMessage } from "./messages.ts";
import type { Handoff, PersistAction, ReplicaState } from "./state.ts";

export function emit(s: ReplicaState, effect: Effect): void {
  s.effects.push(effect);
}

/** Queues work or an answer for another part of the replica (see Handoff). */
export function handOff(s: ReplicaState, handoff: Handoff): void {
  s.handoffs.push(handoff);
}

export function send(s: ReplicaState, to: NodeId, message: PeerMessage): void {
  assert(to !== s.config.id, "a node does not message itself");
  emit(s, { type: "send", to, message });
}

export function sendToAll(s: ReplicaState, message: PeerMessage): void {
  for (const peer of s.config.peers) if (peer !== s.config.id) send(s, peer, message);
}

/** Emits a persist effect; `actions` run when the harness reports it durable. */
export function persist(s: ReplicaState, writes: DiskWrite[], actions: PersistAction[]): void {
  const id = s.nextPersistId++;
  for (const action of actions)
    if (action.kind === "currentEpoch") s.lastCurrentEpochPersistId = id;
  s.persists.push({ id, actions });
  assert(s.persists.length <= persistsInFlightMax, "the harness reports persists done");
  emit(s, { type: "persist", id, writes });
}

/**
 * Whether a persist that makes currentEpoch durable is still in flight. Persists complete in
 * issue order, so the newest such persist is in flight exactly when it is not older than the
 * oldest persist in flight, and then no older one matters. No walk over the persists in flight:
 * a follower asks at every durable append, with thousands of them in flight under a deep pipeline.
 */
export function currentEpochPersistPending(s: ReplicaState): boolean {
  const oldest = s.persists[0];
  return oldest !== undefined && oldest.id <= s.lastCurrentEpochPersistId;
}

export function setTimer(s: ReplicaState, atMs: number): void {
  if (s.timerAtMs === undefined || atMs < s.timerAtMs) {
    s.timerAtMs = atMs;
    emit(s, { type: "setTimer", atMs });
  }
}
