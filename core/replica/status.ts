// A read-only view of what a replica is doing, for harnesses that must know it (the simulator's
// checkers, admin output) without reaching into ReplicaState.

import type { NodeId } from "./messages.ts";
import type { ReplicaState } from "./state.ts";

export interface ReplicaStatus {
  role: "looking" | "following" | "leading";
  /** The role's phase; "broadcast" once it serves clients. */
  phase: "election" | "discovery" | "epochWait" | "sync" | "broadcast";
  /** The epoch being led or followed (0 while looking or before it is agreed). */
  epoch: number;
  leader: NodeId | undefined;
}

export function replicaStatus(s: ReplicaState): ReplicaStatus {
  if (s.role === "leading") {
    const leader = s.leader!;
    return { role: "leading", phase: leader.phase, epoch: leader.epoch, leader: s.config.id };
  }
  if (s.role === "following") {
    const follower = s.follower!;
    return { role: "following", phase: follower.phase, epoch: follower.epoch, leader: follower.leader };
  }
  return { role: "looking", phase: "election", epoch: 0, leader: undefined };
}
