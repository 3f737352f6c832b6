import { describe, expect, it } from "vitest";
import { checkReaping } from "./reaping.ts";
import { Builder } from "./test/builder.ts";

const Z = 0x100000000; // epoch 1

const messages = (b: Builder, clockSlackMs = 0): string[] =>
  checkReaping(b.paired(), { clockSlackMs }).violations.map((v) => v.message);

/** Session 0x1 watches /c0; session 0x2 creates it as a container at Z+2. */
function container(): Builder {
  const b = new Builder();
  b.event(1, "connected");
  b.invoke(1, "addWatch", "/c0", { watchMode: "persistent" }).ok(1, {}, Z + 1);
  b.invoke(2, "create", "/c0", { data: "", mode: "container" }).ok(2, { path: "/c0" }, Z + 2);
  return b;
}

const reaped = (b: Builder, path: string, zxid: number): Builder =>
  b.event(1, "watch", { path, event: "NodeDeleted", zxid });

describe("reaping: containers", () => {
  it("a container goes once it had a child and has none left", () => {
    const b = container();
    b.invoke(2, "create", "/c0/a", { data: "" }).ok(2, { path: "/c0/a" }, Z + 3);
    b.invoke(2, "delete", "/c0/a", { version: -1 }).ok(2, {}, Z + 4);
    reaped(b, "/c0", Z + 5);
    expect(messages(b)).toEqual([]);
    expect(checkReaping(b.paired()).checked).toBe(1);
  });

  it("a container reaped before any child, or while one exists, is reported", () => {
    expect(messages(reaped(container(), "/c0", Z + 3))).toEqual([
      "/c0 was deleted by no client at 0x100000003 (index 5), a container that never had a child",
    ]);
    const full = container();
    full.invoke(2, "create", "/c0/a", { data: "" }).ok(2, { path: "/c0/a" }, Z + 3);
    expect(messages(reaped(full, "/c0", Z + 4))).toEqual([
      "/c0 was deleted by no client at 0x100000004 (index 7) while its child /c0/a existed (#2)",
    ]);
  });

  it("a client's own delete, or one of unknown outcome, is no reaping to judge", () => {
    const own = container();
    own.invoke(2, "delete", "/c0", { version: -1 }).ok(2, {}, Z + 3);
    expect(messages(reaped(own, "/c0", Z + 3))).toEqual([]);
    const unknown = container();
    unknown.invoke(2, "delete", "/c0", { version: -1 }).info(2);
    expect(messages(reaped(unknown, "/c0", Z + 3))).toEqual([]);
  });
});

describe("reaping: TTL nodes", () => {
  /** /t0 with a TTL of 1000 ms created at Z+2, touched at Z+3, reaped `afterMs` later. */
  function ttl(afterMs: number): Builder {
    const b = new Builder();
    b.event(1, "connected");
    b.invoke(1, "addWatch", "/t0", { watchMode: "persistent" }).ok(1, {}, Z + 1);
    const args = { data: "", mode: "ttl" as const, ttl: 1000 };
    b.invoke(2, "create", "/t0", args).ok(2, { path: "/t0" }, Z + 2);
    b.wait(5_000_000);
    b.invoke(2, "setData", "/t0", { data: "t", version: -1 }).ok(2, { version: 1 }, Z + 3);
    return reaped(b.wait(afterMs * 1000), "/t0", Z + 4);
  }

  it("a TTL node goes no sooner than its TTL after its last modification", () => {
    expect(messages(ttl(1_100))).toEqual([]);
    expect(messages(ttl(600))).toEqual([
      "/t0 was deleted by no client at 0x100000004 (index 7), a TTL node of 1000 ms, " +
        "at most 600 ms after its last modification #2",
    ]);
  });

  it("clocks that may disagree by the slack excuse that much", () => {
    expect(messages(ttl(600), 500)).toEqual([]);
  });

  it("a TTL node with a child is never reaped", () => {
    const kept = new Builder();
    kept.event(1, "connected");
    kept.invoke(1, "addWatch", "/t0", { watchMode: "persistent" }).ok(1, {}, Z + 1);
    const args = { data: "", mode: "ttl" as const, ttl: 1000 };
    kept.invoke(2, "create", "/t0", args).ok(2, { path: "/t0" }, Z + 2);
    kept.invoke(2, "create", "/t0/a", { data: "" }).ok(2, { path: "/t0/a" }, Z + 3);
    kept.wait(5_000_000);
    expect(messages(reaped(kept, "/t0", Z + 4))).toEqual([
      "/t0 was deleted by no client at 0x100000004 (index 7) while its child /t0/a existed (#2)",
    ]);
  });
});
