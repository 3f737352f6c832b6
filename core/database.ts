// The replicated state: the tree plus the sessions table and the last applied zxid. applyTxn is the
// only way it changes, on the leader, on followers and on replay from the log.

import { assert } from "./assert.ts";
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
  triggers: WatchTrigger[];
}

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
    assert(txn.zxid > this.lastZxid, `txn ${txn.zxid} follows last applied ${this.lastZxid}`);
    const triggers: WatchTrigger[] = [];
    const result = this.applyBody(txn, txn.body, triggers);
    this.lastZxid = txn.zxid;
    return { result, triggers };
  }

  private applyBody(txn: Txn, body: TxnBody, triggers: WatchTrigger[]): TxnResult {
    const tree = this.tree;
    switch (body.type) {
      case "create": {
        triggers.push(
          ...tree.createNode({
            path: body.path,
            data: body.data,
            acl: body.acl,
            ephemeralOwner: body.ephemeralOwner,
            parentCversion: body.parentCversion,
            zxid: txn.zxid,
            timeMs: txn.timeMs,
          }),
        );
        return { err: Err.OK, path: body.path, stat: statOf(tree.mustGet(body.path)) };
      }
      case "delete":
        triggers.push(...tree.deleteNode(body.path, txn.zxid));
        return { err: Err.OK, path: body.path };
      case "setData":
        triggers.push(...tree.setData(body.path, body.data, body.version, txn.zxid, txn.timeMs));
        return { err: Err.OK, path: body.path, stat: statOf(tree.mustGet(body.path)) };
      case "setACL":
        tree.setAcl(body.path, body.acl, body.aversion);
        return { err: Err.OK, path: body.path, stat: statOf(tree.mustGet(body.path)) };
      case "check":
        return { err: Err.OK, path: body.path };
      case "error":
        return { err: body.err };
      case "multi":
        return this.applyMulti(txn, body.ops, triggers);
      case "createSession":
        assert(!this.sessions.has(txn.sessionId), "session ids are unique");
        this.sessions.set(txn.sessionId, body.timeoutMs);
        return { err: Err.OK };
      case "closeSession":
        for (const path of body.ephemerals) triggers.push(...tree.deleteNode(path, txn.zxid));
        // The leader lists every ephemeral the session owns once the txns before it apply.
        assert(
          !tree.ephemerals.has(txn.sessionId),
          `closed session ${txn.sessionId} owns no ephemerals`,
        );
        this.sessions.delete(txn.sessionId);
        return { err: Err.OK };
    }
  }

  /**
   * A multi applies all its ops or none. When one failed at prep, ZooKeeper reports OK for the ops
   * before it, its own code for it and RUNTIMEINCONSISTENCY for the ops after
   * (DataTree.processTxn).
   */
  private applyMulti(txn: Txn, ops: readonly TxnBody[], triggers: WatchTrigger[]): TxnResult {
    const failed = ops.some((op) => op.type === "error");
    if (!failed) {
      return { err: Err.OK, results: ops.map((op) => this.applyBody(txn, op, triggers)) };
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
    return { err: Err.OK, results };
  }
}
