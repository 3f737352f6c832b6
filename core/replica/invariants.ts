// Invariants, checked after every step in the simulator and in tests (TigerBeetle's invariants()).
// checkReplicaInvariants looks at one node; checkClusterInvariants at all of them together.

import { assert, InvariantViolation } from "../assert.ts";
import { describeTxnOnce } from "../txn.ts";
import type { Zxid } from "../types.ts";
import { hex } from "../types.ts";
import type { NodeId } from "./messages.ts";
import type { ReplicaState } from "./state.ts";
import { lastLoggedZxid } from "./state.ts";
import { currentEpochPersistPending } from "./outputs.ts";

export function checkReplicaInvariants(s: ReplicaState): void {
  // appendToLog asserts order on every append; here the tail, where appends and truncations happen.
  const n = s.log.length;
  if (n >= 2) assert(s.log[n - 2]!.zxid < s.log[n - 1]!.zxid, "log is in zxid order");
  assert(s.log.length === 0 || s.log[0]!.zxid > s.logBaseZxid, "log starts after its base");
  assert(s.logBaseZxid <= s.db.lastZxid, "every txn after the log base is in the log");
  assert(s.db.lastZxid <= lastLoggedZxid(s), "only logged txns are applied");
  assert(s.acceptedEpoch >= s.currentEpoch, "accepted epoch >= current epoch");
  assert((s.role === "leading") === (s.leader !== undefined), "leader state iff leading");
  assert((s.role === "following") === (s.follower !== undefined), "follower state iff following");
  if (s.leader !== undefined) {
    const leader = s.leader;
    if (leader.phase !== "broadcast")
      assert(leader.proposals.length === 0, "only an established leader proposes");
    for (const p of leader.proposals)
      assert(p.zxid > s.committedZxid, "outstanding proposals are uncommitted");
    if (leader.phase === "broadcast")
      assert(s.db.lastZxid === s.committedZxid, "a leader applies what it commits at once");
  }
  assert(
    currentEpochPersistPending(s) ===
      s.persists.some((p) => p.actions.some((a) => a.kind === "currentEpoch")),
    "a currentEpoch persist is in flight exactly when the newest one is",
  );
  for (const conn of s.clients.conns.values()) {
    if (conn.established)
      assert(conn.sessionId !== undefined, "an established connection has a session");
    assert(
      conn.held.length === 0 || !conn.established,
      "held requests are released on establishment",
    );
    let barriers = 0;
    for (const p of conn.queue)
      if (p.status === "behindSync" || (p.status === "sent" && p.op.op === "sync")) barriers++;
    assert(conn.syncBarriers === barriers, "a connection counts the syncs that hold writes back");
  }
}

/**
 * Across nodes: at most one established leader per epoch; applied (committed) histories agree;
 * replicas that applied the same zxid hold the same tree digest.
 */
export function checkClusterInvariants(states: ReadonlyMap<NodeId, ReplicaState>): void {
  const leadersByEpoch = new Map<number, NodeId>();
  for (const [id, s] of states) {
    if (s.role !== "leading" || s.leader!.phase !== "broadcast") continue;
    const other = leadersByEpoch.get(s.leader!.epoch);
    assert(
      other === undefined,
      `two established leaders (${other} and ${id}) in epoch ${s.leader!.epoch}`,
    );
    leadersByEpoch.set(s.leader!.epoch, id);
  }
  const nodes = [...states];
  for (let i = 0; i < nodes.length; i++) {
    for (let j = i + 1; j < nodes.length; j++) checkPairAgrees(nodes[i]!, nodes[j]!);
  }
}

function checkPairAgrees([a, sa]: [NodeId, ReplicaState], [b, sb]: [NodeId, ReplicaState]): void {
  const upTo: Zxid = sa.db.lastZxid < sb.db.lastZxid ? sa.db.lastZxid : sb.db.lastZxid;
  if (sa.db.lastZxid === sb.db.lastZxid) {
    // Not assert(): these messages would be formatted at every check.
    if (sa.db.tree.digest() !== sb.db.tree.digest()) {
      throw new InvariantViolation(
        `nodes ${a} and ${b} applied up to ${hex(upTo)} with different digests`,
      );
    }
  }
  // Both logs are sorted: walk them together over the applied range.
  let j = 0;
  for (const txn of sa.log) {
    if (txn.zxid > upTo) break;
    while (j < sb.log.length && sb.log[j]!.zxid < txn.zxid) j++;
    const theirs = sb.log[j];
    if (theirs === undefined || theirs.zxid !== txn.zxid || theirs === txn) continue;
    if (describeTxnOnce(theirs) !== describeTxnOnce(txn)) {
      throw new InvariantViolation(
        `committed txn ${hex(txn.zxid)} differs between nodes ${a} and ${b}`,
      );
    }
  }
}
