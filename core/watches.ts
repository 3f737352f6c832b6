// The watch manager: which session waits for which change, keyed by SessionId (never by a
// connection: net/ maps session -> socket). It turns the WatchTriggers a txn produced (tree.ts)
// into WatchEvents as data. Semantics follow Apache ZooKeeper 3.9 (server/watch/WatchManager.java,
// WatchStats.java, server/DataTree.java), the release whose wire behaviour this project follows:
//
// - Two tables, as DataTree keeps them: the data table (getData, exists, the data half of a
//   persistent watch, recursive watches) and the child table (getChildren, the child half of a
//   persistent watch). exists on a missing node lands in the data table too; ZooKeeper keeps no
//   separate exist table, so an "exist" watch and a "data" watch are the same entry on the server.
// - Each (table, session, path) entry holds a set of modes (3.9's WatchStats, ZOOKEEPER-4466):
//   standard (one-shot), persistent, persistentRecursive. 3.8 kept one mode per entry and a later
//   registration overwrote an earlier one; 3.9 fixed that and so do we.
// - A trigger on path P notifies every session with an entry at P in the table the event type uses
//   (and strips the one-shot mode), plus every session with a recursive entry at an ancestor of P.
//   A session is notified once per trigger, however many entries matched (ZooKeeper dedupes per
//   Watcher object with a HashSet, and suppresses the child-table NodeDeleted for sessions the
//   data table already notified).
//
// Determinism: events follow the order of the triggers; within one trigger sessions are notified
// in ascending SessionId order (ZooKeeper's HashSet order is unspecified, so any fixed order is
// faithful).
// Everything that reports (pathsBySession, sessionsByPath) is sorted.

import { assert, assertNever } from "./assert.ts";
import type { Database } from "./database.ts";
import { parentPath, rootPath } from "./path.ts";
import type { WatchTrigger } from "./tree.ts";
import { hex } from "./types.ts";
import type { SessionId, Zxid } from "./types.ts";

/** Watcher.Event.EventType, ZooKeeper's numbers (what the notification carries on the wire). */
export const EventType = {
  None: -1,
  NodeCreated: 1,
  NodeDeleted: 2,
  NodeDataChanged: 3,
  NodeChildrenChanged: 4,
  // The *Removed types are made by the client library when its removeWatches succeeds; the server
  // never sends them, so this module never emits them.
  DataWatchRemoved: 5,
  ChildWatchRemoved: 6,
  PersistentWatchRemoved: 7,
} as const;
export type EventType = (typeof EventType)[keyof typeof EventType];

const eventTypeNames = new Map<number, string>(
  Object.entries(EventType).map(([name, n]) => [n, name]),
);

export function eventTypeName(type: number): string {
  return eventTypeNames.get(type) ?? `EventType(${type})`;
}

/** Watcher.WatcherType: the `type` of removeWatches (opcode 18) and checkWatches (opcode 17). */
export const WatcherType = {
  Children: 1,
  Data: 2,
  Any: 3,
  Persistent: 4,
  PersistentRecursive: 5,
} as const;
export type WatcherType = (typeof WatcherType)[keyof typeof WatcherType];

/** ZooDefs.AddWatchModes: the `mode` of addWatch (opcode 106). */
export const AddWatchMode = {
  Persistent: 0,
  PersistentRecursive: 1,
} as const;
export type AddWatchMode = (typeof AddWatchMode)[keyof typeof AddWatchMode];

// ZooKeeper's WatcherType.fromInt / WatcherMode.fromZooDef throw on anything else, and
// FinalRequestProcessor answers that exception with MARSHALLINGERROR (-5), not NOWATCHER.
export const isWatcherType = (value: number): value is WatcherType =>
  Number.isInteger(value) && value >= 1 && value <= 5;
export const isAddWatchMode = (value: number): value is AddWatchMode => value === 0 || value === 1;

/**
 * One notification for one session. The owner is the caller: net/ maps the session to its socket,
 * the sim to its model client. Notification zxid = the txn that fired it (ZooKeeper 3.9 behaviour).
 */
export interface WatchEvent {
  readonly sessionId: SessionId;
  readonly type: EventType;
  readonly path: string;
  readonly zxid: Zxid;
}

