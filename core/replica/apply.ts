// Applying committed txns at a replica: the tree changes, watches fire, waiting clients get their
// replies (after the watch events, so a client sees an event before data that reflects it), the
// leader's speculative view and session table follow, and snapshots are taken every so often.

import { assert } from "../assert.ts";
import { encodeSnapshot } from "../storage.ts";
import type { Txn } from "../txn.ts";
import type { Zxid } from "../types.ts";
import { emit, persist } from "./outputs.ts";
import { logIndexAfter } from "./log.ts";
import { completeTxn } from "./clients.ts";
import type { ReplicaState } from "./state.ts";

/** Applies every logged txn up to `z`, in order; they are committed. */
export function applyUpTo(s: ReplicaState, z: Zxid): void {
  if (z <= s.db.lastZxid) return;
  const applied: Txn[] = [];
  // Walks the log in place: a slice of the unapplied tail, copied at every commit, was one of the
  // larger allocations of a leader with many writes in flight.
  for (let i = logIndexAfter(s, s.db.lastZxid); i < s.log.length; i++) {
    const txn = s.log[i]!;
    if (txn.zxid > z) break;
    applyOne(s, txn);
    applied.push(txn);
  }
  if (applied.length > 0) emit(s, { type: "applied", txns: applied });
  if (s.db.lastZxid > s.committedZxid) s.committedZxid = s.db.lastZxid;
  maybeSnapshot(s);
}

function applyOne(s: ReplicaState, txn: Txn): void {
  const outcome = s.db.applyTxn(txn);
  s.appliedSinceSnapshot++;
  if (s.role === "leading") leaderAfterApply(s, txn);
  for (const event of s.watches.trigger(outcome.triggers, txn.zxid)) {
    const connId = s.clients.bySession.get(event.sessionId);
    if (connId !== undefined) emit(s, { type: "watchEvent", connId, event });
  }
  completeTxn(s, txn, outcome.result);
}

function leaderAfterApply(s: ReplicaState, txn: Txn): void {
  const leader = s.leader!;
  leader.pending.prune(txn.zxid);
  if (txn.body.type === "closeSession") leader.sessions.delete(txn.sessionId);
  if (txn.body.type === "createSession" && !leader.sessions.has(txn.sessionId)) {
    const timeoutMs = txn.body.timeoutMs;
    leader.sessions.set(txn.sessionId, {
      timeoutMs,
      expiresAtMs: s.nowMs + timeoutMs,
      owner: txn.body.originServer,
      closing: false,
    });
  }
}

/**
 * A consistent snapshot every `snapshotEveryTxns` applied txns (a harness may set it to Infinity
 * and snapshot elsewhere, from a copy it keeps of the committed txns: net/ does, off the event
 * loop).
 */
function maybeSnapshot(s: ReplicaState): void {
  if (s.appliedSinceSnapshot >= s.config.snapshotEveryTxns) {
    s.appliedSinceSnapshot = 0;
    s.lastSnapshotZxid = s.db.lastZxid;
    persist(
      s,
      [{ kind: "snapshot", zxid: s.db.lastZxid, bytes: encodeSnapshot(s.db), replaceLog: false }],
      [{ kind: "snapshot", zxid: s.db.lastZxid }],
    );
  }
  trimAppliedLog(s);
}

/**
 * Keeps `commitLogKeep` applied txns in memory for DIFFs, trimming once an eighth more piled up
 * (a splice per batch, not per apply). Not up to twice as many, as it did: a txn kept about as
 * long as a server takes between scavenges is promoted, and once most of an allocation site's
 * objects are alive at a scavenge, V8 allocates them all in the old generation. Under setData at
 * 16x16 the leader's old generation grew by 480 KB per scavenge with the longer log, 220 KB with
 * this one (most of the rest was a spread in prep, since gone).
 */
function trimAppliedLog(s: ReplicaState): void {
  const most = s.config.commitLogKeep + Math.ceil(s.config.commitLogKeep / 8);
  if (s.log.length <= most) return; // runs after every apply: skip the search
  // A binary search: with many txns in flight the log holds more than that for hundreds of
  // applies in a row, and a scan from its start at each one was quadratic.
  const applied = logIndexAfter(s, s.db.lastZxid);
  if (applied <= most) return;
  const drop = applied - s.config.commitLogKeep;
  s.logBaseZxid = s.log[drop - 1]!.zxid;
  s.log.splice(0, drop);
  assert(s.logBaseZxid <= s.db.lastZxid, "the log keeps every unapplied txn");
}
