// The little the server's logs need to know of the replica beyond its inputs and effects: its
// role, its leader, its epoch and zxid, read through the core's
// read-only view.

import type { NodeId, ReplicaDriver, ServerState } from "../core/replica/index.ts";
import type { Zxid } from "../core/types.ts";

export interface ReplicaStatus {
  role: ServerState;
  /** A leader or follower that finished synchronization and answers clients. */
  serving: boolean;
  /** Who leads: this server when leading, the one followed when following. */
  leader: NodeId | undefined;
  epoch: number;
  /** The last zxid in this server's log (what its vote carries). */
  lastZxid: Zxid;
}

export function replicaStatus(replica: ReplicaDriver): ReplicaStatus {
  const view = replica.inspect()!;
  const { role, phase, leader } = view.status;
  return {
    role,
    serving: phase === "broadcast",
    leader,
    epoch: view.currentEpoch,
    lastZxid: view.loggedZxid,
  };
}
