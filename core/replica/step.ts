// The single entry point of a replica: step(state, input) -> { state, effects }. Cross-role work
// (clock, peer links, persistence completions, clients) happens here; then one switch on the role.
// See io.ts for the order in which a harness must carry out the effects.

import { assert, InvariantViolation } from "../assert.ts";
import type { SessionId } from "../types.ts";
import { emit } from "./outputs.ts";
import {
  completeForwardReply,
  dropSessionConnection,
  onClientConnect,
  onClientDisconnect,
  onClientRequest,
} from "./clients.ts";
import { electionTick, onNotification, onPeerUpWhileLooking } from "./election.ts";
import {
  followerAcceptedEpochDurable,
  followerDurable,
  followerOf,
  followerTick,
  onLeaderMessage,
} from "./follower.ts";
import type { DurableState, Effect, Input } from "./io.ts";
import {
  checkDiscovery,
  leaderAcceptedEpochDurable,
  leaderOf,
  leaderSelfSynced,
  onAck,
  onAckEpoch,
  onFollowerInfo,
  onLearnerDown,
  tryCommit,
} from "./leader.ts";
import type { NodeId, PeerMessage } from "./messages.ts";
import { becomeLeader, becomeLooking, isServing } from "./roles.ts";
import type { PersistAction, ReplicaConfig, ReplicaState } from "./state.ts";
import { initReplica, lastLoggedZxid, quorumSize } from "./state.ts";
import {
  leaderDoWork,
  leaderHousekeeping,
  onPong,
  pingLearners,
  submitWork,
} from "./leader-clients.ts";
import { replicaStatus, sameStatus } from "./status.ts";

export interface StepResult {
  state: ReplicaState;
  effects: Effect[];
}

/** Starts (or restarts after a crash) a node from what its disk holds. */
export function startReplica(
  config: ReplicaConfig,
  durable: DurableState | undefined,
  nowMs: number,
): StepResult {
  const s = initReplica(config, durable, nowMs);
  emit(s, { type: "treeReplaced", zxid: s.db.lastZxid, reason: "recovered" });
  becomeLooking(s, "starting");
  afterStep(s);
  return { state: s, effects: s.effects };
}

/** One input at the harness's current clock reading `nowMs` (io.ts, rule 5). */
export function step(s: ReplicaState, input: Input, nowMs: number): StepResult {
  s.effects = [];
  s.nowMs = nowMs;
  switch (input.type) {
    case "tick":
      s.timerAtMs = undefined; // a tick consumes the timer: always ask for the next one
      onTick(s);
      break;
    case "peerMessage":
      onPeerMessage(s, input.from, input.message);
      break;
    case "peerUp":
      onPeerUp(s, input.peer);
      break;
    case "peerDown":
      onPeerDown(s, input.peer);
      break;
    case "persistDone":
      onPersistDone(s, input.id);
      break;
    case "clientConnect":
      onClientConnect(s, input);
      break;
    case "clientRequest":
      onClientRequest(s, input.connId, input.xid, input.request);
      break;
    case "clientDisconnect":
      onClientDisconnect(s, input.connId);
      break;
  }
  routeHandoffs(s);
  afterStep(s);
  return { state: s, effects: s.effects };
}

/** Carries each handoff to the part it is for, in order; routing one may queue more. */
function routeHandoffs(s: ReplicaState): void {
  for (let handoff = s.handoffs.shift(); handoff !== undefined; handoff = s.handoffs.shift()) {
    if (handoff.to === "leader") {
      if (isServing(s)) submitWork(s, handoff.work); // else its client was dropped with the role
    } else if (handoff.kind === "answer") {
      completeForwardReply(s, handoff.tag, handoff.ok, handoff.zxid);
    } else {
      dropSessionConnection(s, handoff.sessionId, handoff.reason);
    }
  }
}

function onTick(s: ReplicaState): void {
  switch (s.role) {
    case "looking":
      electionTick(s);
      if (s.leader !== undefined) startLeading(s); // the election ended with us leading
      return;
    case "following":
      return followerTick(s);
    case "leading":
      return leaderTick(s);
  }
}

function startLeading(s: ReplicaState): void {
  checkDiscovery(s); // a single-server ensemble is its own quorum
}

function leaderTick(s: ReplicaState): void {
  const leader = leaderOf(s);
  const tickMs = s.config.tickMs;
  if (leader.phase !== "broadcast") {
    if (s.nowMs - leader.establishedAtMs > s.config.initLimit * tickMs)
      becomeLooking(s, "no quorum joined within initLimit");
    return;
  }
  let heard = 1;
  for (const [, learner] of leader.learners) {
    if (learner.phase === "synced" && s.nowMs - learner.lastHeardMs <= s.config.syncLimit * tickMs)
      heard++;
  }
  if (heard >= quorumSize(s.config)) leader.lastQuorumHeardMs = s.nowMs;
  else if (s.nowMs - leader.lastQuorumHeardMs > s.config.syncLimit * tickMs) {
    becomeLooking(s, "lost contact with a quorum");
    return;
  }
  leader.pingRound++;
  pingLearners(s);
  leaderHousekeeping(s);
}

