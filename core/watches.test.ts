import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { utf8 } from "./bytes.ts";
import { Database } from "./database.ts";
import { Err } from "./errors.ts";
import type { MultiWriteOp, Request } from "./requests.ts";
import { openAclUnsafe, sessionId, zxid } from "./types.ts";
import type { SessionId } from "./types.ts";
import {
  AddWatchMode,
  EventType,
  WatchManager,
  WatcherType,
  describeEvent,
  eventTypeName,
  isAddWatchMode,
  isWatcherType,
  watchesPerSessionMax,
} from "./watches.ts";
import type { SetWatchesLists, WatchEvent } from "./watches.ts";
import { WatchDriver } from "./test/watch-driver.ts";
import { WatchModel } from "./test/watch-model.ts";

/** Events as `type path s=<index>` lines, sessions numbered by the order given. */
function lines(events: readonly WatchEvent[], sessions: readonly SessionId[]): string[] {
  return events.map((e) => `${eventTypeName(e.type)} ${e.path} s${sessions.indexOf(e.sessionId)}`);
}

const createOp = (path: string) =>
  ({ op: "create", path, data: utf8(""), acl: openAclUnsafe, flags: 0, ttl: -1 }) as const;

describe("watches: one-shot watches", () => {
  it("watches: getData watch fires NodeDataChanged once, then is gone", () => {
    const d = new WatchDriver();
    const s = d.session();
    d.create("/a");
    expect(d.getData(s, "/a")).toBe(Err.OK);
    const first = d.set("/a", "1");
    expect(lines(first, [s])).toEqual(["NodeDataChanged /a s0"]);
    expect(first[0]!.zxid).toBe(d.db.lastZxid);
    expect(d.set("/a", "2")).toEqual([]);
    expect(d.watches.checkWatches(s, "/a", WatcherType.Data)).toBe(false);
    expect(d.watches.watchCount()).toBe(0);
  });

  it("watches: exists watch on an existing node fires NodeDeleted once", () => {
    const d = new WatchDriver();
    const s = d.session();
    d.create("/a");
    expect(d.exists(s, "/a")).toBe(Err.OK);
    expect(lines(d.del("/a"), [s])).toEqual(["NodeDeleted /a s0"]);
    expect(d.create("/a")).toEqual([]);
    expect(d.del("/a")).toEqual([]);
  });

  it("watches: exists watch on a missing node fires NodeCreated once", () => {
    const d = new WatchDriver();
    const s = d.session();
    expect(d.exists(s, "/a")).toBe(Err.NONODE);
    expect(d.watches.checkWatches(s, "/a", WatcherType.Data)).toBe(true);
    expect(lines(d.create("/a"), [s])).toEqual(["NodeCreated /a s0"]);
    expect(d.set("/a")).toEqual([]);
    expect(d.del("/a")).toEqual([]);
  });

  it("watches: getData and getChildren on a missing node register nothing", () => {
    const d = new WatchDriver();
    const s = d.session();
    expect(d.getData(s, "/a")).toBe(Err.NONODE);
    expect(d.getChildren(s, "/a")).toBe(Err.NONODE);
    expect(d.watches.watchCount()).toBe(0);
    expect(d.create("/a")).toEqual([]);
  });

  it("watches: getChildren watch fires NodeChildrenChanged once on a child create/delete", () => {
    const d = new WatchDriver();
    const s = d.session();
    d.create("/p");
    d.getChildren(s, "/p");
    expect(lines(d.create("/p/c1"), [s])).toEqual(["NodeChildrenChanged /p s0"]);
    expect(d.create("/p/c2")).toEqual([]);
    d.getChildren(s, "/p");
    expect(lines(d.del("/p/c1"), [s])).toEqual(["NodeChildrenChanged /p s0"]);
    expect(d.del("/p/c2")).toEqual([]);
  });

  it("watches: setData never fires a child watch, a child create never a data watch", () => {
    const d = new WatchDriver();
    const s = d.session();
    d.create("/p");
    d.getChildren(s, "/p");
    expect(d.set("/p")).toEqual([]);
    d.getData(s, "/p");
    expect(lines(d.create("/p/c"), [s])).toEqual(["NodeChildrenChanged /p s0"]);
    expect(d.watches.checkWatches(s, "/p", WatcherType.Data)).toBe(true);
    expect(lines(d.set("/p/c"), [s])).toEqual([]);
    expect(lines(d.set("/p"), [s])).toEqual(["NodeDataChanged /p s0"]);
  });

  it("watches: a child watch on a deleted node gets NodeDeleted, not NodeChildrenChanged", () => {
    const d = new WatchDriver();
    const s = d.session();
    d.create("/p");
    d.getChildren(s, "/p");
    expect(lines(d.del("/p"), [s])).toEqual(["NodeDeleted /p s0"]);
    expect(d.watches.watchCount()).toBe(0);
  });

  it("watches: data and child watch on a deleted node: one NodeDeleted, both consumed", () => {
    const d = new WatchDriver();
    const s = d.session();
    d.create("/p");
    d.getData(s, "/p");
    d.getChildren(s, "/p");
    expect(d.watches.watchCount()).toBe(2);
    expect(lines(d.del("/p"), [s])).toEqual(["NodeDeleted /p s0"]);
    expect(d.watches.checkWatches(s, "/p", WatcherType.Any)).toBe(false);
    expect(d.watches.watchCount()).toBe(0);
  });

  it("watches: create fires NodeCreated on the node then NodeChildrenChanged on the parent", () => {
    const d = new WatchDriver();
    const s = d.session();
    d.exists(s, "/a");
    d.getChildren(s, "/");
    expect(lines(d.create("/a"), [s])).toEqual(["NodeCreated /a s0", "NodeChildrenChanged / s0"]);
  });

  it("watches: a multi fires in op order and each one-shot once", () => {
    const d = new WatchDriver();
    const s = d.session();
    d.exists(s, "/m");
    d.getChildren(s, "/");
    d.watches.addWatch(s, "/m", AddWatchMode.Persistent);
    const events = d.multi([
      createOp("/m"),
      { op: "setData", path: "/m", data: utf8("x"), version: -1 },
      { op: "delete", path: "/m", version: -1 },
    ]);
    expect(lines(events, [s])).toEqual([
      "NodeCreated /m s0",
      "NodeChildrenChanged / s0",
      "NodeDataChanged /m s0",
      "NodeDeleted /m s0",
    ]);
    expect(events.every((e) => e.zxid === d.db.lastZxid)).toBe(true);
    expect(d.watches.checkWatches(s, "/m", WatcherType.Persistent)).toBe(true);
    expect(d.watches.checkWatches(s, "/m", WatcherType.Data)).toBe(false);
  });

  it("watches: closing a session fires NodeDeleted for its ephemerals to other sessions", () => {
    const d = new WatchDriver();
    const owner = d.session();
    const watcher = d.session();
    d.create("/e", { flags: 1, session: owner });
    d.exists(watcher, "/e");
    d.getChildren(watcher, "/");
    d.exists(owner, "/e");
    expect(lines(d.closeSession(owner), [owner, watcher])).toEqual([
      "NodeDeleted /e s1",
      "NodeChildrenChanged / s1",
    ]);
  });
});