/** One line per event, for traces and transcripts. */
export function describeEvent(e: WatchEvent): string {
  return `watch s=${hex(e.sessionId)} ${eventTypeName(e.type)} ${e.path} zxid=${hex(e.zxid)}`;
}

/** The watch lists of SetWatches / SetWatches2 (opcodes 101, 105); extra fields are ignored. */
export interface SetWatchesLists {
  readonly data: readonly string[];
  readonly exist: readonly string[];
  readonly child: readonly string[];
  readonly persistent: readonly string[];
  readonly persistentRecursive: readonly string[];
}

/**
 * Watch entries (one per table and path) one session may hold before sessionsOverLimit() reports
 * it. ZooKeeper has no such limit, and a getData reply has no way to say "watch not set", so
 * registrations past it are still honoured (never dropped silently): the harness logs the sessions
 * over it. Sized for a Curator TreeCache (a data and a child watch per node) over a million-znode
 * tree, with headroom.
 */
export const watchesPerSessionMax = 1 << 22;

/**
 * Decides whether an event reaches its session. ZooKeeper 3.8.4+/3.9.2+ drops an event at delivery
 * when the session may not READ the node (CVE-2024-23944, NIOServerCnxn.process); the one-shot
 * watch is consumed all the same. The caller owns auth ids and ACLs, so it supplies the check.
 */
export type DeliveryFilter = (sessionId: SessionId, trigger: WatchTrigger) => boolean;

// WatchStats bits (ZooKeeper orders them STANDARD, PERSISTENT, PERSISTENT_RECURSIVE).
const modeStandard = 1;
const modePersistent = 2;
const modeRecursive = 4;
const modeAll = modeStandard | modePersistent | modeRecursive;

type TableName = "data" | "child";
/** path -> session -> mode bits; inner maps are never empty and bits are never 0. */
type Table = Map<string, Map<SessionId, number>>;

interface SessionEntry {
  readonly data: Set<string>;
  readonly child: Set<string>;
}

const compareSessions = (a: SessionId, b: SessionId): number => (a < b ? -1 : a > b ? 1 : 0);
const comparePaths = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * All watches of one server. Mutable, owned by one replica's state; deterministic given the same
 * calls. Paths are opaque keys here: validating them is the caller's job (ZooKeeper does not
 * validate setWatches paths either), and nothing in this class asserts on their shape.
 */
export class WatchManager {
  private readonly tables: Record<TableName, Table> = { data: new Map(), child: new Map() };
  private readonly sessions = new Map<SessionId, SessionEntry>();
  /** Entries holding the recursive bit; when 0, triggers skip the walk up the ancestors. */
  private recursiveEntries = 0;
  private readonly watchesPerSessionMax: number;

  constructor(options: { watchesPerSessionMax?: number } = {}) {
    this.watchesPerSessionMax = options.watchesPerSessionMax ?? watchesPerSessionMax;
    assert(this.watchesPerSessionMax > 0, "watchesPerSessionMax is positive");
  }

  /** getData with watch on an existing node, or exists with watch on an existing node. */
  addDataWatch(session: SessionId, path: string): void {
    this.add("data", session, path, modeStandard);
  }

  /** exists with watch on a missing node: the same data-table entry (DataTree.statNode). */
  addExistWatch(session: SessionId, path: string): void {
    this.add("data", session, path, modeStandard);
  }

  /** getChildren / getChildren2 with watch on an existing node. */
  addChildWatch(session: SessionId, path: string): void {
    this.add("child", session, path, modeStandard);
  }

  /**
   * addWatch (opcode 106). Persistent goes in both tables, recursive in the data table only
   * (DataTree.addWatch, 3.9), which is why a recursive watch never sees NodeChildrenChanged.
   * Returns false for an unknown mode: the caller answers MARSHALLINGERROR, as ZooKeeper does.
   */
  addWatch(session: SessionId, path: string, mode: number): boolean {
    if (!isAddWatchMode(mode)) return false;
    if (mode === AddWatchMode.Persistent) {
      this.add("data", session, path, modePersistent);
      this.add("child", session, path, modePersistent);
    } else {
      this.add("data", session, path, modeRecursive);
    }
    return true;
  }

