import { describe, expect, it } from "vitest";
import { checkPersistentWatches } from "./guarantees-watches.ts";
import { Builder } from "./test/builder.ts";

const Z = 0x100000000; // epoch 1

const messages = (b: Builder): string[] =>
  checkPersistentWatches(b.paired()).violations.map((v) => v.message);

/** Session 0x1 watches `path` from Z+1; session 0x2 creates /w/a/x at Z+2. */
function watched(recursive = true, path = "/w"): Builder {
  const b = new Builder();
  b.event(1, "connected");
  const watchMode = recursive ? "persistentRecursive" : "persistent";
  b.invoke(1, "addWatch", path, { watchMode }).ok(1, {}, Z + 1);
  b.invoke(2, "create", "/w/a/x", { data: "x" }).ok(2, { path: "/w/a/x" }, Z + 2);
  return b;
}

const read = (b: Builder, zxid: number): Builder =>
  b.invoke(1, "getData", "/k0", {}).ok(1, { data: "", version: 0, mzxid: BigInt(Z) }, zxid);

describe("persistent watches", () => {
  it("a recursive watch delivers a grandchild's change before a later reply", () => {
    const b = watched();
    b.event(1, "watch", { path: "/w/a/x", event: "NodeCreated", zxid: Z + 2 });
    read(b, Z + 3);
    expect(messages(b)).toEqual([]);
    expect(checkPersistentWatches(b.paired()).checked).toBeGreaterThan(0);
  });

  it("a change missing when a reply shows the server applied it is reported", () => {
    const b = read(watched(), Z + 3);
    expect(messages(b)).toEqual([
      "session 0x1 missed NodeCreated /w/a/x at 0x100000002 (#1), covered by its recursive " +
        "watch on /w (#0, registered at 0x100000001), though the reply to #2 at 0x100000003 " +
        "(index 6) came after the change on the same connection",
    ]);
  });

  it("nothing is owed before the connection shows the change applied, nor after it ends", () => {
    expect(messages(watched())).toEqual([]);
    const b = watched();
    b.event(1, "connected");
    read(b, Z + 3);
    expect(messages(b)).toEqual([]);
  });

  it("a persistent watch covers its node's children list, not its grandchildren", () => {
    const b = watched(false, "/w/a");
    read(b, Z + 3);
    expect(messages(b)).toHaveLength(1);
    expect(messages(b)[0]).toMatch(/missed NodeChildrenChanged \/w\/a at 0x100000002/);
    const fine = watched(false, "/w");
    read(fine, Z + 3);
    expect(messages(fine)).toEqual([]);
  });

  it("after setWatches, changes from before it are not replayed, later ones are owed", () => {
    const b = watched();
    b.event(1, "watch", { path: "/w/a/x", event: "NodeCreated", zxid: Z + 2 });
    b.event(1, "connected");
    b.invoke(2, "setData", "/w/a/x", { data: "y", version: -1 }).ok(2, { version: 1 }, Z + 3);
    const watches = {
      data: [],
      exist: [],
      child: [],
      persistent: [],
      persistentRecursive: ["/w"],
    };
    b.session(9001, "0x1")
      .invoke(9001, "setWatches", undefined, { watches })
      .ok(9001, {}, Z + 4);
    b.invoke(2, "delete", "/w/a/x", { version: -1 }).ok(2, {}, Z + 5);
    b.event(1, "watch", { path: "/w/a/x", event: "NodeDataChanged", zxid: Z + 3 });
    read(b, Z + 6);
    const found = messages(b);
    expect(found).toHaveLength(2);
    expect(found[0]).toMatch(/NodeDataChanged \/w\/a\/x at 0x100000003 delivered .* replayed/);
    expect(found[1]).toMatch(/missed NodeDeleted \/w\/a\/x at 0x100000005/);
  });

  it("events come once each, in zxid order, and name the change their zxid made", () => {
    const b = watched();
    b.invoke(2, "setData", "/w/a/x", { data: "y", version: -1 }).ok(2, { version: 1 }, Z + 3);
    b.event(1, "watch", { path: "/w/a/x", event: "NodeDataChanged", zxid: Z + 3 });
    b.event(1, "watch", { path: "/w/a/x", event: "NodeCreated", zxid: Z + 2 });
    b.event(1, "watch", { path: "/w/a/x", event: "NodeDataChanged", zxid: Z + 3 });
    b.event(1, "watch", { path: "/w/b", event: "NodeDeleted", zxid: Z + 3 });
    const found = messages(b);
    expect(found).toHaveLength(4);
    // The event at Z+3 shows Z+2 applied, and its event had not come yet.
    expect(found[0]).toMatch(/missed NodeCreated \/w\/a\/x at 0x100000002 .* the event at/);
    expect(found[1]).toMatch(/NodeCreated \/w\/a\/x at 0x100000002 delivered .* after/);
    expect(found[2]).toMatch(/NodeDataChanged \/w\/a\/x at 0x100000003 delivered twice/);
    expect(found[3]).toMatch(/NodeDeleted \/w\/b .* the write at that zxid \(#2\) made/);
  });

  it("a registration of unknown outcome excuses its events; one-shot paths are left out", () => {
    const b = new Builder();
    b.event(1, "connected");
    b.invoke(1, "addWatch", "/w", { watchMode: "persistent" }).info(1);
    b.event(1, "watch", { path: "/w", event: "NodeDataChanged", zxid: Z + 1 });
    b.invoke(1, "getData", "/k0", { watch: true }).ok(1, { data: "" }, Z + 1);
    b.invoke(1, "addWatch", "/k0", { watchMode: "persistent" }).ok(1, {}, Z + 2);
    b.event(1, "watch", { path: "/k0", event: "NodeDataChanged", zxid: Z + 2 });
    expect(messages(b)).toEqual([]);
  });
});
