// The state checker (TigerBeetle's StateChecker, adapted): one global committed history, grown as
// servers apply txns. Every server must apply exactly that history, in order: a server that
// applies something else at a position, or skips a txn another server applied, means a committed
// txn was lost or rolled back. Every write a client saw acknowledged must sit in that history with
// the client's session and xid.

import { InvariantViolation } from "../core/assert.ts";
import type { NodeId } from "../core/replica/index.ts";
import type { Txn } from "../core/txn.ts";
import { describeTxn, describeTxnOnce } from "../core/txn.ts";
import type { SessionId, Zxid } from "../core/types.ts";
import { hex } from "../core/types.ts";

interface Committed {
  zxid: Zxid;
  /**
   * The txn as first applied. Servers of one simulation share the txn objects they pass in
   * messages, and the core never changes one: the same object is the same txn, described only when
   * compared with another object or reported (describing every txn on every server was most of
   * this checker's cost).
   */
  txn: Txn;
  sessionId: SessionId;
  cxid: number;
}

export class StateChecker {
  private readonly history: Committed[] = [];
  private readonly position = new Map<bigint, number>();
  private readonly cursor = new Map<NodeId, { position: number; zxid: Zxid }>();
  private readonly acknowledged: { zxid: Zxid; sessionId: SessionId; xid: number; what: string }[] =
    [];

  /** A node applied these committed txns, in order (its `applied` effect). */
  applied(node: NodeId, txns: readonly Txn[]): void {
    const last = this.cursor.get(node);
    let position = last?.position;
    for (const txn of txns) position = this.check(node, txn, position);
    const zxid = txns[txns.length - 1]!.zxid;
    if (position === undefined) this.cursor.delete(node);
    else this.cursor.set(node, { position, zxid });
  }

  /** A node's tree was recovered at start or replaced by a SNAP: it must stand on the history. */
  treeReplaced(node: NodeId, zxid: Zxid): void {
    this.reposition(node, zxid);
  }

  /** One applied txn: it must be the next one of the committed history, or extend it. */
  private check(node: NodeId, txn: Txn, position: number | undefined): number | undefined {
    // Zxids in the history are unique and increasing: a server in step finds its next txn next.
    const next = position === undefined ? undefined : this.history[position + 1];
    const at = next?.zxid === txn.zxid ? position! + 1 : this.position.get(txn.zxid);
    if (at !== undefined) {
      const entry = this.history[at]!;
      if (entry.txn !== txn && describeTxnOnce(entry.txn) !== describeTxnOnce(txn))
        throw new InvariantViolation(
          `state checker: node ${node} applied "${describeTxn(txn)}" ` +
            `where the committed history has "${describeTxnOnce(entry.txn)}"`,
        );
      if (position !== undefined && at !== position + 1) {
        const skipped = describeTxnOnce(this.history[position + 1]!.txn);
        throw new InvariantViolation(
          `state checker: node ${node} skipped "${skipped}" of the committed history`,
        );
      }
      return at;
    }
    const end = this.history.length - 1;
    if (end >= 0 && txn.zxid < this.history[end]!.zxid) {
      throw new InvariantViolation(
        `state checker: node ${node} applied "${describeTxn(txn)}", ` +
          "which the committed history does not have",
      );
    }
    // Cannot tell what came between: stop checking this batch.
    if (position !== end) return undefined;
    const { sessionId, cxid } = txn;
    this.history.push({ zxid: txn.zxid, txn, sessionId, cxid });
    this.position.set(txn.zxid, end + 1);
    return end + 1;
  }

  /**
   * A node restarted or installed a snapshot: it must stand at a point of the committed history.
   */
  private reposition(node: NodeId, applied: Zxid): void {
    if (applied === 0n) return void this.cursor.set(node, { position: -1, zxid: applied });
    const position = this.position.get(applied);
    if (position === undefined) {
      if (this.history.length === 0 || applied > this.history[this.history.length - 1]!.zxid)
        return void this.cursor.delete(node);
      throw new InvariantViolation(
        `state checker: node ${node} stands at ${hex(applied)}, ` +
          "which is not in the committed history",
      );
    }
    this.cursor.set(node, { position, zxid: applied });
  }

  acknowledge(zxid: Zxid, sessionId: SessionId, xid: number, what: string): void {
    this.acknowledged.push({ zxid, sessionId, xid, what });
  }

  /** At the end: every acknowledged write is in the committed history. */
  checkAcknowledged(): void {
    for (const ack of this.acknowledged) {
      const position = this.position.get(ack.zxid);
      const entry = position === undefined ? undefined : this.history[position];
      if (entry === undefined || entry.sessionId !== ack.sessionId || entry.cxid !== ack.xid) {
        throw new InvariantViolation(
          `state checker: acknowledged write lost: ${ack.what} s=${hex(ack.sessionId)} ` +
            `xid=${ack.xid} zxid=${hex(ack.zxid)}` +
            (entry === undefined ? "" : ` (history has "${describeTxnOnce(entry.txn)}")`),
        );
      }
    }
  }

  get committedCount(): number {
    return this.history.length;
  }
}
