// The leader: discovery (a new epoch above every accepted one in a quorum), synchronization (bring
// each follower to the leader's history with DIFF, TRUNC+DIFF or SNAP, then NEWLEADER), and
// broadcast (PROPOSAL, ACK once durable, COMMIT on a quorum). Zab: Junqueira, Reed, Serafini, DSN
// 2011.

import { assert } from "../assert.ts";
import type { Txn } from "../txn.ts";
import type { Zxid } from "../types.ts";
import { makeZxid } from "../types.ts";
import { proposalsUncommittedMax } from "../limits.ts";
import { applyUpTo } from "./apply.ts";
import { currentEpochPersistPending, persist, send } from "./outputs.ts";
import { appendToLog, logAfter, logIndexOf } from "./log.ts";
import type { NodeId, PeerMessage } from "./messages.ts";
import { becomeLooking } from "./roles.ts";
import { trackAllSessions } from "./sessions.ts";
import type { Learner, LeaderState, ReplicaState } from "./state.ts";
import { lastLoggedZxid, quorumSize } from "./state.ts";

type Msg<T extends PeerMessage["type"]> = Extract<PeerMessage, { type: T }>;

export function leaderOf(s: ReplicaState): LeaderState {
  assert(s.role === "leading" && s.leader !== undefined, "leader state exists while leading");
  return s.leader;
}

/** Learners that receive proposals and commits: those being synced and those in sync. */
function isActive(learner: Learner): boolean {
  return learner.phase === "syncing" || learner.phase === "synced";
}

/**
 * Sends to every active learner. Loops over the learners are written out, without a generator:
 * they run for every proposal, commit and ack, and a generator allocated at each.
 */
function sendToActive(s: ReplicaState, leader: LeaderState, message: PeerMessage): void {
  for (const id of leader.learners.keys())
    if (isActive(leader.learners.get(id)!)) send(s, id, message);
}

export function onFollowerInfo(s: ReplicaState, from: NodeId, m: Msg<"FOLLOWERINFO">): void {
  const leader = leaderOf(s);
  if (leader.epoch !== 0 && m.acceptedEpoch > leader.epoch) {
    // It promised a later (failed) leader attempt to follow nothing older, so it can never follow
    // us, and the votes of the others keep bringing it back to us: without a new election it would
    // stay behind forever. The next discovery picks an epoch it can accept.
    return becomeLooking(
      s,
      `follower ${from} accepted epoch ${m.acceptedEpoch}, above ours (${leader.epoch})`,
    );
  }
  const known = leader.learners.get(from);
  // A repeat, from a learner already past the info phase of this attempt.
  if (known !== undefined && known.attempt === m.attempt && known.phase !== "info") return;
  if (known !== undefined && known.attempt === m.attempt) {
    if (leader.epoch !== 0 && s.acceptedEpoch === leader.epoch && !hasPendingEpochPersist(s)) {
      send(s, from, { type: "LEADERINFO", attempt: m.attempt, epoch: leader.epoch });
    }
    return;
  }
  leader.learners.set(from, {
    attempt: m.attempt,
    phase: "info",
    lastZxid: m.lastZxid,
    acceptedEpoch: m.acceptedEpoch,
    currentEpoch: 0,
    ackedZxid: m.lastZxid,
    lastHeardMs: s.nowMs,
  });
  if (leader.epoch !== 0 && s.acceptedEpoch === leader.epoch && !hasPendingEpochPersist(s)) {
    send(s, from, { type: "LEADERINFO", attempt: m.attempt, epoch: leader.epoch });
  } else {
    checkDiscovery(s);
  }
}

const hasPendingEpochPersist = (s: ReplicaState) =>
  s.persists.some((p) => p.actions.some((a) => a.kind === "acceptedEpoch"));

/** Once a quorum reported its accepted epoch, pick one above all of them and make it durable. */
export function checkDiscovery(s: ReplicaState): void {
  const leader = leaderOf(s);
  if (leader.phase !== "discovery" || leader.epoch !== 0) return;
  if (1 + leader.learners.size < quorumSize(s.config)) return;
  let maxAccepted = s.acceptedEpoch;
  for (const [, learner] of leader.learners)
    maxAccepted = Math.max(maxAccepted, learner.acceptedEpoch);
  leader.epoch = maxAccepted + 1;
  s.acceptedEpoch = leader.epoch;
  persist(
    s,
    [{ kind: "epochs", acceptedEpoch: s.acceptedEpoch, currentEpoch: s.currentEpoch }],
    [{ kind: "acceptedEpoch" }],
  );
}

