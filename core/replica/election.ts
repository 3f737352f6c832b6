// Fast leader election (ZooKeeper's FastLeaderElection, simplified): votes are ordered by epoch,
// then last logged zxid, then server id; a server adopts any better vote it hears, decides once a
// quorum agrees with it and no better vote arrives within electionFinalizeMs, and joins an
// established leader that a quorum of non-looking servers report.
// Safety does not rest on the election: discovery (leader.ts) refuses to lead a quorum that holds a
// longer history. The election only has to pick a good candidate most of the time.

import { sendToAll, send } from "./outputs.ts";
import type { NodeId, PeerMessage, ServerState, Vote } from "./messages.ts";
import { becomeFollower, becomeLeader, becomeLooking } from "./roles.ts";
import type { ReplicaState } from "./state.ts";
import { lastLoggedZxid, quorumSize } from "./state.ts";

const sameVote = (a: Vote, b: Vote) =>
  a.leader === b.leader && a.epoch === b.epoch && a.zxid === b.zxid;

function selfVote(s: ReplicaState): Vote {
  return { leader: s.config.id, epoch: s.currentEpoch, zxid: lastLoggedZxid(s) };
}

function notify(s: ReplicaState, to?: NodeId): void {
  const message: PeerMessage = {
    type: "NOTIFICATION",
    vote: currentVote(s),
    round: s.election.round,
    state: s.role,
  };
  if (to === undefined) sendToAll(s, message);
  else send(s, to, message);
}

/** While following or leading, a server's vote is its leader, so latecomers find it. */
function currentVote(s: ReplicaState): Vote {
  if (s.role === "following") return { ...s.election.vote, leader: s.follower!.leader };
  if (s.role === "leading") return { ...s.election.vote, leader: s.config.id };
  return s.election.vote;
}

export function onNotification(
  s: ReplicaState,
  from: NodeId,
  m: Extract<PeerMessage, { type: "NOTIFICATION" }>,
): void {
  if (
    s.role === "following" &&
    from === s.follower!.leader &&
    m.state === "looking" &&
    m.round > s.election.round
  ) {
    // Our leader started a new election (it gave up leading): join it now rather than wait for
    // syncLimit, so servers with a longer history take part and can win.
    becomeLooking(s, `leader ${from} is looking again`);
  }
  if (s.role !== "looking") {
    if (m.state === "looking") notify(s, from);
    return;
  }
  const e = s.election;
  if (m.state !== "looking") {
    e.received.set(from, { vote: m.vote, round: m.round, state: m.state });
    joinEstablishedLeader(s, m.vote.leader);
    // A backer that decided first and follows our candidate still backs it (agreeingCount).
    if (s.role === "looking") armDecision(s);
    return;
  }
  if (m.round > e.round) {
    e.round = m.round;
    e.received.clear();
    e.vote = s.config.policy.voteIsBetter(m.vote, selfVote(s)) ? m.vote : selfVote(s);
    e.decideAtMs = undefined;
    notify(s);
  } else if (m.round < e.round) {
    notify(s, from);
    return;
  } else if (s.config.policy.voteIsBetter(m.vote, e.vote)) {
    e.vote = m.vote;
    e.decideAtMs = undefined;
    notify(s);
  }
  e.received.set(from, { vote: m.vote, round: m.round, state: m.state });
  armDecision(s);
}

/** Once a quorum agrees with our vote, decide after the finalize wait (electionTick). */
function armDecision(s: ReplicaState): void {
  const e = s.election;
  if (e.decideAtMs === undefined && agreeingCount(s) >= quorumSize(s.config))
    e.decideAtMs = s.nowMs + s.config.electionFinalizeMs;
}

/**
 * Our vote and every one of this round that matches it, looking or not: a server that decided
 * before us and follows our candidate says so with the same vote, and must still count (without
 * it the candidate could never reach a quorum while its backer waited for it to lead).
 */
function agreeingCount(s: ReplicaState): number {
  let count = 1; // our own vote
  for (const [, r] of s.election.received)
    if (r.round === s.election.round && sameVote(r.vote, s.election.vote)) count++;
  return count;
}

/** A quorum of servers outside the election back `leader`, and the leader itself says it leads. */
function joinEstablishedLeader(s: ReplicaState, leader: NodeId): void {
  if (leader === s.config.id) return;
  const leaderSays = s.election.received.get(leader);
  if (leaderSays?.state !== "leading" || leaderSays.vote.leader !== leader) return;
  let backers = 1; // counting ourselves as the joiner
  for (const [, r] of s.election.received)
    if (r.state !== "looking" && r.vote.leader === leader) backers++;
  if (backers >= quorumSize(s.config)) becomeFollower(s, leader);
}

/**
 * On tick: decide if the finalize wait has passed; otherwise re-announce (messages may be lost).
 */
export function electionTick(s: ReplicaState): void {
  const e = s.election;
  if (e.decideAtMs !== undefined && s.nowMs >= e.decideAtMs) {
    if (agreeingCount(s) >= quorumSize(s.config)) {
      if (e.vote.leader === s.config.id) becomeLeader(s);
      else becomeFollower(s, e.vote.leader);
      return;
    }
    e.decideAtMs = undefined;
  }
  notify(s);
}

export function onPeerUpWhileLooking(s: ReplicaState, peer: NodeId): void {
  notify(s, peer);
}

export type { ServerState };
