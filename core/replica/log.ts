// The replica's in-memory log of txns after `logBaseZxid`: appends and truncations (made durable
// through persist effects) and lookups by zxid.

import { assert, InvariantViolation } from "../assert.ts";
import type { Txn } from "../txn.ts";
import type { Zxid } from "../types.ts";
import { persist } from "./outputs.ts";
import type { ReplicaState } from "./state.ts";
import { lastLoggedZxid } from "./state.ts";

/** Appends txns to the log (memory now, disk via persist); durable once persistDone arrives. */
export function appendToLog(s: ReplicaState, txns: readonly Txn[]): void {
  if (txns.length === 0) return;
  let last = lastLoggedZxid(s);
  for (const txn of txns) {
    // Not assert(): its message would format two bigints on every append.
    if (txn.zxid <= last) throw new InvariantViolation(`log append ${txn.zxid} follows ${last}`);
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

/** Index of the first txn logged after `z` (the log's length when there is none). */
export function logIndexAfter(s: ReplicaState, z: Zxid): number {
  let lo = 0;
  let hi = s.log.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (s.log[mid]!.zxid <= z) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Txns logged after `z`, in order. */
export function logAfter(s: ReplicaState, z: Zxid): Txn[] {
  return s.log.slice(logIndexAfter(s, z));
}