/** The new epoch is durable here: offer it to every learner that asked. */
export function leaderAcceptedEpochDurable(s: ReplicaState): void {
  const leader = leaderOf(s);
  for (const [id, learner] of leader.learners) {
    if (learner.phase === "info")
      send(s, id, { type: "LEADERINFO", attempt: learner.attempt, epoch: leader.epoch });
  }
  checkEpochAcks(s);
}

export function onAckEpoch(s: ReplicaState, from: NodeId, m: Msg<"ACKEPOCH">): void {
  const leader = leaderOf(s);
  const learner = leader.learners.get(from);
  if (
    learner === undefined ||
    learner.phase !== "info" ||
    learner.attempt !== m.attempt ||
    m.epoch !== leader.epoch
  )
    return;
  // Zab's safety check: a leader must hold the longest history of the quorum it leads.
  const mine = { epoch: s.currentEpoch, zxid: lastLoggedZxid(s) };
  if (!s.config.policy.leaderCovers(mine, { epoch: m.currentEpoch, zxid: m.lastZxid })) {
    becomeLooking(
      s,
      `follower ${from} has a newer history (epoch ${m.currentEpoch}, zxid ${m.lastZxid})`,
    );
    return;
  }
  Object.assign(learner, {
    phase: "epochAcked",
    currentEpoch: m.currentEpoch,
    lastZxid: m.lastZxid,
    lastHeardMs: s.nowMs,
  });
  if (leader.phase === "discovery") checkEpochAcks(s);
  else syncLearner(s, from, learner);
}

function checkEpochAcks(s: ReplicaState): void {
  const leader = leaderOf(s);
  if (leader.phase !== "discovery" || hasPendingEpochPersist(s) || s.acceptedEpoch !== leader.epoch)
    return;
  const acked = [...leader.learners].filter(([, l]) => l.phase === "epochAcked");
  if (1 + acked.length < quorumSize(s.config)) return;
  leader.phase = "sync";
  leader.newLeaderZxid = lastLoggedZxid(s);
  s.currentEpoch = leader.epoch;
  persist(
    s,
    [{ kind: "epochs", acceptedEpoch: s.acceptedEpoch, currentEpoch: s.currentEpoch }],
    [{ kind: "currentEpoch", zxid: leader.newLeaderZxid }],
  );
  for (const [id, learner] of acked) syncLearner(s, id, learner);
}

/**
 * Brings one learner to the leader's history: nothing to send, DIFF of what it lacks, TRUNC of a
 * tail the leader does not have (then DIFF), or a SNAP when the in-memory log does not reach back
 * far enough.
 */
function syncLearner(s: ReplicaState, id: NodeId, learner: Learner): void {
  const leader = leaderOf(s);
  const theirs = learner.lastZxid;
  const last = lastLoggedZxid(s);
  let message: Msg<"SYNC">;
  if (
    theirs === last ||
    (theirs >= s.logBaseZxid && logIndexOf(s, theirs) >= 0) ||
    theirs === s.logBaseZxid
  ) {
    message = {
      type: "SYNC",
      attempt: learner.attempt,
      epoch: leader.epoch,
      txns: logAfter(s, theirs),
      committedZxid: s.committedZxid,
    };
  } else if (theirs > s.logBaseZxid) {
    const truncZxid = s.config.policy.truncationPoint(theirs, commonPrefixZxid(s, theirs));
    const from = truncZxid ?? theirs;
    message = {
      type: "SYNC",
      attempt: learner.attempt,
      epoch: leader.epoch,
      ...(truncZxid === undefined ? {} : { truncZxid }),
      txns: logAfter(s, from),
      committedZxid: s.committedZxid,
    };
  } else {
    message = {
      type: "SYNC",
      attempt: learner.attempt,
      epoch: leader.epoch,
      snapshotAt: s.db.lastZxid,
      txns: logAfter(s, s.db.lastZxid),
      committedZxid: s.committedZxid,
    };
  }
  send(s, id, message);
  send(s, id, { type: "NEWLEADER", attempt: learner.attempt, epoch: leader.epoch, zxid: last });
  learner.phase = "syncing";
  learner.lastZxid = last; // the NEWLEADER zxid this learner must ACK to count as synced
}