describe("watches: persistent and recursive", () => {
  it("watches: persistent sees data, create, delete and NodeChildrenChanged, repeatedly", () => {
    const d = new WatchDriver();
    const s = d.session();
    expect(d.watches.addWatch(s, "/p", AddWatchMode.Persistent)).toBe(true);
    const events = [
      ...d.create("/p"),
      ...d.set("/p"),
      ...d.set("/p"),
      ...d.create("/p/c"),
      ...d.set("/p/c"),
      ...d.create("/p/c/g"),
      ...d.del("/p/c/g"),
      ...d.del("/p/c"),
      ...d.del("/p"),
      ...d.create("/p"),
    ];
    expect(lines(events, [s])).toEqual([
      "NodeCreated /p s0",
      "NodeDataChanged /p s0",
      "NodeDataChanged /p s0",
      "NodeChildrenChanged /p s0",
      "NodeChildrenChanged /p s0",
      "NodeDeleted /p s0",
      "NodeCreated /p s0",
    ]);
    expect(d.watches.checkWatches(s, "/p", WatcherType.Persistent)).toBe(true);
  });

  it("watches: recursive sees the subtree's creates, changes, deletes, no child events", () => {
    const d = new WatchDriver();
    const s = d.session();
    expect(d.watches.addWatch(s, "/r", AddWatchMode.PersistentRecursive)).toBe(true);
    const events = [
      ...d.create("/r"),
      ...d.create("/r/c"),
      ...d.create("/r/c/g"),
      ...d.set("/r/c/g"),
      ...d.create("/rx"), // a string prefix, not a descendant
      ...d.del("/r/c/g"),
      ...d.set("/r"),
      ...d.del("/r/c"),
      ...d.del("/r"),
    ];
    expect(lines(events, [s])).toEqual([
      "NodeCreated /r s0",
      "NodeCreated /r/c s0",
      "NodeCreated /r/c/g s0",
      "NodeDataChanged /r/c/g s0",
      "NodeDeleted /r/c/g s0",
      "NodeDataChanged /r s0",
      "NodeDeleted /r/c s0",
      "NodeDeleted /r s0",
    ]);
    expect(events.some((e) => e.type === EventType.NodeChildrenChanged)).toBe(false);
    expect(d.watches.checkWatches(s, "/r", WatcherType.PersistentRecursive)).toBe(true);
  });

  it("watches: a recursive watch on / sees every write", () => {
    const d = new WatchDriver();
    const s = d.session();
    d.watches.addWatch(s, "/", AddWatchMode.PersistentRecursive);
    expect(lines([...d.create("/a"), ...d.create("/a/b"), ...d.set("/a/b")], [s])).toEqual([
      "NodeCreated /a s0",
      "NodeCreated /a/b s0",
      "NodeDataChanged /a/b s0",
    ]);
  });

  it("watches: one event per session per trigger when watches of all five kinds match", () => {
    const d = new WatchDriver();
    const s = d.session();
    d.exists(s, "/a"); // exist watch
    d.watches.addWatch(s, "/a", AddWatchMode.Persistent);
    d.watches.addWatch(s, "/", AddWatchMode.PersistentRecursive);
    expect(lines(d.create("/a"), [s])).toEqual(["NodeCreated /a s0"]);
    d.getData(s, "/a");
    d.exists(s, "/a");
    d.getChildren(s, "/a");
    expect(d.watches.watchCount()).toBe(3); // data /a, child /a, data /
    expect(lines(d.set("/a"), [s])).toEqual(["NodeDataChanged /a s0"]);
    expect(lines(d.del("/a"), [s])).toEqual(["NodeDeleted /a s0"]);
    expect(d.watches.checkWatches(s, "/a", WatcherType.Data)).toBe(false);
    expect(d.watches.checkWatches(s, "/a", WatcherType.Children)).toBe(false);
    expect(d.watches.checkWatches(s, "/a", WatcherType.Persistent)).toBe(true);
  });

  it("watches: a later one-shot on a persistent's path does not demote it (ZOOKEEPER-4466)", () => {
    const d = new WatchDriver();
    const s = d.session();
    d.create("/a");
    d.getData(s, "/a");
    d.watches.addWatch(s, "/a", AddWatchMode.Persistent);
    d.getData(s, "/a");
    d.getChildren(s, "/a");
    expect(lines(d.set("/a"), [s])).toEqual(["NodeDataChanged /a s0"]);
    expect(lines(d.set("/a"), [s])).toEqual(["NodeDataChanged /a s0"]);
    expect(lines(d.create("/a/c"), [s])).toEqual(["NodeChildrenChanged /a s0"]);
    expect(lines(d.create("/a/d"), [s])).toEqual(["NodeChildrenChanged /a s0"]);
  });

  it("watches: addWatch refuses an unknown mode and registers nothing", () => {
    const d = new WatchDriver();
    const s = d.session();
    expect(d.watches.addWatch(s, "/a", 2)).toBe(false);
    expect(d.watches.addWatch(s, "/a", -1)).toBe(false);
    expect(d.watches.watchCount()).toBe(0);
    expect(isAddWatchMode(0) && isAddWatchMode(1) && !isAddWatchMode(2)).toBe(true);
  });
});

