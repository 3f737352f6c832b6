// A reference model of ZooKeeper's watch semantics, written from the documentation's point of view
// (ZooKeeperProgrammers.md "ZooKeeper Watches", "Persistent, Recursive Watches") rather than from
// WatchManager's two tables: a flat list of registrations, each of one kind, matched against each
// trigger by a plain rule. The property test compares the real manager with it.

import type { Database } from "../database.ts";
import type { WatchTrigger } from "../tree.ts";
import type { SessionId, Zxid } from "../types.ts";
import { EventType } from "../watches.ts";
import type { SetWatchesLists, WatchEvent } from "../watches.ts";

export type WatchKind = "data" | "child" | "persistent" | "recursive";

interface Registration {
  session: SessionId;
  kind: WatchKind;
  path: string;
}

const kinds = ["data", "child", "persistent", "recursive"] as const;
const isOneShot = (kind: WatchKind) => kind === "data" || kind === "child";
const ascending = (a: SessionId, b: SessionId) => (a < b ? -1 : a > b ? 1 : 0);

/** `ancestor` is `path` or one of its ancestors. */
const covers = (ancestor: string, path: string) =>
  ancestor === path || path.startsWith(ancestor === "/" ? "/" : `${ancestor}/`);

function matches(reg: Registration, t: WatchTrigger): boolean {
  switch (reg.kind) {
    case "data":
      return reg.path === t.path && t.type !== "NodeChildrenChanged";
    case "child":
      return reg.path === t.path && (t.type === "NodeChildrenChanged" || t.type === "NodeDeleted");
    case "persistent":
      return reg.path === t.path;
    case "recursive":
      return t.type !== "NodeChildrenChanged" && covers(reg.path, t.path);
  }
}

export class WatchModel {
  private readonly regs = new Map<string, Registration>();
  /** One-shot registrations consumed by the last trigger() call. */
  consumed: Registration[] = [];

  private key = (session: SessionId, kind: WatchKind, path: string) => `${session}|${kind}|${path}`;

  register(session: SessionId, kind: WatchKind, path: string): void {
    this.regs.set(this.key(session, kind, path), { session, kind, path });
  }

  has(session: SessionId, kind: WatchKind, path: string): boolean {
    return this.regs.has(this.key(session, kind, path));
  }

  of(session: SessionId): Registration[] {
    return [...this.regs.values()].filter((r) => r.session === session);
  }

  /** The events a txn's triggers must produce; consumes the one-shot registrations that fired. */
  trigger(triggers: readonly WatchTrigger[], zxid: Zxid): WatchEvent[] {
    const events: WatchEvent[] = [];
    this.consumed = [];
    for (const t of triggers) {
      const hits = [...this.regs.entries()].filter(([, r]) => matches(r, t));
      const sessions = [...new Set(hits.map(([, r]) => r.session))].sort(ascending);
      for (const sessionId of sessions) {
        events.push({ sessionId, type: EventType[t.type], path: t.path, zxid });
      }
      for (const [key, r] of hits) {
        if (!isOneShot(r.kind)) continue;
        this.regs.delete(key);
        this.consumed.push(r);
      }
    }
    return events;
  }

  /** WatcherType 1..5 as the documentation describes removeWatches. */
  removeWatches(session: SessionId, path: string, type: number): boolean {
    if (type === 3) {
      const mine = kinds.filter((k) => this.has(session, k, path));
      for (const k of mine) this.regs.delete(this.key(session, k, path));
      return mine.length > 0;
    }
    const kind = this.kindOf(type);
    return kind !== undefined && this.regs.delete(this.key(session, kind, path));
  }

  checkWatches(session: SessionId, path: string, type: number): boolean {
    if (type === 3) return kinds.some((k) => this.has(session, k, path));
    const kind = this.kindOf(type);
    return kind !== undefined && this.has(session, kind, path);
  }

  private kindOf(type: number): WatchKind | undefined {
    const byType: Record<number, WatchKind> = { 1: "child", 2: "data", 4: "persistent" };
    return type === 5 ? "recursive" : byType[type];
  }

  removeSession(session: SessionId): void {
    for (const r of this.of(session)) this.regs.delete(this.key(r.session, r.kind, r.path));
  }

  /** What a client would send in SetWatches2 for this session's registrations. */
  setWatchesLists(session: SessionId, db: Database): SetWatchesLists {
    const mine = this.of(session);
    const paths = (keep: (r: Registration) => boolean) => mine.filter(keep).map((r) => r.path);
    return {
      data: paths((r) => r.kind === "data" && db.tree.get(r.path) !== undefined),
      exist: paths((r) => r.kind === "data" && db.tree.get(r.path) === undefined),
      child: paths((r) => r.kind === "child"),
      persistent: paths((r) => r.kind === "persistent"),
      persistentRecursive: paths((r) => r.kind === "recursive"),
    };
  }

  /** DataTree.setWatches as the documentation states it, applied to the model. */
  setWatches(session: SessionId, relative: Zxid, lists: SetWatchesLists, db: Database) {
    const events: WatchEvent[] = [];
    const fire = (type: EventType, path: string) => {
      events.push({ sessionId: session, type, path, zxid: db.lastZxid });
    };
    for (const path of lists.data) {
      const node = db.tree.get(path);
      if (node === undefined) fire(EventType.NodeDeleted, path);
      else if (node.mzxid > relative) fire(EventType.NodeDataChanged, path);
      else this.register(session, "data", path);
    }
    for (const path of lists.exist) {
      if (db.tree.get(path) !== undefined) fire(EventType.NodeCreated, path);
      else this.register(session, "data", path);
    }
    for (const path of lists.child) {
      const node = db.tree.get(path);
      if (node === undefined) fire(EventType.NodeDeleted, path);
      else if (node.pzxid > relative) fire(EventType.NodeChildrenChanged, path);
      else this.register(session, "child", path);
    }
    for (const path of lists.persistent) this.register(session, "persistent", path);
    for (const path of lists.persistentRecursive) this.register(session, "recursive", path);
    return events;
  }

  /**
   * zk_watch_count: a data-table entry per (session, path) with data/persistent/recursive, a
   * child-table entry per (session, path) with child/persistent.
   */
  watchCount(): number {
    const data = new Set<string>();
    const child = new Set<string>();
    for (const r of this.regs.values()) {
      if (r.kind !== "child") data.add(`${r.session}|${r.path}`);
      if (r.kind === "child" || r.kind === "persistent") child.add(`${r.session}|${r.path}`);
    }
    return data.size + child.size;
  }
}