/** The newest zxid of ours at or below `theirs`: where a divergent tail starts. */
function commonPrefixZxid(s: ReplicaState, theirs: Zxid): Zxid {
  let common = s.logBaseZxid;
  for (const txn of s.log) {
    if (txn.zxid > theirs) break;
    common = txn.zxid;
  }
  return common;
}

export function onAck(s: ReplicaState, from: NodeId, m: Msg<"ACK">): void {
  const leader = leaderOf(s);
  const learner = leader.learners.get(from);
  if (learner === undefined || m.epoch !== leader.epoch || m.attempt !== learner.attempt) return;
  learner.lastHeardMs = s.nowMs;
  if (m.zxid > learner.ackedZxid) learner.ackedZxid = m.zxid;
  if (learner.phase === "syncing" && learner.ackedZxid >= learner.lastZxid) {
    learner.phase = "synced";
    if (leader.phase === "broadcast")
      send(s, from, { type: "UPTODATE", attempt: learner.attempt, committedZxid: s.committedZxid });
  }
  if (leader.phase === "sync") tryEstablish(s);
  else if (leader.phase === "broadcast") tryCommit(s);
}

/** The leader's own currentEpoch and history are durable; see whether a quorum has followed. */
export function leaderSelfSynced(s: ReplicaState): void {
  tryEstablish(s);
}

function tryEstablish(s: ReplicaState): void {
  const leader = leaderOf(s);
  if (
    leader.phase !== "sync" ||
    s.currentEpoch !== leader.epoch ||
    s.durableZxid < leader.newLeaderZxid
  )
    return;
  if (currentEpochPersistPending(s)) return;
  const synced = [...leader.learners].filter(([, l]) => l.phase === "synced");
  if (1 + synced.length < quorumSize(s.config)) return;
  leader.phase = "broadcast";
  leader.establishedAtMs = s.nowMs;
  leader.lastQuorumHeardMs = s.nowMs;
  leader.counter = 0;
  trackAllSessions(leader, s.db, s.config.id, s.nowMs);
  commitUpTo(s, leader.newLeaderZxid);
  for (const [id, learner] of synced)
    send(s, id, { type: "UPTODATE", attempt: learner.attempt, committedZxid: s.committedZxid });
}

export function nextZxid(s: ReplicaState): Zxid {
  const leader = leaderOf(s);
  assert(leader.phase === "broadcast", "only an established leader proposes");
  assert(leader.counter < 0xffffffff, "zxid counter fits its 32 bits");
  leader.counter++;
  return makeZxid(leader.epoch, leader.counter);
}

export function propose(s: ReplicaState, txn: Txn): void {
  const leader = leaderOf(s);
  appendToLog(s, [txn]);
  leader.proposals.push(txn);
  assert(leader.proposals.length <= proposalsUncommittedMax, "uncommitted proposals stay bounded");
  // One message for every learner: a harness may encode it once for all of them.
  const proposal: PeerMessage = { type: "PROPOSAL", txn };
  sendToActive(s, leader, proposal);
}

/** Commits the longest prefix of proposals that a quorum (us included) holds durably. */
export function tryCommit(s: ReplicaState): void {
  const leader = leaderOf(s);
  let commitTo: Zxid | undefined;
  for (const proposal of leader.proposals) {
    let holders = s.durableZxid >= proposal.zxid ? 1 : 0;
    for (const learner of leader.learners.values())
      if (isActive(learner) && learner.ackedZxid >= proposal.zxid) holders++;
    if (holders < s.config.policy.commitQuorum(s.config)) break;
    commitTo = proposal.zxid;
  }
  if (commitTo !== undefined) commitUpTo(s, commitTo);
}

function commitUpTo(s: ReplicaState, z: Zxid): void {
  const leader = leaderOf(s);
  if (z > s.committedZxid) s.committedZxid = z;
  while (leader.proposals.length > 0 && leader.proposals[0]!.zxid <= z) leader.proposals.shift();
  const commit: PeerMessage = { type: "COMMIT", zxid: s.committedZxid };
  sendToActive(s, leader, commit);
  applyUpTo(s, s.committedZxid);
}

export function onLearnerDown(s: ReplicaState, peer: NodeId): void {
  const leader = leaderOf(s);
  leader.learners.delete(peer);
  leader.roundAcks.delete(peer);
}
