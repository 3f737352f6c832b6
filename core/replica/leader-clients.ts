// Client work on the leader, whether it came from one of its own clients or was forwarded by a
// follower: writes are decided into txns and proposed; sessions are created, closed and
// revalidated; syncs wait for a quorum round that started after they arrived, so sync + read is
// linearizable.

import { Err } from "../errors.ts";
import { prepareCloseSession, prepareDeleteContainer, prepareTxn } from "../prep.ts";
import type { PrepConfig } from "../prep.ts";
import { expiredNodeCandidates } from "../reaper.ts";
import { fromTreeZxid } from "../pending.ts";
import { reaperDeletesPerPassMax, syncsWaitingMax } from "../limits.ts";
import type { RequestContext } from "../requests.ts";
import type { SessionId } from "../types.ts";
import { sessionId as toSessionId } from "../types.ts";
import { assert } from "../assert.ts";
import { emit, handOff, send } from "./outputs.ts";
import { leaderOf, nextZxid, propose } from "./leader.ts";
import type { ForwardedWork, NodeId } from "./messages.ts";
import { allocateSessionId, expiredSessions, touchSession } from "./sessions.ts";
import type { LeaderState, ReplicaState } from "./state.ts";
import { quorumSize } from "./state.ts";

/** Hands client work to the leader: directly when we lead, else over the wire. */
export function submitWork(s: ReplicaState, work: ForwardedWork): void {
  if (s.role === "leading") return leaderDoWork(s, s.config.id, work);
  assert(
    s.role === "following" && s.follower!.phase === "broadcast",
    "only a serving server takes client work",
  );
  send(s, s.follower!.leader, { type: "FORWARD", work });
}

const prepConfig = (s: ReplicaState): PrepConfig => ({
  extendedTypesEnabled: s.config.extendedTypesEnabled,
  dataBytesMax: s.config.dataBytesMax,
});

function sessionError(leader: LeaderState, id: SessionId, origin: NodeId): number {
  const info = leader.sessions.get(id);
  if (info === undefined || info.closing) return Err.SESSIONEXPIRED;
  return info.owner === origin ? Err.OK : Err.SESSIONMOVED;
}

export function leaderDoWork(s: ReplicaState, origin: NodeId, work: ForwardedWork): void {
  const leader = leaderOf(s);
  if (leader.phase !== "broadcast") return; // the asker times out and its clients reconnect
  switch (work.kind) {
    case "write": {
      const ctx: RequestContext = {
        sessionId: work.sessionId,
        cxid: work.cxid,
        authIds: work.authIds,
      };
      const error = sessionError(leader, work.sessionId, origin);
      if (error === Err.OK) touchSession(leader, work.sessionId, s.nowMs);
      const input = {
        db: s.db,
        pending: leader.pending,
        config: prepConfig(s),
        ctx,
        sessionError: error,
        zxid: nextZxid(s),
        nowMs: s.nowMs,
      };
      return propose(s, prepareTxn(input, work.request));
    }
    case "createSession": {
      const id = allocateSessionId(s.config, leader);
      leader.sessions.set(id, {
        timeoutMs: work.timeoutMs,
        expiresAtMs: s.nowMs + work.timeoutMs,
        owner: origin,
        closing: false,
      });
      const body = {
        type: "createSession" as const,
        timeoutMs: work.timeoutMs,
        originServer: origin,
        originTag: work.tag,
      };
      return propose(s, { zxid: nextZxid(s), sessionId: id, cxid: 0, timeMs: s.nowMs, body });
    }
    case "closeSession":
      return closeSession(
        s,
        work.sessionId,
        work.cxid,
        sessionError(leader, work.sessionId, origin),
      );
    case "revalidate":
      return revalidate(s, origin, work.tag, work.sessionId);
    case "sync": {
      leader.pingRound++;
      leader.syncs.push({
        from: origin,
        tag: work.tag,
        round: leader.pingRound,
        zxid: s.committedZxid,
      });
      assert(
        leader.syncs.length <= syncsWaitingMax,
        "syncs waiting for a quorum round stay bounded",
      );
      pingLearners(s);
      return resolveSyncs(s);
    }
  }
}

function closeSession(s: ReplicaState, id: SessionId, cxid: number, error: number): void {
  const leader = leaderOf(s);
  if (error !== Err.OK) {
    const body = { type: "error" as const, err: error };
    return propose(s, { zxid: nextZxid(s), sessionId: id, cxid, timeMs: s.nowMs, body });
  }
  leader.sessions.get(id)!.closing = true;
  const ctx: RequestContext = { sessionId: id, cxid, authIds: [] };
  propose(
    s,
    prepareCloseSession({
      db: s.db,
      pending: leader.pending,
      config: prepConfig(s),
      ctx,
      zxid: nextZxid(s),
      nowMs: s.nowMs,
    }),
  );
}