describe("watches: sessions", () => {
  it("watches: sessions are notified in ascending session id order, not registration order", () => {
    const d = new WatchDriver();
    const s1 = d.session();
    const s2 = d.session();
    expect(s1 < s2).toBe(true);
    d.create("/a");
    d.getData(s2, "/a");
    d.getData(s1, "/a");
    d.watches.addWatch(s2, "/", AddWatchMode.PersistentRecursive);
    d.getChildren(s1, "/a");
    expect(lines(d.set("/a"), [s1, s2])).toEqual([
      "NodeDataChanged /a s0",
      "NodeDataChanged /a s1",
    ]);
    expect(lines(d.create("/a/b"), [s1, s2])).toEqual([
      "NodeCreated /a/b s1",
      "NodeChildrenChanged /a s0",
    ]);
  });

  it("watches: removeSession drops every watch of that session only", () => {
    const d = new WatchDriver();
    const s1 = d.session();
    const s2 = d.session();
    d.create("/a");
    for (const s of [s1, s2]) {
      d.getData(s, "/a");
      d.getChildren(s, "/a");
      d.exists(s, "/missing");
      d.watches.addWatch(s, "/a", AddWatchMode.Persistent);
      d.watches.addWatch(s, "/", AddWatchMode.PersistentRecursive);
    }
    expect(d.watches.sessionCount()).toBe(2);
    d.watches.removeSession(s1);
    d.watches.checkInvariants();
    expect(d.watches.sessionCount()).toBe(1);
    expect(d.watches.watchCountOf(s1)).toBe(0);
    expect(d.watches.checkWatches(s1, "/a", WatcherType.Any)).toBe(false);
    expect(lines([...d.set("/a"), ...d.create("/missing")], [s1, s2])).toEqual([
      "NodeDataChanged /a s1",
      "NodeCreated /missing s1",
    ]);
    d.watches.removeSession(s1); // idempotent
    d.watches.removeSession(s2);
    expect(d.watches.watchCount()).toBe(0);
    expect(d.watches.sessionCount()).toBe(0);
    expect(d.create("/a/b")).toEqual([]);
  });

  it("watches: a delivery filter drops the event but still consumes the one-shot watch", () => {
    const d = new WatchDriver();
    const s1 = d.session();
    const s2 = d.session();
    d.create("/a");
    d.getData(s1, "/a");
    d.getData(s2, "/a");
    const seen: string[] = [];
    d.deliver = (session, trigger) => {
      seen.push(`${trigger.type} ${trigger.path}`);
      return session === s2;
    };
    expect(lines(d.set("/a"), [s1, s2])).toEqual(["NodeDataChanged /a s1"]);
    expect(seen).toEqual(["NodeDataChanged /a", "NodeDataChanged /a"]);
    expect(d.watches.checkWatches(s1, "/a", WatcherType.Data)).toBe(false);
  });
});

