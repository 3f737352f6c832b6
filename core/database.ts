// The replicated state: the tree plus the sessions table and the last applied zxid. applyTxn is the
// only way it changes, on the leader, on followers and on replay from the log.

import { assert, InvariantViolation } from "./assert.ts";
import { Err } from "./errors.ts";
import { statOf, DataTree } from "./tree.ts";
import type { TreeOptions, WatchTrigger } from "./tree.ts";
import type { Txn, TxnBody } from "./txn.ts";
import { zxid } from "./types.ts";
import type { SessionId, Stat, Zxid } from "./types.ts";

/** What applying one txn (or one op of a multi) produced, for building the client's reply. */
export interface TxnResult {
  err: number;
  path?: string;
  stat?: Stat;
  /** Per-op results of a multi, in order. */
  results?: TxnResult[];
}

export interface ApplyOutcome {
  result: TxnResult;
  triggers: readonly WatchTrigger[];
}

const noTriggers: readonly WatchTrigger[] = Object.freeze([]);

export class Database {
  readonly tree: DataTree;
  /** Live sessions and their negotiated timeouts (ZKDatabase.sessionsWithTimeouts). */
  readonly sessions = new Map<SessionId, number>();
  lastZxid: Zxid = zxid(0n);

  constructor(options: TreeOptions) {
    this.tree = new DataTree(options);
  }

  /** Applies a committed txn. Txns arrive in zxid order; a gap or repeat is a bug. */
  applyTxn(txn: Txn): ApplyOutcome {
    // Not assert(): its message would format two bigints on every apply.
    if (txn.zxid <= this.lastZxid) {
      throw new InvariantViolation(`txn ${txn.zxid} follows last applied ${this.lastZxid}`);
    }
    const outcome = this.applyBody(txn, txn.body);
    this.lastZxid = txn.zxid;
    return outcome;
  }

  /** A single op's triggers are the tree's own list: no list gathered per txn for one op. */
  private applyBody(txn: Txn, body: TxnBody): ApplyOutcome {
    const tree = this.tree;
    switch (body.type) {
      case "create": {
        const triggers = tree.createNode({
          path: body.path,
          data: body.data,
          acl: body.acl,
          ephemeralOwner: body.ephemeralOwner,
          parentCversion: body.parentCversion,
          zxid: txn.zxid,
          timeMs: txn.timeMs,
        });
        const stat = statOf(tree.mustGet(body.path));
        return { result: { err: Err.OK, path: body.path, stat }, triggers };
      }
      case "delete":
        return {
          result: { err: Err.OK, path: body.path },
          triggers: tree.deleteNode(body.path, txn.zxid),
        };
      case "setData": {
        const triggers = tree.setData(body.path, body.data, body.version, txn.zxid, txn.timeMs);
        const stat = statOf(tree.mustGet(body.path));
        return { result: { err: Err.OK, path: body.path, stat }, triggers };
      }
      case "setACL":
        tree.setAcl(body.path, body.acl, body.aversion);
        return {
          result: { err: Err.OK, path: body.path, stat: statOf(tree.mustGet(body.path)) },
          triggers: noTriggers,
        };
      case "check":
        return { result: { err: Err.OK, path: body.path }, triggers: noTriggers };
      case "error":
        return { result: { err: body.err }, triggers: noTriggers };
      case "multi":
        return this.applyMulti(txn, body.ops);
      case "createSession":
        assert(!this.sessions.has(txn.sessionId), "session ids are unique");
        this.sessions.set(txn.sessionId, body.timeoutMs);
        return { result: { err: Err.OK }, triggers: noTriggers };
      case "closeSession": {
        const triggers: WatchTrigger[] = [];
        for (const path of body.ephemerals) triggers.push(...tree.deleteNode(path, txn.zxid));
        // The leader lists every ephemeral the session owns once the txns before it apply.
        assert(
          !tree.ephemerals.has(txn.sessionId),
          `closed session ${txn.sessionId} owns no ephemerals`,
        );
        this.sessions.delete(txn.sessionId);
        return { result: { err: Err.OK }, triggers };
      }
    }
  }

  /**
   * A multi applies all its ops or none. When one failed at prep, ZooKeeper reports OK for the ops
   * before it, its own code for it and RUNTIMEINCONSISTENCY for the ops after
   * (DataTree.processTxn).
   */
  private applyMulti(txn: Txn, ops: readonly TxnBody[]): ApplyOutcome {
    const failed = ops.some((op) => op.type === "error");
    if (!failed) {
      const triggers: WatchTrigger[] = [];
      const results = ops.map((op) => {
        const outcome = this.applyBody(txn, op);
        triggers.push(...outcome.triggers);
        return outcome.result;
      });
      return { result: { err: Err.OK, results }, triggers };
    }
    let afterFailure = false;
    const results = ops.map((op): TxnResult => {
      assert(op.type !== "multi", "multi does not nest");
      if (op.type === "error") {
        afterFailure = true;
        return { err: op.err };
      }
      return { err: afterFailure ? Err.RUNTIMEINCONSISTENCY : Err.OK };
    });
    // The reply header of a multi says OK even when an op failed; the op results carry the codes.
    return { result: { err: Err.OK, results }, triggers: noTriggers };
  }
}