function expireSession(s: ReplicaState, id: SessionId): void {
  const info = leaderOf(s).sessions.get(id)!;
  const silentMs = s.nowMs - (info.expiresAtMs - info.timeoutMs);
  closeSession(s, id, 0, Err.OK);
  const txn = s.log[s.log.length - 1]!;
  assert(txn.sessionId === id && txn.body.type === "closeSession", "an expiry proposes its close");
  const ephemerals = txn.body.ephemerals.length;
  emit(s, {
    type: "sessionExpired",
    sessionId: id,
    timeoutMs: info.timeoutMs,
    silentMs,
    zxid: txn.zxid,
    ephemerals,
  });
}

/**
 * A client brought its session to `origin`: the session is alive, and `origin` owns it from now on.
 */
function revalidate(s: ReplicaState, origin: NodeId, tag: number, id: SessionId): void {
  const leader = leaderOf(s);
  const info = leader.sessions.get(id);
  const okay = info !== undefined && !info.closing;
  if (okay) {
    const previous = info.owner;
    info.owner = origin;
    touchSession(leader, id, s.nowMs);
    if (previous !== origin) {
      if (previous === s.config.id) {
        handOff(s, {
          to: "clients",
          kind: "drop",
          sessionId: id,
          reason: "session moved to another server",
        });
      } else if (leader.learners.has(previous))
        send(s, previous, { type: "SESSION_MOVED", sessionId: id });
    }
  }
  if (origin === s.config.id)
    handOff(s, { to: "clients", kind: "answer", tag, ok: okay, zxid: s.committedZxid });
  else send(s, origin, { type: "FORWARD_REPLY", tag, ok: okay, zxid: s.committedZxid });
}

export function pingLearners(s: ReplicaState): void {
  const leader = leaderOf(s);
  for (const [id, learner] of leader.learners) {
    if (learner.phase === "syncing" || learner.phase === "synced")
      send(s, id, { type: "PING", epoch: leader.epoch, round: leader.pingRound });
  }
}

/** Answers every sync whose ping round a quorum (us included) has answered. */
export function resolveSyncs(s: ReplicaState): void {
  const leader = leaderOf(s);
  while (leader.syncs.length > 0) {
    const sync = leader.syncs[0]!;
    let answered = 1;
    for (const [id, round] of leader.roundAcks)
      if (round >= sync.round && leader.learners.get(id)?.phase === "synced") answered++;
    if (answered < quorumSize(s.config)) return;
    leader.syncs.shift();
    if (sync.from === s.config.id)
      handOff(s, { to: "clients", kind: "answer", tag: sync.tag, ok: true, zxid: sync.zxid });
    else send(s, sync.from, { type: "FORWARD_REPLY", tag: sync.tag, ok: true, zxid: sync.zxid });
  }
}

export function onPong(
  s: ReplicaState,
  from: NodeId,
  round: number,
  epoch: number,
  touched: readonly SessionId[],
): void {
  const leader = leaderOf(s);
  const learner = leader.learners.get(from);
  if (learner === undefined || epoch !== leader.epoch) return;
  learner.lastHeardMs = s.nowMs;
  leader.roundAcks.set(from, Math.max(round, leader.roundAcks.get(from) ?? 0));
  for (const id of touched) touchSession(leader, id, s.nowMs);
  resolveSyncs(s);
}

/** The leader's periodic duties: expire sessions, reap containers and TTL nodes. */
export function leaderHousekeeping(s: ReplicaState): void {
  const leader = leaderOf(s);
  for (const id of expiredSessions(leader, s.nowMs)) expireSession(s, id);
  const reaper: RequestContext = { sessionId: toSessionId(0n), cxid: 0, authIds: [] };
  for (const path of expiredNodeCandidates(s.db.tree, s.nowMs, reaperDeletesPerPassMax)) {
    const view = leader.pending.lookup(s.db, path);
    if (view === undefined || view.childCount > 0) continue; // already going, or refilled meanwhile
    // A change to it is decided but not applied (a touch of a TTL node, a child coming or going):
    // the candidate was judged on the tree before it, so it waits for a later pass.
    if (view.zxid !== fromTreeZxid) continue;
    const input = {
      db: s.db,
      pending: leader.pending,
      config: prepConfig(s),
      ctx: reaper,
      zxid: nextZxid(s),
      nowMs: s.nowMs,
    };
    propose(s, prepareDeleteContainer(input, path));
  }
}
