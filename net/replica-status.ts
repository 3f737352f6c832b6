// The little the server's logs need to know of the replica beyond its inputs and effects: its
// role, its leader, its epoch and zxid, and a session's timeout. Read here and only here, so that
// when the core reports these as effects this file is all that goes.

import { isServing } from "../core/replica/roles.ts";
import type { NodeId, ServerState } from "../core/replica/messages.ts";
import type { ReplicaState } from "../core/replica/state.ts";
import { lastLoggedZxid } from "../core/replica/state.ts";
import type { SessionId, Zxid } from "../core/types.ts";

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

export function replicaStatus(s: ReplicaState): ReplicaStatus {
  const leader = s.role === "leading" ? s.config.id
    : s.role === "following" ? s.follower?.leader
    : undefined;
  const serving = isServing(s);
  return { role: s.role, serving, leader, epoch: s.currentEpoch, lastZxid: lastLoggedZxid(s) };
}

/** The negotiated timeout of a live session, as the replicated sessions table holds it. */
export function sessionTimeoutMs(s: ReplicaState, id: SessionId): number | undefined {
  return s.db.sessions.get(id);
}
