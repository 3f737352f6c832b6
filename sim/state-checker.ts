// The state checker (TigerBeetle's StateChecker, adapted): one global committed history, grown as
// servers apply txns. Every server must apply exactly that history, in order: a server that
// applies something else at a position, or skips a txn another server applied, means a committed
// txn was lost or rolled back. Every write a client saw acknowledged must sit in that history with
// the client's session and xid.

import { InvariantViolation } from "../core/assert.ts";
import type { NodeId } from "../core/replica/messages.ts";
import type { ReplicaState } from "../core/replica/state.ts";
import type { Txn } from "../core/txn.ts";
import { logAfter } from "../core/replica/base.ts";
import { describeTxn } from "../core/txn.ts";
import type { SessionId, Zxid } from "../core/types.ts";
import { hex } from "../core/types.ts";

interface Committed {
  zxid: Zxid;
  line: string;
  sessionId: SessionId;
  cxid: number;
}

export class StateChecker {
  private readonly history: Committed[] = [];
  private readonly position = new Map<bigint, number>();
  private readonly cursor = new Map<NodeId, { position: number; zxid: Zxid }>();
  private readonly acknowledged: { zxid: Zxid; sessionId: SessionId; xid: number; what: string }[] = [];

  /** Called after every step of a node: checks and records what it applied since last time. */
  observe(node: NodeId, s: ReplicaState): void {
    const last = this.cursor.get(node);
    const applied = s.db.lastZxid;
    if (last !== undefined && last.zxid === applied) return;
    if (last !== undefined && applied < last.zxid) return this.reposition(node, applied);
    // What the log still shows of the txns applied since last time (a snapshot may have trimmed
    // the front of it, or replaced it): check those against the history, extend it with the rest.
    // If the log was trimmed past where we stood, its first txn does not follow on from there.
    const trimmed = last === undefined || last.zxid < s.logBaseZxid;
    let position = trimmed ? undefined : last.position;
    const since = trimmed ? s.logBaseZxid : last.zxid;
    for (const txn of logAfter(s, since)) {
      if (txn.zxid > applied) break;
      position = this.check(node, txn, position);
    }
    if (position === undefined || this.history[position]?.zxid !== applied) return this.reposition(node, applied);
    this.cursor.set(node, { position, zxid: applied });
  }

  /** One applied txn: it must be the next one of the committed history, or extend it. */
  private check(node: NodeId, txn: Txn, position: number | undefined): number | undefined {
    const line = describeTxn(txn);
    const at = this.position.get(txn.zxid);
    if (at !== undefined) {
      const entry = this.history[at]!;
      if (entry.line !== line) throw new InvariantViolation(`state checker: node ${node} applied "${line}" where the committed history has "${entry.line}"`);
      if (position !== undefined && at !== position + 1) {
        throw new InvariantViolation(`state checker: node ${node} skipped "${this.history[position + 1]!.line}" of the committed history`);
      }
      return at;
    }
    const end = this.history.length - 1;
    if (end >= 0 && txn.zxid < this.history[end]!.zxid) {
      throw new InvariantViolation(`state checker: node ${node} applied "${line}", which the committed history does not have`);
    }
    if (position !== end) return undefined; // cannot tell what came between: stop checking this batch
    this.history.push({ zxid: txn.zxid, line, sessionId: txn.sessionId, cxid: txn.cxid });
    this.position.set(txn.zxid, end + 1);
    return end + 1;
  }

  /** A node restarted or installed a snapshot: it must stand at a point of the committed history. */
  private reposition(node: NodeId, applied: Zxid): void {
    if (applied === 0n) return void this.cursor.set(node, { position: -1, zxid: applied });
    const position = this.position.get(applied);
    if (position === undefined) {
      if (this.history.length === 0 || applied > this.history[this.history.length - 1]!.zxid) return void this.cursor.delete(node);
      throw new InvariantViolation(`state checker: node ${node} stands at ${hex(applied)}, which is not in the committed history`);
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
        throw new InvariantViolation(`state checker: acknowledged write lost: ${ack.what} s=${hex(ack.sessionId)} xid=${ack.xid} zxid=${hex(ack.zxid)}${entry === undefined ? "" : ` (history has "${entry.line}")`}`);
      }
    }
  }

  get committedCount(): number {
    return this.history.length;
  }
}