  private add(name: TableName, session: SessionId, path: string, mode: number): void {
    assert(mode === modeStandard || mode === modePersistent || mode === modeRecursive, "one bit");
    assert(name === "data" || mode !== modeRecursive, "recursive watches live in the data table");
    const table = this.tables[name];
    let watchers = table.get(path);
    if (watchers === undefined) table.set(path, (watchers = new Map()));
    const before = watchers.get(session) ?? 0;
    watchers.set(session, before | mode);
    if ((before & modeRecursive) === 0 && (mode & modeRecursive) !== 0) this.recursiveEntries++;
    let entry = this.sessions.get(session);
    if (entry === undefined) {
      entry = { data: new Set(), child: new Set() };
      this.sessions.set(session, entry);
    }
    entry[name].add(path);
  }

  /**
   * Sets `mode` bits of one entry to off (all bits when `mode` is modeAll); returns whether any bit
   * was on. Keeps the session index and the recursive count in step.
   */
  private clearBits(name: TableName, session: SessionId, path: string, mode: number): boolean {
    const watchers = this.tables[name].get(path);
    const before = watchers?.get(session);
    if (watchers === undefined || before === undefined || (before & mode) === 0) return false;
    const after = before & ~mode;
    if ((before & modeRecursive) !== 0 && (after & modeRecursive) === 0) this.recursiveEntries--;
    assert(this.recursiveEntries >= 0, "recursive count never negative");
    if (after !== 0) {
      watchers.set(session, after);
      return true;
    }
    watchers.delete(session);
    if (watchers.size === 0) this.tables[name].delete(path);
    const entry = this.sessions.get(session);
    assert(entry !== undefined, "a session with an entry is indexed");
    const indexed = entry[name].delete(path);
    assert(indexed, "session index lists the entry");
    if (entry.data.size === 0 && entry.child.size === 0) this.sessions.delete(session);
    return true;
  }

  /**
   * Turns the triggers of one applied txn into events, in trigger order. One-shot watches are
   * consumed even when `deliver` filters the event out (ZooKeeper removes them in triggerWatch,
   * before the connection's ACL check).
   */
  trigger(triggers: readonly WatchTrigger[], zxid: Zxid, deliver?: DeliveryFilter): WatchEvent[] {
    // Most writes under load change paths nobody watches: no set of sessions per trigger then.
    if (this.tables.data.size === 0 && this.tables.child.size === 0) return [];
    const events: WatchEvent[] = [];
    for (const t of triggers) {
      const type = EventType[t.type];
      for (const sessionId of this.notified(t)) {
        if (deliver !== undefined && !deliver(sessionId, t)) continue;
        events.push({ sessionId, type, path: t.path, zxid });
      }
    }
    return events;
  }

  /** The sessions one trigger notifies, ascending; strips the one-shot bit of what fired. */
  private notified(t: WatchTrigger): SessionId[] {
    const sessions = new Set<SessionId>();
    switch (t.type) {
      case "NodeCreated":
      case "NodeDataChanged":
        this.collect("data", t.path, sessions);
        break;
      case "NodeChildrenChanged":
        this.collect("child", t.path, sessions);
        break;
      case "NodeDeleted":
        // DataTree.deleteNode: data table, then the child table of the node itself with the
        // sessions already notified suppressed (their one-shot child watches are still consumed).
        this.collect("data", t.path, sessions);
        this.collect("child", t.path, sessions);
        break;
      default:
        assertNever(t.type, "watch trigger type");
    }
    return [...sessions].sort(compareSessions);
  }

  private collect(name: TableName, path: string, out: Set<SessionId>): void {
    const leaf = this.tables[name].get(path);
    if (leaf !== undefined) {
      const oneShots: SessionId[] = [];
      for (const [session, bits] of leaf) {
        out.add(session);
        if ((bits & modeStandard) !== 0) oneShots.push(session);
      }
      for (const session of oneShots) this.clearBits(name, session, path, modeStandard);
    }
    if (name === "data" && this.recursiveEntries > 0) this.collectAncestors(path, out);
  }

