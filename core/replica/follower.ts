// The follower's side of Zab: report its accepted epoch and history, accept the leader's epoch,
// take the leader's history (TRUNC, DIFF or SNAP), acknowledge NEWLEADER once it is durable, then
// log proposals, ACK them once durable and apply what the leader commits.

import { assert } from "../assert.ts";
import { decodeSnapshot } from "../storage.ts";
import { applyUpTo } from "./apply.ts";
import { currentEpochPersistPending, emit, persist, send } from "./outputs.ts";
import { appendToLog, truncateLog } from "./log.ts";
import type { NodeId, PeerMessage } from "./messages.ts";
import { becomeLooking } from "./roles.ts";
import type { FollowerState, ReplicaState } from "./state.ts";
import { lastLoggedZxid } from "./state.ts";
import type { Zxid } from "../types.ts";
import { completeForwardReply, dropSessionConnection } from "./clients.ts";

type Msg<T extends PeerMessage["type"]> = Extract<PeerMessage, { type: T }>;

/** What only a follower sends to its leader. */
const learnerMessageTypes: ReadonlySet<PeerMessage["type"]> = new Set<PeerMessage["type"]>([
  "FOLLOWERINFO",
  "ACKEPOCH",
  "ACK",
  "PONG",
  "FORWARD",
]);

export function followerOf(s: ReplicaState): FollowerState {
  assert(
    s.role === "following" && s.follower !== undefined,
    "follower state exists while following",
  );
  return s.follower;
}

/**
 * Handles a message from the leader we follow; anything from another server is stale and ignored.
 */
export function onLeaderMessage(s: ReplicaState, from: NodeId, m: PeerMessage): void {
  const f = followerOf(s);
  if (from !== f.leader) return;
  if (learnerMessageTypes.has(m.type)) {
    // The server we follow is itself following (we joined it on a late "leading" notification):
    // it will never lead us, and its handshakes must not keep our timeout fresh, or two servers
    // that follow each other wait for each other forever.
    becomeLooking(s, `leader ${from} is not leading: it sent ${m.type}`);
    return;
  }
  if ("attempt" in m && m.attempt !== f.attempt) return; // a reply to an earlier attempt of ours
  const epoch =
    m.type === "PROPOSAL" ? Number(m.txn.zxid >> 32n) : "epoch" in m ? m.epoch : undefined;
  if (epoch !== undefined && f.phase !== "discovery" && epoch !== f.epoch) {
    // The leader stepped down and leads again in a new epoch: this attempt is over; start afresh.
    becomeLooking(s, `leader ${from} moved on to epoch ${epoch}`);
    return;
  }
  f.lastHeardMs = s.nowMs;
  switch (m.type) {
    case "LEADERINFO":
      return onLeaderInfo(s, m);
    case "SYNC":
      return onSync(s, m);
    case "NEWLEADER":
      return onNewLeader(s, m);
    case "UPTODATE":
      return onUpToDate(s, m);
    case "PROPOSAL":
      if (f.phase !== "sync" && f.phase !== "broadcast") return;
      appendToLog(s, [m.txn]);
      s.config.policy.proposalLogged(s, m.txn.zxid, ackLogged);
      return;
    case "COMMIT":
      if (f.phase === "sync" || f.phase === "broadcast")
        applyUpTo(s, m.zxid < lastLoggedZxid(s) ? m.zxid : lastLoggedZxid(s));
      return;
    case "PING":
      if (m.epoch === f.epoch) {
        send(s, from, {
          type: "PONG",
          epoch: f.epoch,
          round: m.round,
          touched: [...s.clients.touched],
        });
        s.clients.touched.clear();
      }
      return;
    case "FORWARD_REPLY":
      return completeForwardReply(s, m.tag, m.ok, m.zxid);
    case "SESSION_MOVED":
      return dropSessionConnection(s, m.sessionId, "session moved to another server");
    default:
      return;
  }
}

/** ACKs a proposal as soon as it is logged: only a planted policy asks for that. */
function ackLogged(s: ReplicaState, zxid: Zxid): void {
  const f = followerOf(s);
  send(s, f.leader, { type: "ACK", attempt: f.attempt, epoch: f.epoch, zxid });
}

function onLeaderInfo(s: ReplicaState, m: Msg<"LEADERINFO">): void {
  const f = followerOf(s);
  if (f.phase !== "discovery") return;
  if (m.epoch < s.acceptedEpoch) {
    becomeLooking(s, `leader offered epoch ${m.epoch} below our accepted ${s.acceptedEpoch}`);
    return;
  }
  f.epoch = m.epoch;
  f.phase = "epochWait";
  if (m.epoch > s.acceptedEpoch) {
    s.acceptedEpoch = m.epoch;
    persist(
      s,
      [{ kind: "epochs", acceptedEpoch: s.acceptedEpoch, currentEpoch: s.currentEpoch }],
      [{ kind: "acceptedEpoch" }],
    );
  } else {
    followerAcceptedEpochDurable(s);
  }
}