describe("watches: removeWatches and checkWatches", () => {
  function setup() {
    const d = new WatchDriver();
    const s = d.session();
    d.create("/a");
    d.create("/a/b");
    return { d, s };
  }

  it("watches: removeWatches Data removes the data and exist watches, not the child watch", () => {
    const { d, s } = setup();
    d.getData(s, "/a");
    d.exists(s, "/x");
    d.getChildren(s, "/a");
    expect(d.watches.removeWatches(s, "/a", WatcherType.Data)).toBe(true);
    expect(d.watches.removeWatches(s, "/a", WatcherType.Data)).toBe(false);
    expect(d.watches.removeWatches(s, "/x", WatcherType.Data)).toBe(true);
    expect(d.watches.checkWatches(s, "/a", WatcherType.Children)).toBe(true);
    expect(lines([...d.set("/a"), ...d.create("/x"), ...d.create("/a/c")], [s])).toEqual([
      "NodeChildrenChanged /a s0",
    ]);
  });

  it("watches: removeWatches Children removes only the child watch", () => {
    const { d, s } = setup();
    d.getData(s, "/a");
    d.getChildren(s, "/a");
    expect(d.watches.removeWatches(s, "/a", WatcherType.Children)).toBe(true);
    expect(d.watches.removeWatches(s, "/a", WatcherType.Children)).toBe(false);
    expect(lines([...d.create("/a/c"), ...d.set("/a")], [s])).toEqual(["NodeDataChanged /a s0"]);
  });

  it("watches: removeWatches NOWATCHER for no watch, another session's, a parent path", () => {
    const { d, s } = setup();
    const other = d.session();
    d.getData(other, "/a");
    d.watches.addWatch(s, "/", AddWatchMode.PersistentRecursive);
    for (const type of [1, 2, 3, 4, 5]) expect(d.watches.removeWatches(s, "/a", type)).toBe(false);
    expect(d.watches.removeWatches(s, "/a/b", WatcherType.Any)).toBe(false);
    expect(d.watches.checkWatches(other, "/a", WatcherType.Data)).toBe(true);
  });

  it("watches: removeWatches Persistent removes both halves, keeps one-shots and recursive", () => {
    const { d, s } = setup();
    d.getData(s, "/a");
    d.watches.addWatch(s, "/a", AddWatchMode.Persistent);
    d.watches.addWatch(s, "/a", AddWatchMode.PersistentRecursive);
    expect(d.watches.removeWatches(s, "/a", WatcherType.Persistent)).toBe(true);
    expect(d.watches.removeWatches(s, "/a", WatcherType.Persistent)).toBe(false);
    expect(d.watches.checkWatches(s, "/a", WatcherType.Data)).toBe(true);
    expect(d.watches.checkWatches(s, "/a", WatcherType.PersistentRecursive)).toBe(true);
    // The child half is gone: a new child reaches only the recursive watch (as NodeCreated).
    expect(lines(d.create("/a/c"), [s])).toEqual(["NodeCreated /a/c s0"]);
  });

  it("watches: removeWatches PersistentRecursive removes only the recursive watch", () => {
    const { d, s } = setup();
    d.watches.addWatch(s, "/a", AddWatchMode.PersistentRecursive);
    d.watches.addWatch(s, "/a", AddWatchMode.Persistent);
    expect(d.watches.removeWatches(s, "/a", WatcherType.PersistentRecursive)).toBe(true);
    expect(d.watches.removeWatches(s, "/a", WatcherType.PersistentRecursive)).toBe(false);
    d.watches.checkInvariants();
    expect(lines([...d.set("/a/b"), ...d.set("/a")], [s])).toEqual(["NodeDataChanged /a s0"]);
  });

  it("watches: removeWatches Any removes every mode in both tables at that exact path", () => {
    const { d, s } = setup();
    d.getData(s, "/a");
    d.getChildren(s, "/a");
    d.watches.addWatch(s, "/a", AddWatchMode.Persistent);
    d.watches.addWatch(s, "/a", AddWatchMode.PersistentRecursive);
    d.getData(s, "/a/b");
    expect(d.watches.removeWatches(s, "/a", WatcherType.Any)).toBe(true);
    expect(d.watches.removeWatches(s, "/a", WatcherType.Any)).toBe(false);
    expect(d.watches.checkWatches(s, "/a/b", WatcherType.Data)).toBe(true);
    expect(lines([...d.set("/a"), ...d.create("/a/c"), ...d.set("/a/b")], [s])).toEqual([
      "NodeDataChanged /a/b s0",
    ]);
  });

  it("watches: checkWatches finds no watch on the empty path; removeWatches does", () => {
    const { d, s } = setup();
    d.exists(s, "");
    d.getChildren(s, "");
    for (const type of [1, 2, 3]) expect(d.watches.checkWatches(s, "", type)).toBe(false);
    expect(d.watches.removeWatches(s, "", WatcherType.Any)).toBe(true);
    expect(d.watches.removeWatches(s, "", WatcherType.Any)).toBe(false);
  });

  it("watches: removeWatches and checkWatches answer false for an unknown type", () => {
    const { d, s } = setup();
    d.getData(s, "/a");
    for (const type of [0, 6, -1, 2.5]) {
      expect(isWatcherType(type)).toBe(false);
      expect(d.watches.checkWatches(s, "/a", type)).toBe(false);
      expect(d.watches.removeWatches(s, "/a", type)).toBe(false);
    }
    expect(d.watches.checkWatches(s, "/a", WatcherType.Data)).toBe(true);
  });

  it("watches: checkWatches per type, exact path only (not a recursive ancestor's)", () => {
    const { d, s } = setup();
    const w = d.watches;
    // Which of Children, Data, Any, Persistent, PersistentRecursive (1..5) answer true.
    const check = (p: string) => [1, 2, 3, 4, 5].filter((t) => w.checkWatches(s, p, t));
    d.getChildren(s, "/a");
    expect(check("/a")).toEqual([1, 3]);
    d.exists(s, "/a");
    expect(check("/a")).toEqual([1, 2, 3]);
    w.addWatch(s, "/x", AddWatchMode.Persistent);
    expect(check("/x")).toEqual([3, 4]);
    w.addWatch(s, "/y", AddWatchMode.PersistentRecursive);
    expect(check("/y")).toEqual([3, 5]);
    expect(check("/y/z")).toEqual([]);
  });
});

