// The leader's speculative view (ZooKeeper's outstandingChanges): what each path will look like
// once the txns already decided but not yet applied are applied. Prep validates against it, so
// pipelined requests see the effects of the ones before them. A plain field of the leader's state,
// pruned as txns are applied, never shared.

import { assert } from "./assert.ts";
import type { Database } from "./database.ts";
import type { Acl, Zxid } from "./types.ts";
import { zxid } from "./types.ts";

export interface ChangeRecord {
  /** The txn that produced this view; -1 for a view read straight from the tree. */
  zxid: Zxid;
  path: string;
  exists: boolean;
  version: number;
  cversion: number;
  aversion: number;
  ephemeralOwner: bigint;
  childCount: number;
  acl: readonly Acl[];
}

/** The zxid of a view read straight from the tree (no change pending on its path). */
export const fromTreeZxid = zxid(-1n);

export class PendingChanges {
  /** Pruned slots are cleared at once: a record kept there until compaction outlives scavenges. */
  private readonly records: (ChangeRecord | undefined)[] = [];
  /** For records[i], the view of its path it replaced, so a failed multi can be undone exactly. */
  private readonly replaced: (ChangeRecord | undefined)[] = [];
  private head = 0;
  /**
   * Remade from its live entries at every compaction below. A Map kept for good sits in V8's old
   * generation, and so does every table it rehashes into; a table left behind points at records
   * that are gone, and a scavenge keeps them and promotes them until the next full collection.
   */
  private byPath = new Map<string, ChangeRecord>();

  get size(): number {
    return this.records.length - this.head;
  }

  /** The speculative record for a path: the newest pending change, else the tree's node. */
  lookup(db: Database, path: string): ChangeRecord | undefined {
    const pending = this.byPath.get(path);
    if (pending !== undefined) return pending.exists ? pending : undefined;
    const node = db.tree.get(path);
    if (node === undefined) return undefined;
    return {
      zxid: fromTreeZxid,
      path,
      exists: true,
      version: node.version,
      cversion: node.cversion,
      aversion: node.aversion,
      ephemeralOwner: node.ephemeralOwner,
      childCount: node.children === null ? 0 : node.children.size,
      acl: node.acl,
    };
  }

  add(record: ChangeRecord): void {
    const last = this.records[this.records.length - 1];
    assert(last === undefined || last.zxid <= record.zxid, "change records arrive in zxid order");
    this.records.push(record);
    this.replaced.push(this.byPath.get(record.path));
    this.byPath.set(record.path, record);
  }

  /** Undoes every record of txn `z` (a multi that failed part way), newest first. */
  rollback(z: Zxid): void {
    while (this.size > 0 && this.records[this.records.length - 1]!.zxid === z) {
      const record = this.records.pop()!;
      const previous = this.replaced.pop();
      assert(this.byPath.get(record.path) === record, "rolled back record is the newest view");
      if (previous === undefined) this.byPath.delete(record.path);
      else this.byPath.set(record.path, previous);
    }
  }

  /** Forgets the changes of txns up to `applied`: the tree now shows them. */
  prune(applied: Zxid): void {
    while (this.size > 0 && this.records[this.head]!.zxid <= applied) {
      const record = this.records[this.head]!;
      if (this.byPath.get(record.path) === record) this.byPath.delete(record.path);
      this.records[this.head] = undefined;
      this.replaced[this.head] = undefined;
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.records.length) {
      this.records.splice(0, this.head);
      this.replaced.splice(0, this.head);
      this.head = 0;
      this.byPath = new Map(this.byPath);
    }
  }

  /** Pending records, oldest first (closeSession scans them for the session's ephemerals). */
  *entries(): Iterable<ChangeRecord> {
    for (let i = this.head; i < this.records.length; i++) yield this.records[i]!;
  }
}