  /** Recursive watches on a proper ancestor (PathParentIterator.forAll, atParentPath). */
  private collectAncestors(path: string, out: Set<SessionId>): void {
    const table = this.tables.data;
    let current = path;
    // parentPath shortens every path until "/", so the walk takes at most one step per character.
    for (let steps = 0; current !== rootPath; steps++) {
      assert(steps <= path.length, "ancestor walk terminates");
      current = parentPath(current);
      const watchers = table.get(current);
      if (watchers === undefined) continue;
      for (const [session, bits] of watchers) if ((bits & modeRecursive) !== 0) out.add(session);
    }
  }

  /**
   * removeWatches (opcode 18), DataTree.removeWatch in 3.9: Children and Data remove the one-shot
   * entry of their table (Data also removes an exists watch: same entry); Persistent removes the
   * persistent bit from both tables; PersistentRecursive the recursive bit; Any every mode in both
   * tables. Only the exact path is touched. False means NOWATCHER (-121), or an unknown type
   * (the caller checks isWatcherType first to answer MARSHALLINGERROR).
   */
  removeWatches(session: SessionId, path: string, watcherType: number): boolean {
    switch (watcherType) {
      case WatcherType.Children:
        return this.clearBits("child", session, path, modeStandard);
      case WatcherType.Data:
        return this.clearBits("data", session, path, modeStandard);
      case WatcherType.Persistent: {
        const child = this.clearBits("child", session, path, modePersistent);
        const data = this.clearBits("data", session, path, modePersistent);
        return child || data;
      }
      case WatcherType.PersistentRecursive:
        return this.clearBits("data", session, path, modeRecursive);
      case WatcherType.Any: {
        const child = this.clearBits("child", session, path, modeAll);
        const data = this.clearBits("data", session, path, modeAll);
        return child || data;
      }
      default:
        return false;
    }
  }

  /**
   * checkWatches (opcode 17), DataTree.containsWatcher in 3.9: an exact-path lookup; Persistent
   * asks the data table only (both halves are always added together). False means NOWATCHER.
   */
  checkWatches(session: SessionId, path: string, watcherType: number): boolean {
    // ZooKeeper 3.8 finds no watch on "" (checked on the wire), though removeWatches finds one.
    if (path === "") return false;
    switch (watcherType) {
      case WatcherType.Children:
        return this.has("child", session, path, modeStandard);
      case WatcherType.Data:
        return this.has("data", session, path, modeStandard);
      case WatcherType.Persistent:
        return this.has("data", session, path, modePersistent);
      case WatcherType.PersistentRecursive:
        return this.has("data", session, path, modeRecursive);
      case WatcherType.Any:
        return (
          this.has("child", session, path, modeAll) || this.has("data", session, path, modeAll)
        );
      default:
        return false;
    }
  }

  private has(name: TableName, session: SessionId, path: string, mode: number): boolean {
    return ((this.tables[name].get(path)?.get(session) ?? 0) & mode) !== 0;
  }

  /**
   * SetWatches / SetWatches2 after a reconnect (DataTree.setWatches): a one-shot watch whose change
   * already happened after `relativeZxid` fires now instead of being registered; persistent and
   * recursive ones are only re-added, so changes during the disconnection are not replayed.
   * Events go out in list order (data, exist, child) and are not deduped, as in ZooKeeper.
   * ZooKeeper sends these with zxid -1 (WatchedEvent.NO_ZXID); we stamp the db's lastZxid, the
   * latest point by which the change is known to have happened.
   */
  setWatches(
    session: SessionId,
    relativeZxid: Zxid,
    lists: SetWatchesLists,
    db: Database,
  ): WatchEvent[] {
    const events: WatchEvent[] = [];
    const zxid = db.lastZxid;
    const fire = (type: EventType, path: string) => {
      events.push({ sessionId: session, type, path, zxid });
    };
    for (const path of lists.data) {
      const node = db.tree.get(path);
      if (node === undefined) fire(EventType.NodeDeleted, path);
      else if (node.mzxid > relativeZxid) fire(EventType.NodeDataChanged, path);
      else this.addDataWatch(session, path);
    }
    for (const path of lists.exist) {
      if (db.tree.get(path) !== undefined) fire(EventType.NodeCreated, path);
      else this.addExistWatch(session, path);
    }
    for (const path of lists.child) {
      const node = db.tree.get(path);
      if (node === undefined) fire(EventType.NodeDeleted, path);
      else if (node.pzxid > relativeZxid) fire(EventType.NodeChildrenChanged, path);
      else this.addChildWatch(session, path);
    }
    for (const path of lists.persistent) this.addWatch(session, path, AddWatchMode.Persistent);
    for (const path of lists.persistentRecursive) {
      this.addWatch(session, path, AddWatchMode.PersistentRecursive);
    }
    return events;
  }

