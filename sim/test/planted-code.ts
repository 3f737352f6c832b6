// Planted bugs in the core's code (the tree, sessions, watches, recovery), for proving that the
// simulator's workload reaches them and its checks see them. Nothing here is reachable from the
// production path: each bug is applied only by a test, by one of three mechanisms:
// - prep: wrappers of core/prep.ts's exports, installed by the test file's vi.mock of that module
//   and active only while the test names the bug (plantedPrep, in planted-prep.ts);
// - patch: a method of a core class (or of the simulated disk) replaced for the duration of a
//   test and restored after (plantedPatches);
// - step: a step function handed to runSimulation, as plantedSteps in planted-bugs.ts are.

import { Database } from "../../core/database.ts";
import type { TxnResult } from "../../core/database.ts";
import type { DurableState, StepFunction } from "../../core/replica/index.ts";
import { SimDisk } from "../disk.ts";
import { step } from "../../core/replica/index.ts";
import type { WatchTrigger } from "../../core/tree.ts";
import type { Txn, TxnBody } from "../../core/txn.ts";
import { parentPath, rootPath } from "../../core/path.ts";
import type { SessionId } from "../../core/types.ts";
import { WatchManager } from "../../core/watches.ts";

interface DatabaseInternals {
  applyMulti(txn: Txn, ops: readonly TxnBody[], triggers: WatchTrigger[]): TxnResult;
  applyBody(txn: Txn, body: TxnBody, triggers: WatchTrigger[]): TxnResult;
}

/** Bugs planted by replacing a core method for one test; each returns its undo. */
export const plantedPatches: Record<string, () => () => void> = {
  /** A failed multi applies the ops before its failing one (and still reports the failure). */
  "multi-applies-ops-before-failure": () => {
    const prototype = Database.prototype as unknown as DatabaseInternals;
    const original = prototype.applyMulti;
    prototype.applyMulti = function (this: DatabaseInternals, txn, ops, triggers) {
      const failedAt = ops.findIndex((op) => op.type === "error");
      for (const op of failedAt < 0 ? [] : ops.slice(0, failedAt))
        this.applyBody(txn, op, triggers);
      return original.call(this, txn, ops, triggers);
    };
    return () => {
      prototype.applyMulti = original;
    };
  },
  /**
   * Recovery stops one record short (an off-by-one in the scan for the last whole record): what a
   * restarting server reads from its disk lacks the last txn it logged, maybe one it ACKed.
   */
  "recovery-drops-last-record": () => {
    const prototype = SimDisk.prototype;
    const original = prototype.recover;
    prototype.recover = function (this: SimDisk): DurableState {
      const durable = original.call(this);
      return { ...durable, log: durable.log.slice(0, -1) };
    };
    return () => {
      prototype.recover = original;
    };
  },
};

/** Bugs planted by wrapping the core's step (as plantedSteps in planted-bugs.ts). */
export const plantedCodeSteps: Record<string, StepFunction> = {
  /** Watch events go out after every reply of the same step, so a read may overtake its event. */
  "watch-event-after-reply": (s, input, nowMs) => {
    const result = step(s, input, nowMs);
    const events = result.effects.filter((e) => e.type === "watchEvent");
    if (events.length > 0)
      result.effects = [...result.effects.filter((e) => e.type !== "watchEvent"), ...events];
    return result;
  },
};

interface WatchManagerInternals {
  readonly tables: { data: Map<string, Map<SessionId, number>> };
  collectAncestors(path: string, out: Set<SessionId>): void;
}

/** WatchStats' recursive bit (core/watches.ts). */
const recursiveBit = 4;

/** Bugs in the watch manager (core/watches.ts), planted like plantedPatches. */
export const plantedWatchPatches: Record<string, () => () => void> = {
  /** A recursive watch looks only one level up: changes to grandchildren never reach it. */
  "recursive-watch-misses-grandchildren": () => {
    const prototype = WatchManager.prototype as unknown as WatchManagerInternals;
    const original = prototype.collectAncestors;
    prototype.collectAncestors = function (this: WatchManagerInternals, path, out) {
      if (path === rootPath) return;
      for (const [session, bits] of this.tables.data.get(parentPath(path)) ?? [])
        if ((bits & recursiveBit) !== 0) out.add(session);
    };
    return () => {
      prototype.collectAncestors = original;
    };
  },
  /** setWatches re-registers one-shot watches only: persistent ones die with the connection. */
  "set-watches-drops-persistent": () => {
    const prototype = WatchManager.prototype;
    const original = prototype.setWatches;
    prototype.setWatches = function (this: WatchManager, session, relativeZxid, lists, db) {
      const oneShot = { ...lists, persistent: [], persistentRecursive: [] };
      return original.call(this, session, relativeZxid, oneShot, db);
    };
    return () => {
      prototype.setWatches = original;
    };
  },
};
