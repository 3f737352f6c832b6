// The state checker (TigerBeetle's StateChecker, adapted): one global committed history, grown as
// servers apply txns. Every server must apply exactly that history, in order: a server that
// applies something else at a position, or skips a txn another server applied, means a committed
// txn was lost or rolled back. Every write a client saw acknowledged must sit in that history with
// the client's session and xid.

import { InvariantViolation } from "../core/assert.ts";
import type { NodeId } from "../core/replica/messages.ts";
import type { ReplicaState } from "../core/replica/state.ts";
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
    if (last === undefined || applied < last.zxid) return this.reposition(node, applied);
    let position = last.position;
    const fresh = logAfter(s, last.zxid).filter((t) => t.zxid <= applied);
    if (fresh.length === 0 || fresh[0]!.zxid !== this.nextAfter(position, fresh[0]!.zxid)) {
      // The log no longer shows every txn applied in between (a snapshot install or a trim).
      return this.reposition(node, applied);
    }
    for (const txn of fresh) {
      const entry = { zxid: txn.zxid, line: describeTxn(txn), sessionId: txn.sessionId, cxid: txn.cxid };
      position++;
      const expected = this.history[position];
      if (expected === undefined) {
        this.history.push(entry);
        this.position.set(entry.zxid, position);
      } else if (expected.line !== entry.line) {
        throw new InvariantViolation(`state checker: node ${node} applied "${entry.line}" where the committed history has "${expected.line}"`);
      }
    }
    this.cursor.set(node, { position, zxid: applied });
  }

  /** The zxid the committed history has after `position`, or the candidate if the history ends there. */
  private nextAfter(position: number, candidate: Zxid): Zxid {
    return this.history[position + 1]?.zxid ?? candidate;
  }

  /** A node restarted or installed a snapshot: it must stand at a point of the committed history. */
  private reposition(node: NodeId, applied: Zxid): void {
    if (applied === 0n) return void this.cursor.set(node, { position: -1, zxid: applied });
    const position = this.position.get(applied);
    if (position === undefined) {
      // Nothing applied this far yet anywhere we saw (its txns came in a batch we could not see).
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