  /**
   * Drops every watch of a session: it closed or expired, or its connection to this server ended
   * (watches live on the server the session is connected to; the client re-sends them with
   * setWatches wherever it reconnects). DataTree.removeCnxn.
   */
  removeSession(session: SessionId): void {
    const entry = this.sessions.get(session);
    if (entry === undefined) return;
    for (const path of [...entry.data]) this.clearBits("data", session, path, modeAll);
    for (const path of [...entry.child]) this.clearBits("child", session, path, modeAll);
    assert(!this.sessions.has(session), "every entry of the session is gone");
  }

  /** zk_watch_count of mntr (DataTree.getWatchCount): entries in both tables. */
  watchCount(): number {
    let count = 0;
    for (const entry of this.sessions.values()) count += entry.data.size + entry.child.size;
    return count;
  }

  /** Entries held by one session (compare with watchesPerSessionMax). */
  watchCountOf(session: SessionId): number {
    const entry = this.sessions.get(session);
    return entry === undefined ? 0 : entry.data.size + entry.child.size;
  }

  /** Sessions holding at least one watch in either table. */
  sessionCount(): number {
    return this.sessions.size;
  }

  /** Sessions above watchesPerSessionMax, ascending, for the harness to log. */
  sessionsOverLimit(): SessionId[] {
    const over: SessionId[] = [];
    for (const [session, entry] of this.sessions) {
      if (entry.data.size + entry.child.size > this.watchesPerSessionMax) over.push(session);
    }
    return over.sort(compareSessions);
  }

  /**
   * wchs: sessions, paths and entries of one table. ZooKeeper's wchs, wchc and wchp report the data
   * table only (DataTree.getWatchesSummary/dumpWatches), so "data" is the default everywhere.
   */
  watchSummary(table: TableName = "data"): { sessions: number; paths: number; watches: number } {
    let sessions = 0;
    let watches = 0;
    for (const entry of this.sessions.values()) {
      if (entry[table].size > 0) sessions++;
      watches += entry[table].size;
    }
    return { sessions, paths: this.tables[table].size, watches };
  }

  /** wchc: each session's watched paths; sessions ascending, paths sorted. */
  pathsBySession(table: TableName = "data"): Map<SessionId, string[]> {
    const result = new Map<SessionId, string[]>();
    const sessions = [...this.sessions.keys()].sort(compareSessions);
    for (const session of sessions) {
      const paths = this.sessions.get(session)![table];
      if (paths.size > 0) result.set(session, [...paths].sort(comparePaths));
    }
    return result;
  }

  /** wchp: each watched path's sessions; paths sorted, sessions ascending. */
  sessionsByPath(table: TableName = "data"): Map<string, SessionId[]> {
    const result = new Map<string, SessionId[]>();
    const paths = [...this.tables[table].keys()].sort(comparePaths);
    for (const path of paths) {
      result.set(path, [...this.tables[table].get(path)!.keys()].sort(compareSessions));
    }
    return result;
  }

  /** Cross-checks the tables against the session index; for tests and the sim's invariant pass. */
  checkInvariants(): void {
    let recursive = 0;
    let entries = 0;
    for (const name of ["data", "child"] as const) {
      for (const [path, watchers] of this.tables[name]) {
        assert(watchers.size > 0, `${name} table: no empty set at ${path}`);
        for (const [session, bits] of watchers) {
          assert(bits > 0 && (bits & ~modeAll) === 0, `${name} ${path}: mode bits are valid`);
          assert(name === "data" || (bits & modeRecursive) === 0, "no recursive child watch");
          const indexed = this.sessions.get(session)?.[name].has(path) === true;
          assert(indexed, `index lists ${name} ${path}`);
          if ((bits & modeRecursive) !== 0) recursive++;
          entries++;
        }
      }
    }
    assert(recursive === this.recursiveEntries, "recursive count matches the tables");
    assert(entries === this.watchCount(), "session index and tables hold the same entries");
  }
}