describe("watches: setWatches after a reconnect", () => {
  const lists = (l: Partial<Record<keyof SetWatchesLists, string[]>>): SetWatchesLists => ({
    data: l.data ?? [],
    exist: l.exist ?? [],
    child: l.child ?? [],
    persistent: l.persistent ?? [],
    persistentRecursive: l.persistentRecursive ?? [],
  });

  it("watches: setWatches fires what changed after relativeZxid and re-registers the rest", () => {
    const d = new WatchDriver();
    d.create("/same");
    d.create("/changed");
    d.create("/gone");
    d.create("/kids");
    d.create("/quiet");
    const relative = d.db.lastZxid;
    const s = d.session();
    d.set("/changed");
    d.del("/gone");
    d.create("/kids/k");
    d.create("/born");
    const events = d.watches.setWatches(
      s,
      relative,
      lists({
        data: ["/same", "/changed", "/gone"],
        exist: ["/born", "/unborn"],
        child: ["/quiet", "/kids", "/gone"],
      }),
      d.db,
    );
    expect(lines(events, [s])).toEqual([
      "NodeDataChanged /changed s0",
      "NodeDeleted /gone s0",
      "NodeCreated /born s0",
      "NodeChildrenChanged /kids s0",
      "NodeDeleted /gone s0", // not deduped against the data list, as ZooKeeper
    ]);
    expect(events.every((e) => e.zxid === d.db.lastZxid && e.sessionId === s)).toBe(true);
    expect(d.watches.pathsBySession().get(s)).toEqual(["/same", "/unborn"]);
    expect(d.watches.pathsBySession("child").get(s)).toEqual(["/quiet"]);
    const after = [
      ...d.set("/same"),
      ...d.create("/unborn"),
      ...d.create("/quiet/q"),
      ...d.set("/changed"),
    ];
    expect(lines(after, [s])).toEqual([
      "NodeDataChanged /same s0",
      "NodeCreated /unborn s0",
      "NodeChildrenChanged /quiet s0",
    ]);
  });

  it("watches: setWatches compares mzxid and pzxid strictly with relativeZxid", () => {
    const d = new WatchDriver();
    d.create("/a");
    d.set("/a");
    const atChange = d.db.lastZxid;
    const s = d.session();
    const before = zxid(atChange - 1n);
    expect(d.watches.setWatches(s, atChange, lists({ data: ["/a"], child: ["/"] }), d.db)).toEqual(
      [],
    );
    d.watches.removeSession(s);
    expect(lines(d.watches.setWatches(s, before, lists({ data: ["/a"] }), d.db), [s])).toEqual([
      "NodeDataChanged /a s0",
    ]);
  });

  it("watches: setWatches re-adds persistent and recursive watches, no missed events", () => {
    const d = new WatchDriver();
    d.create("/p");
    const relative = d.db.lastZxid;
    const s = d.session();
    d.set("/p");
    d.create("/p/c");
    const both = lists({ persistent: ["/p"], persistentRecursive: ["/p"] });
    const events = d.watches.setWatches(s, relative, both, d.db);
    expect(events).toEqual([]);
    expect(d.watches.checkWatches(s, "/p", WatcherType.Persistent)).toBe(true);
    expect(d.watches.checkWatches(s, "/p", WatcherType.PersistentRecursive)).toBe(true);
    expect(lines([...d.create("/p/c/g"), ...d.create("/p/d")], [s])).toEqual([
      "NodeCreated /p/c/g s0",
      "NodeCreated /p/d s0",
      "NodeChildrenChanged /p s0",
    ]);
  });
});

