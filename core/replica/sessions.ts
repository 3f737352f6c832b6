// Sessions on the leader: ids, passwords, expiry. Followers only report which sessions they heard
// from (PONG.touched); the leader alone decides expiry, with a closeSession txn, on its own clock.

import { sha1 } from "@noble/hashes/legacy.js";
import { assert } from "../assert.ts";
import { ByteWriter } from "../codec.ts";
import type { Database } from "../database.ts";
import type { SessionId } from "../types.ts";
import { sessionId } from "../types.ts";
import type { NodeId } from "./messages.ts";
import type { LeaderState, ReplicaConfig } from "./state.ts";

/**
 * A new session id, unique across leader changes: the leader's id in the high byte, the low 24
 * bits of its epoch next, then a per-epoch counter. Epochs never repeat, so neither do ids.
 */
export function allocateSessionId(config: ReplicaConfig, leader: LeaderState): SessionId {
  assert(leader.sessionCounter < 0xffffffff, "session counter fits 32 bits within an epoch");
  leader.sessionCounter++;
  const value =
    (BigInt(config.id) << 56n) |
    (BigInt(leader.epoch & 0xffffff) << 32n) |
    BigInt(leader.sessionCounter);
  return sessionId(BigInt.asIntN(64, value));
}

/** 16 password bytes any server of the ensemble can recompute from the id and the shared secret. */
export function passwordFor(config: ReplicaConfig, id: SessionId): Uint8Array {
  const input = new ByteWriter(16).i64(config.passwordSecret).i64(id).finish();
  return sha1(input).slice(0, 16);
}

export function negotiateTimeout(config: ReplicaConfig, requestedMs: number): number {
  return Math.min(Math.max(requestedMs, config.minSessionTimeoutMs), config.maxSessionTimeoutMs);
}

/** A new leader gives every known session a full timeout to find it (as ZooKeeper does). */
export function trackAllSessions(
  leader: LeaderState,
  db: Database,
  self: NodeId,
  nowMs: number,
): void {
  leader.sessions.clear();
  for (const [id, timeoutMs] of db.sessions) {
    leader.sessions.set(id, {
      timeoutMs,
      expiresAtMs: nowMs + timeoutMs,
      owner: self,
      closing: false,
    });
  }
}

export function touchSession(leader: LeaderState, id: SessionId, nowMs: number): void {
  const info = leader.sessions.get(id);
  if (info !== undefined && !info.closing)
    info.expiresAtMs = Math.max(info.expiresAtMs, nowMs + info.timeoutMs);
}

/** Sessions past their deadline, in id order so expiry is deterministic. */
export function expiredSessions(leader: LeaderState, nowMs: number): SessionId[] {
  const expired: SessionId[] = [];
  for (const [id, info] of leader.sessions)
    if (!info.closing && info.expiresAtMs <= nowMs) expired.push(id);
  return expired.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