/** Our accepted epoch is durable: answer with our history's position. */
export function followerAcceptedEpochDurable(s: ReplicaState): void {
  const f = followerOf(s);
  if (f.phase !== "epochWait") return;
  f.phase = "sync";
  send(s, f.leader, {
    type: "ACKEPOCH",
    attempt: f.attempt,
    epoch: f.epoch,
    currentEpoch: s.currentEpoch,
    lastZxid: lastLoggedZxid(s),
  });
}

function onSync(s: ReplicaState, m: Msg<"SYNC">): void {
  const f = followerOf(s);
  if (f.phase !== "sync" || m.epoch !== f.epoch) return;
  if (m.snapshot !== undefined) {
    installSnapshot(s, m.snapshot);
  } else if (m.truncZxid !== undefined) {
    truncateLog(s, m.truncZxid);
  }
  appendToLog(s, m.txns);
  applyUpTo(s, m.committedZxid < lastLoggedZxid(s) ? m.committedZxid : lastLoggedZxid(s));
}

/** SNAP: the leader's committed tree replaces ours, and our log with it. */
function installSnapshot(s: ReplicaState, bytes: Uint8Array): void {
  const db = decodeSnapshot(bytes, { extendedTypesEnabled: s.config.extendedTypesEnabled });
  assert(db.lastZxid >= s.db.lastZxid, "a snapshot from the leader never goes back in time");
  s.db = db;
  s.log = [];
  s.logBaseZxid = db.lastZxid;
  s.committedZxid = db.lastZxid;
  s.durableZxid = db.lastZxid;
  s.lastSnapshotZxid = db.lastZxid;
  s.appliedSinceSnapshot = 0;
  emit(s, { type: "treeReplaced", zxid: db.lastZxid, reason: "snapshot" });
  persist(
    s,
    [{ kind: "snapshot", zxid: db.lastZxid, bytes, replaceLog: true }],
    [{ kind: "snapshot", zxid: db.lastZxid }],
  );
}

function onNewLeader(s: ReplicaState, m: Msg<"NEWLEADER">): void {
  const f = followerOf(s);
  if (f.phase !== "sync" || m.epoch !== f.epoch) return;
  assert(lastLoggedZxid(s) === m.zxid, "after SYNC our log ends where the leader's does");
  f.newLeaderZxid = m.zxid;
  s.currentEpoch = m.epoch;
  persist(
    s,
    [{ kind: "epochs", acceptedEpoch: s.acceptedEpoch, currentEpoch: s.currentEpoch }],
    [{ kind: "currentEpoch", zxid: m.zxid }],
  );
}

/** Every write up to here (history and currentEpoch) is durable: acknowledge the leader. */
export function followerDurable(s: ReplicaState): void {
  const f = followerOf(s);
  if (f.newLeaderZxid === undefined || s.currentEpoch !== f.epoch) return;
  // The first ACK of an epoch also says "currentEpoch is durable" (the NEWLEADER ack): wait for it.
  if (currentEpochPersistPending(s)) return;
  send(s, f.leader, { type: "ACK", attempt: f.attempt, epoch: f.epoch, zxid: s.durableZxid });
}

function onUpToDate(s: ReplicaState, m: Msg<"UPTODATE">): void {
  const f = followerOf(s);
  if (f.phase !== "sync" || f.newLeaderZxid === undefined) return;
  f.phase = "broadcast";
  applyUpTo(s, m.committedZxid < lastLoggedZxid(s) ? m.committedZxid : lastLoggedZxid(s));
}

/** On tick: give up on a leader we have not heard from for too long. */
export function followerTick(s: ReplicaState): void {
  const f = followerOf(s);
  if (f.phase === "discovery") {
    // The leader may not have been leading yet when our FOLLOWERINFO arrived: say it again.
    send(s, f.leader, {
      type: "FOLLOWERINFO",
      attempt: f.attempt,
      acceptedEpoch: s.acceptedEpoch,
      lastZxid: lastLoggedZxid(s),
    });
  }
  const limitTicks = f.phase === "broadcast" ? s.config.syncLimit : s.config.initLimit;
  if (s.nowMs - f.lastHeardMs > limitTicks * s.config.tickMs) {
    becomeLooking(s, `no word from leader ${f.leader} for ${s.nowMs - f.lastHeardMs} ms`);
  }
}