describe("watches: reporting", () => {
  it("watches: counts, summaries and dumps are sorted; both tables count as in ZooKeeper", () => {
    const d = new WatchDriver();
    const s1 = d.session();
    const s2 = d.session();
    d.create("/b");
    d.create("/a");
    d.getData(s2, "/b");
    d.getData(s2, "/a");
    d.getChildren(s2, "/a");
    d.getData(s1, "/b");
    d.watches.addWatch(s1, "/c", AddWatchMode.Persistent);
    const w = d.watches;
    expect(w.watchCount()).toBe(6); // data: s2 /b /a, s1 /b /c; child: s2 /a, s1 /c
    expect(w.watchCountOf(s1)).toBe(3);
    expect(w.sessionCount()).toBe(2);
    expect(w.watchSummary()).toEqual({ sessions: 2, paths: 3, watches: 4 });
    expect(w.watchSummary("child")).toEqual({ sessions: 2, paths: 2, watches: 2 });
    expect([...w.pathsBySession().entries()]).toEqual([
      [s1, ["/b", "/c"]],
      [s2, ["/a", "/b"]],
    ]);
    expect([...w.sessionsByPath().entries()]).toEqual([
      ["/a", [s2]],
      ["/b", [s1, s2]],
      ["/c", [s1]],
    ]);
    expect([...w.sessionsByPath("child").keys()]).toEqual(["/a", "/c"]);
    expect(w.sessionsOverLimit()).toEqual([]);
  });

  it("watches: sessions over the per-session limit are reported, their watches kept", () => {
    const w = new WatchManager({ watchesPerSessionMax: 2 });
    const s1 = sessionId(5n);
    const s2 = sessionId(3n);
    for (const s of [s1, s2]) {
      w.addDataWatch(s, "/a");
      w.addChildWatch(s, "/a");
    }
    expect(w.sessionsOverLimit()).toEqual([]);
    w.addExistWatch(s1, "/b");
    w.addWatch(s2, "/c", AddWatchMode.PersistentRecursive);
    expect(w.sessionsOverLimit()).toEqual([s2, s1]);
    expect(w.watchCount()).toBe(6);
    expect(watchesPerSessionMax).toBeGreaterThanOrEqual(2_000_000);
  });

  it("watches: describeEvent is one line with hex ids", () => {
    const e: WatchEvent = {
      sessionId: sessionId(0x1an),
      type: EventType.NodeDataChanged,
      path: "/a",
      zxid: zxid(0x100000003n),
    };
    expect(describeEvent(e)).toBe("watch s=0x1a NodeDataChanged /a zxid=0x100000003");
    expect(eventTypeName(EventType.PersistentWatchRemoved)).toBe("PersistentWatchRemoved");
    expect(eventTypeName(42)).toBe("EventType(42)");
  });

  it("watches: a manager works on a bare Database too (no harness needed)", () => {
    const db = new Database({ extendedTypesEnabled: false });
    const w = new WatchManager();
    const s = sessionId(1n);
    w.addExistWatch(s, "/a");
    const { triggers } = db.applyTxn({
      zxid: zxid(1n),
      sessionId: s,
      cxid: 1,
      timeMs: 0,
      body: {
        type: "create",
        path: "/a",
        data: utf8(""),
        acl: openAclUnsafe,
        ephemeralOwner: 0n,
        parentCversion: 1,
      },
    });
    expect(w.trigger(triggers, db.lastZxid)).toEqual([
      { sessionId: s, type: EventType.NodeCreated, path: "/a", zxid: zxid(1n) },
    ]);
  });
});