function onPeerMessage(s: ReplicaState, from: NodeId, m: PeerMessage): void {
  if (m.type === "NOTIFICATION") {
    const wasLooking = s.role === "looking";
    onNotification(s, from, m);
    if (wasLooking && s.role === "leading") startLeading(s);
    return;
  }
  if (s.role === "following") return onLeaderMessage(s, from, m);
  if (s.role !== "leading") return;
  switch (m.type) {
    case "FOLLOWERINFO":
      return onFollowerInfo(s, from, m);
    case "ACKEPOCH":
      return onAckEpoch(s, from, m);
    case "ACK":
      return onAck(s, from, m);
    case "PONG":
      return onPong(s, from, m.round, m.epoch, m.touched as SessionId[]);
    case "FORWARD":
      if (leaderOf(s).learners.get(from)?.phase === "synced") leaderDoWork(s, from, m.work);
      return;
    default:
      return; // messages for followers reach a leader only from a stale epoch
  }
}

function onPeerUp(s: ReplicaState, peer: NodeId): void {
  s.peersUp.add(peer);
  if (s.role === "looking") onPeerUpWhileLooking(s, peer);
  else if (
    s.role === "following" &&
    followerOf(s).leader === peer &&
    followerOf(s).phase === "discovery"
  ) {
    emit(s, {
      type: "send",
      to: peer,
      message: {
        type: "FOLLOWERINFO",
        attempt: followerOf(s).attempt,
        acceptedEpoch: s.acceptedEpoch,
        lastZxid: lastLoggedZxid(s),
      },
    });
  }
}

function onPeerDown(s: ReplicaState, peer: NodeId): void {
  s.peersUp.delete(peer);
  if (s.role === "following" && followerOf(s).leader === peer)
    becomeLooking(s, `connection to leader ${peer} broke`);
  else if (s.role === "leading") onLearnerDown(s, peer);
}

/**
 * Persists complete in the order they were issued: `id` and every one before it are done, and
 * their actions run now, in order. Consecutive appends tell the role once that the log is durable
 * up to the newest of them: one ACK or commit round for the lot, not one per persist.
 */
function onPersistDone(s: ReplicaState, id: number): void {
  const first = s.persists[0];
  if (first === undefined || first.id > id)
    throw new InvariantViolation(`persistDone ${id} arrives in issue order`);
  let appended = false;
  while (s.persists.length > 0 && s.persists[0]!.id <= id) {
    // Told before a persist with other actions leaves the queue, the role sees what it saw when
    // each persist was reported alone (followerDurable waits for a pending currentEpoch).
    if (appended && s.persists[0]!.actions.some((a) => a.kind !== "append")) {
      logDurable(s);
      appended = false;
    }
    const done = s.persists.shift()!;
    for (const action of done.actions) {
      if (action.kind === "append") {
        const last = lastLoggedZxid(s);
        const durable = action.zxid < last ? action.zxid : last;
        if (durable > s.durableZxid) s.durableZxid = durable;
        appended = true;
        continue;
      }
      if (appended) logDurable(s);
      appended = false;
      runPersistAction(s, action);
    }
  }
  if (appended) logDurable(s);
}

/** The log is durable up to s.durableZxid: the role acknowledges or commits what that allows. */
function logDurable(s: ReplicaState): void {
  if (s.role === "leading" && leaderOf(s).phase === "broadcast") tryCommit(s);
  else if (s.role === "leading") leaderSelfSynced(s);
  else if (s.role === "following") followerDurable(s);
}

function runPersistAction(s: ReplicaState, action: PersistAction): void {
  switch (action.kind) {
    case "append":
      return; // onPersistDone records it
    case "acceptedEpoch":
      if (s.role === "leading") leaderAcceptedEpochDurable(s);
      else if (s.role === "following") followerAcceptedEpochDurable(s);
      return;
    case "currentEpoch":
      if (s.role === "leading") leaderSelfSynced(s);
      else if (s.role === "following") followerDurable(s);
      return;
    case "snapshot":
      return;
  }
}

function afterStep(s: ReplicaState): void {
  const status = replicaStatus(s);
  if (s.lastStatus === undefined || !sameStatus(status, s.lastStatus)) {
    s.lastStatus = status;
    emit(s, { type: "status", status });
  }
  let next = s.nowMs + s.config.tickMs;
  const decideAt = s.election.decideAtMs;
  if (s.role === "looking" && decideAt !== undefined && decideAt < next)
    next = Math.max(decideAt, s.nowMs);
  // A timer already due stays as it is: the harness fires it, and re-arming it later on every
  // other input would starve the tick under steady load.
  if (s.timerAtMs === undefined || next < s.timerAtMs) {
    s.timerAtMs = next;
    emit(s, { type: "setTimer", atMs: next });
  }
  if (s.role !== "leading") assert(s.leader === undefined, "only a leader has leader state");
  if (s.role !== "following")
    assert(s.follower === undefined, "only a follower has follower state");
  if (!isServing(s))
    assert(
      s.clients.conns.size === 0 ||
        [...s.clients.conns.values()].every((c) => !c.established) ||
        s.role !== "looking",
      "a looking server has no clients",
    );
}

export { becomeLeader };
