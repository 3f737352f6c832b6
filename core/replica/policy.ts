// The protocol's decision points as a value, so tests can construct a replica with a deliberately
// broken rule (a planted bug) and prove the simulator catches it. Production code calls these
// functions unconditionally; there is no "bug on" branch anywhere. Only zabPolicy ships.

import type { Zxid } from "../types.ts";
import type { ReplicaConfig, ReplicaState } from "./state.ts";
import type { Vote } from "./messages.ts";

export interface ProtocolPolicy {
  readonly name: string;
  /** How many servers (the leader included) must hold a proposal durably before it commits. */
  commitQuorum(config: ReplicaConfig): number;
  /** Election order between two votes. */
  voteIsBetter(a: Vote, b: Vote): boolean;
  /** Zab's discovery check: may a leader with this history lead a follower with that one? */
  leaderCovers(
    leader: { epoch: number; zxid: Zxid },
    follower: { epoch: number; zxid: Zxid },
  ): boolean;
  /**
   * Where a follower whose log ends at `theirs` (not in ours) is truncated to; undefined = no
   * TRUNC.
   */
  truncationPoint(theirs: Zxid, commonPrefix: Zxid): Zxid | undefined;
  /**
   * Called when a follower has logged (not yet made durable) proposal `zxid`; Zab does nothing
   * yet. `acknowledge` would ACK it now (a function, not a closure per proposal).
   */
  proposalLogged(
    s: ReplicaState,
    zxid: Zxid,
    acknowledge: (s: ReplicaState, zxid: Zxid) => void,
  ): void;
  /** How a follower handles a client's sync: Zab asks the leader for a quorum round. */
  routeSync(throughLeader: () => void, answerLocally: () => void): void;
}

export const majority = (config: ReplicaConfig): number => Math.floor(config.peers.length / 2) + 1;

export const zabPolicy: ProtocolPolicy = {
  name: "zab",
  commitQuorum: majority,
  voteIsBetter(a, b) {
    if (a.epoch !== b.epoch) return a.epoch > b.epoch;
    if (a.zxid !== b.zxid) return a.zxid > b.zxid;
    return a.leader > b.leader;
  },
  leaderCovers(leader, follower) {
    return (
      follower.epoch < leader.epoch ||
      (follower.epoch === leader.epoch && follower.zxid <= leader.zxid)
    );
  },
  truncationPoint: (_theirs, commonPrefix) => commonPrefix,
  proposalLogged: () => {},
  routeSync: (throughLeader) => throughLeader(),
};