describe("watches: property against a reference model", () => {
  const paths = ["/", "/a", "/a/b", "/a/b/c", "/d"] as const;
  const path = fc.constantFrom(...paths);
  const session = fc.integer({ min: 0, max: 2 });
  // Creates weigh double so that deep paths exist often enough for recursive watches to matter.
  const treeOp = fc.record({
    k: fc.constantFrom("create", "create", "delete", "set"),
    path: fc.constantFrom(...paths.slice(1)),
  });
  const how = fc.constantFrom("exists", "getData", "getChildren", "persistent", "recursive");
  const command = fc.oneof(
    { weight: 4, arbitrary: fc.record({ k: fc.constant("watch"), s: session, how, path }) },
    { weight: 4, arbitrary: treeOp },
    {
      weight: 1,
      arbitrary: fc.record({
        k: fc.constant("multi"),
        ops: fc.array(treeOp, { minLength: 1, maxLength: 3 }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        k: fc.constant("remove"),
        s: session,
        path,
        type: fc.integer({ min: 0, max: 6 }),
      }),
    },
    { weight: 1, arbitrary: fc.record({ k: fc.constant("drop"), s: session }) },
    {
      weight: 1,
      arbitrary: fc.record({
        k: fc.constant("reconnect"),
        s: session,
        back: fc.integer({ min: 0, max: 2 }),
        during: fc.array(treeOp, { maxLength: 3 }),
      }),
    },
  );
  type Command = typeof command extends fc.Arbitrary<infer C> ? C : never;
  type TreeOp = { k: string; path: string };

  function writeOf(op: TreeOp): MultiWriteOp {
    if (op.k === "create") return createOp(op.path);
    if (op.k === "delete") return { op: "delete", path: op.path, version: -1 };
    return { op: "setData", path: op.path, data: utf8("v"), version: -1 };
  }

  class Run {
    readonly d = new WatchDriver();
    readonly model = new WatchModel();
    readonly sessions = [this.d.session(), this.d.session(), this.d.session()];

    /**
     * One write: the manager's events must equal the model's (which fires a one-shot only while it
     * is registered and consumes it), and every one-shot that fired is gone from the manager too.
     */
    write(request: Request): void {
      const events = this.d.write(request).events;
      const expected = this.model.trigger(this.d.lastTriggers, this.d.db.lastZxid);
      expect(lines(events, this.sessions)).toEqual(lines(expected, this.sessions));
      for (const r of this.model.consumed) {
        const type = r.kind === "data" ? WatcherType.Data : WatcherType.Children;
        expect(this.d.watches.checkWatches(r.session, r.path, type)).toBe(false);
      }
    }

    watch(s: SessionId, how: string, p: string): void {
      const w = this.d.watches;
      if (how === "exists") {
        this.d.exists(s, p);
        this.model.register(s, "data", p);
      } else if (how === "getData") {
        if (this.d.getData(s, p) === Err.OK) this.model.register(s, "data", p);
      } else if (how === "getChildren") {
        if (this.d.getChildren(s, p) === Err.OK) this.model.register(s, "child", p);
      } else {
        const mode =
          how === "persistent" ? AddWatchMode.Persistent : AddWatchMode.PersistentRecursive;
        expect(w.addWatch(s, p, mode)).toBe(true);
        this.model.register(s, how === "persistent" ? "persistent" : "recursive", p);
      }
    }

    /** The client saw up to `back` txns before the last one; `during` happen while it is away. */
    reconnect(s: SessionId, back: number, during: readonly TreeOp[]): void {
      const relative = zxid(this.d.db.lastZxid - BigInt(back));
      const lists = this.model.setWatchesLists(s, this.d.db);
      this.d.watches.removeSession(s);
      this.model.removeSession(s);
      for (const op of during) this.write(writeOf(op));
      const got = this.d.watches.setWatches(s, relative, lists, this.d.db);
      const expected = this.model.setWatches(s, relative, lists, this.d.db);
      expect(lines(got, this.sessions)).toEqual(lines(expected, this.sessions));
    }

    step(c: Command): void {
      if (c.k === "watch") this.watch(this.sessions[c.s]!, c.how, c.path);
      else if (c.k === "multi") this.write({ op: "multi", ops: c.ops.map(writeOf) });
      else if (c.k === "remove") {
        const s = this.sessions[c.s]!;
        const expected = this.model.removeWatches(s, c.path, c.type);
        expect(this.d.watches.removeWatches(s, c.path, c.type)).toBe(expected);
      } else if (c.k === "drop") {
        this.d.watches.removeSession(this.sessions[c.s]!);
        this.model.removeSession(this.sessions[c.s]!);
      } else if (c.k === "reconnect") this.reconnect(this.sessions[c.s]!, c.back, c.during);
      else this.write(writeOf(c as TreeOp));
      this.compareState();
    }

    compareState(): void {
      this.d.watches.checkInvariants();
      for (const s of this.sessions) {
        for (const p of paths) {
          for (const type of [1, 2, 3, 4, 5]) {
            const expected = this.model.checkWatches(s, p, type);
            expect(this.d.watches.checkWatches(s, p, type), `${s} ${p} ${type}`).toBe(expected);
          }
        }
      }
      expect(this.d.watches.watchCount()).toBe(this.model.watchCount());
    }
  }

  it("watches: property: events, one-shots, remove/check/setWatches match the model", () => {
    fc.assert(
      fc.property(fc.array(command, { minLength: 1, maxLength: 60, size: "max" }), (commands) => {
        const run = new Run();
        for (const c of commands) run.step(c);
      }),
      { numRuns: 200 },
    );
  });
});
