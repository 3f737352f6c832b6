// What a harness may know of a replica without reaching into ReplicaState: its status (also sent
// as `status` effects) and a read-only view for admin commands, metrics, checks and tests.

import type { DataTree } from "../tree.ts";
import type { SessionId, Zxid } from "../types.ts";
import type { NodeId } from "./messages.ts";
import type { ReplicaState } from "./state.ts";
import { lastLoggedZxid } from "./state.ts";

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
    return {
      role: "following",
      phase: follower.phase,
      epoch: follower.epoch,
      leader: follower.leader,
    };
  }
  return { role: "looking", phase: "election", epoch: 0, leader: undefined };
}

export function sameStatus(a: ReplicaStatus, b: ReplicaStatus): boolean {
  return a.role === b.role && a.phase === b.phase && a.epoch === b.epoch && a.leader === b.leader;
}

/** The committed tree, to read only. */
export type TreeView = Pick<DataTree, "size" | "get" | "digest" | "nodes" | "ephemerals">;

export interface LearnerView {
  id: NodeId;
  phase: string;
}

/** A read-only view of one replica; valid until its next step. */
export interface ReplicaView {
  readonly status: ReplicaStatus;
  readonly acceptedEpoch: number;
  readonly currentEpoch: number;
  readonly appliedZxid: Zxid;
  readonly loggedZxid: Zxid;
  readonly tree: TreeView;
  /** Live sessions and their timeouts. */
  readonly sessions: ReadonlyMap<SessionId, number>;
  readonly watchCount: number;
  watchSummary(table?: "data" | "child"): { sessions: number; paths: number; watches: number };
  /** The leader's learners (empty elsewhere). */
  readonly learners: readonly LearnerView[];
  /** Linearizable syncs waiting for a quorum round (leader only). */
  readonly pendingSyncs: number;
}

export function inspectReplica(s: ReplicaState): ReplicaView {
  return {
    status: replicaStatus(s),
    acceptedEpoch: s.acceptedEpoch,
    currentEpoch: s.currentEpoch,
    appliedZxid: s.db.lastZxid,
    loggedZxid: lastLoggedZxid(s),
    tree: s.db.tree,
    sessions: s.db.sessions,
    get watchCount() {
      return s.watches.watchCount();
    },
    watchSummary: (table = "data") => s.watches.watchSummary(table),
    learners:
      s.leader === undefined
        ? []
        : [...s.leader.learners].map(([id, l]) => ({ id, phase: l.phase })),
    pendingSyncs: s.leader?.syncs.length ?? 0,
  };
}
