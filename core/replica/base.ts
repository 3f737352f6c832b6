// Small shared mechanics of a replica: emitting effects, the in-memory log and its persistence.

import { assert } from "../assert.ts";
import type { Txn } from "../txn.ts";
import type { Zxid } from "../types.ts";
import type { DiskWrite, Effect } from "./io.ts";
import type { NodeId, PeerMessage } from "./messages.ts";
import type { PersistAction, ReplicaState } from "./state.ts";
import { lastLoggedZxid } from "./state.ts";

export function emit(s: ReplicaState, effect: Effect): void {
  s.effects.push(effect);
}

export function send(s: ReplicaState, to: NodeId, message: PeerMessage): void {
  assert(to !== s.config.id, "a node does not message itself");
  emit(s, { type: "send", to, message });
}

export function sendToAll(s: ReplicaState, message: PeerMessage): void {
  for (const peer of s.config.peers) if (peer !== s.config.id) send(s, peer, message);
}

/** Emits a persist effect; `actions` run when the harness reports it durable. */
export function persist(s: ReplicaState, writes: DiskWrite[], actions: PersistAction[]): void {
  const id = s.nextPersistId++;
  s.persists.push({ id, actions });
  emit(s, { type: "persist", id, writes });
}

/** Appends txns to the log (memory now, disk via persist); durable once persistDone arrives. */
export function appendToLog(s: ReplicaState, txns: readonly Txn[]): void {
  if (txns.length === 0) return;
  let last = lastLoggedZxid(s);
  for (const txn of txns) {
    assert(txn.zxid > last, `log append ${txn.zxid} follows ${last}`);
    last = txn.zxid;
    s.log.push(txn);
  }
  persist(s, [{ kind: "append", txns }], [{ kind: "append", zxid: last }]);
}

/** Drops the log's uncommitted tail after `z` (TRUNC). Committed txns are never truncated. */
export function truncateLog(s: ReplicaState, z: Zxid): void {
  assert(z >= s.db.lastZxid, `truncate to ${z} keeps every applied txn (applied ${s.db.lastZxid})`);
  while (s.log.length > 0 && s.log[s.log.length - 1]!.zxid > z) s.log.pop();
  if (s.durableZxid > z) s.durableZxid = z;
  persist(s, [{ kind: "truncate", zxid: z }], []);
}

/** Index of the txn with zxid `z` in the log, or -1. */
export function logIndexOf(s: ReplicaState, z: Zxid): number {
  let lo = 0;
  let hi = s.log.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const at = s.log[mid]!.zxid;
    if (at === z) return mid;
    if (at < z) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** Txns logged after `z`, in order. */
export function logAfter(s: ReplicaState, z: Zxid): Txn[] {
  let lo = 0;
  let hi = s.log.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (s.log[mid]!.zxid <= z) lo = mid + 1;
    else hi = mid;
  }
  return s.log.slice(lo);
}

export function setTimer(s: ReplicaState, atMs: number): void {
  if (s.timerAtMs === undefined || atMs < s.timerAtMs) {
    s.timerAtMs = atMs;
    emit(s, { type: "setTimer", atMs });
  }
}
