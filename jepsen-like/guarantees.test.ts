import { describe, expect, it } from "vitest";
import { Err } from "../core/errors.ts";
import { checkGuarantees } from "./check.ts";
import type { GuaranteeName } from "./guarantees.ts";
import { Builder } from "./test/builder.ts";

/** guarantee -> violation messages, for the guarantees that found any. */
function violations(b: Builder): Partial<Record<GuaranteeName, string[]>> {
  const found: Partial<Record<GuaranteeName, string[]>> = {};
  for (const g of checkGuarantees(b.paired()))
    if (g.violationCount > 0) found[g.guarantee] = g.violations.map((v) => v.message);
  return found;
}

const Z = 0x100000000; // epoch 1

describe("guarantees: per session", () => {
  it("FIFO: a session's acknowledged writes commit in issue order", () => {
    const b = new Builder();
    b.invoke(1, "create", "/a", { data: "" }).ok(1, { path: "/a" }, Z + 5);
    b.invoke(1, "create", "/b", { data: "" }).ok(1, { path: "/b" }, Z + 3);
    expect(violations(b)["fifo-order"]).toEqual([
      "session 0x1: #1 was issued after #0 but committed at 0x100000003, not after 0x100000005",
    ]);
  });

  it("read-your-writes: a later read replies at or after the write, and sees its data", () => {
    const b = new Builder();
    b.invoke(1, "create", "/a", { data: "x" }).ok(1, { path: "/a" }, Z + 1);
    b.invoke(2, "setData", "/a", { data: "mine", version: -1 }).ok(2, { version: 1 }, Z + 2);
    b.invoke(2, "getData", "/a", {}).ok(2, { data: "x", version: 0, mzxid: BigInt(Z + 1) }, Z + 2);
    expect(violations(b)["read-your-writes"]).toEqual([
      "#2 read /a at mzxid 0x100000001, " +
        "older than the session's own acknowledged write #1 at 0x100000002",
    ]);
    const behind = new Builder();
    behind.invoke(2, "create", "/b", { data: "" }).ok(2, { path: "/b" }, Z + 9);
    behind.invoke(2, "exists", "/c", {}).ok(2, { exists: false }, Z + 4);
    expect(violations(behind)["read-your-writes"]).toEqual([
      "#1 replied at 0x100000004, before the session's own acknowledged write #0 at 0x100000009",
    ]);
  });
});

describe("guarantees: per session, zxids past 2^53", () => {
  it("orders a session's zxids exactly where neighbours round to one number", () => {
    const far = 2n ** 62n; // numbers there are 1024 apart
    const inOrder = new Builder();
    inOrder.invoke(1, "create", "/a", { data: "" }).ok(1, { path: "/a" }, far + 3n);
    inOrder.invoke(1, "create", "/b", { data: "" }).ok(1, { path: "/b" }, far + 5n);
    inOrder.invoke(1, "exists", "/b", {}).ok(1, { exists: true, mzxid: far + 5n }, far + 5n);
    expect(violations(inOrder)).toEqual({});
    const b = new Builder();
    b.invoke(1, "create", "/a", { data: "" }).ok(1, { path: "/a" }, far + 5n);
    b.invoke(1, "create", "/b", { data: "" }).ok(1, { path: "/b" }, far + 3n);
    b.invoke(1, "exists", "/c", {}).ok(1, { exists: false }, far + 4n);
    expect(violations(b)["fifo-order"]).toEqual([
      "session 0x1: #1 was issued after #0 but committed at 0x4000000000000003, " +
        "not after 0x4000000000000005",
    ]);
    expect(violations(b)["monotonic-reads"]).toEqual([
      "session 0x1 went back in time: #1 replied at 0x4000000000000003 " +
        "after #0 replied at 0x4000000000000005",
      "session 0x1 went back in time: #2 replied at 0x4000000000000004 " +
        "after #0 replied at 0x4000000000000005",
    ]);
    expect(violations(b)["read-your-writes"]).toEqual([
      "#2 replied at 0x4000000000000004, " +
        "before the session's own acknowledged write #0 at 0x4000000000000005",
    ]);
  });
});

describe("guarantees: a session's own multi", () => {
  it("read-your-writes pairs each op of a multi with its own result, checks included", () => {
    const b = new Builder();
    const ops = [
      { op: "check" as const, path: "/c", version: 0 },
      { op: "create" as const, path: "/a", data: "a1", mode: "persistent" as const },
      { op: "create" as const, path: "/b", data: "b1", mode: "persistent" as const },
    ];
    b.invoke(1, "multi", undefined, { ops }).ok(
      1,
      { results: [{}, { path: "/a" }, { path: "/b" }] },
      Z + 2,
    );
    b.invoke(1, "getData", "/a", {}).ok(1, { data: "a1", version: 0, mzxid: BigInt(Z + 2) }, Z + 2);
    expect(violations(b)["read-your-writes"]).toBeUndefined();
  });
});

describe("guarantees: what reads return (sequential consistency)", () => {
  it("accepts a lagging plain read, rejects a value no write produced", () => {
    const b = new Builder();
    b.invoke(1, "create", "/a", { data: "x" }).ok(1, { path: "/a" }, Z + 1);
    b.invoke(1, "setData", "/a", { data: "y", version: -1 }).ok(1, { version: 1 }, Z + 2);
    b.invoke(2, "getData", "/a", {}).ok(2, { data: "x" }, Z + 1); // lagging replica: fine
    b.invoke(3, "getData", "/a", {}).ok(3, { data: "z" }, Z + 2);
    b.invoke(4, "setData", "/a", { data: "maybe", version: -1 }).info(4);
    // An indeterminate write may show.
    b.invoke(5, "getData", "/a", {}).ok(5, { data: "maybe" }, Z + 3);
    expect(violations(b)).toEqual({
      "sequential-reads": [
        '#3 read "z" from /a at 0x100000002, but the latest write (#1 at 0x100000002) left "y"',
      ],
    });
  });

  it("finds a node absent only after something deleted it", () => {
    const b = new Builder();
    b.invoke(1, "create", "/a", { data: "x" }).ok(1, { path: "/a" }, Z + 1);
    b.invoke(2, "getData", "/a", {}).fail(2, Err.NONODE, Z + 2);
    expect(violations(b)["sequential-reads"]).toEqual([
      "#1 found /a absent at 0x100000002, but #0 wrote it at 0x100000001 and nothing deleted it",
    ]);
  });

  it("lists children as they were at the reply zxid", () => {
    const b = new Builder();
    b.invoke(1, "create", "/p", { data: "" }).ok(1, { path: "/p" }, Z + 1);
    b.invoke(1, "create", "/p/a", { data: "" }).ok(1, { path: "/p/a" }, Z + 2);
    b.invoke(1, "create", "/p/b", { data: "" }).ok(1, { path: "/p/b" }, Z + 3);
    b.invoke(2, "getChildren", "/p", {}).ok(2, { children: ["a"] }, Z + 2); // lagging: fine
    b.invoke(3, "getChildren", "/p", {}).ok(3, { children: ["b", "ghost"] }, Z + 3);
    expect(violations(b)["sequential-reads"]).toEqual([
      "#4 listed /p at 0x100000003 without a, created by #1 at 0x100000002",
      "#4 listed ghost under /p, which no write created",
    ]);
  });

  it("orders zxids past 2^53 exactly, where neighbours round to one number", () => {
    const far = 2n ** 62n; // numbers there are 1024 apart
    const b = new Builder();
    b.invoke(1, "create", "/a", { data: "x" }).ok(1, { path: "/a" }, far + 1n);
    b.invoke(1, "setData", "/a", { data: "y", version: -1 }).ok(1, { version: 1 }, far + 2n);
    b.invoke(2, "getData", "/a", {}).ok(2, { data: "x" }, far + 1n); // lagging: fine
    b.invoke(3, "getData", "/a", {}).ok(3, { data: "x", version: 0, mzxid: far + 1n }, far + 3n);
    expect(violations(b)).toEqual({
      "sequential-reads": [
        "#3 is stale: it replied at 0x4000000000000003 with /a as of 0x4000000000000001, " +
          "but #1 changed /a at 0x4000000000000002",
      ],
    });
  });
});

describe("guarantees: children a lost sequential create made", () => {
  it("a child first known from its delete may be one a create with an unknown outcome made", () => {
    const b = new Builder();
    b.invoke(1, "create", "/q", { data: "" }).ok(1, { path: "/q" }, Z + 1);
    b.invoke(2, "create", "/q/n-", { data: "", mode: "sequential" }).info(2);
    b.invoke(3, "getChildren", "/q", {}).ok(3, { children: ["n-0000000000"] }, Z + 2);
    b.invoke(3, "delete", "/q/n-0000000000", { version: -1 }).ok(3, {}, Z + 3);
    expect(violations(b)["sequential-reads"]).toBeUndefined();
    // Listed after its delete is still wrong.
    b.invoke(4, "getChildren", "/q", {}).ok(4, { children: ["n-0000000000"] }, Z + 3);
    expect(violations(b)["sequential-reads"]).toEqual([
      "#4 listed n-0000000000 under /q at 0x100000003, but #3 deleted it at 0x100000003",
    ]);
  });
});

describe("guarantees: watches, ephemerals, sequential names", () => {
  it("watch: an event recorded after a read that already showed its change", () => {
    const b = new Builder();
    b.invoke(1, "getData", "/w", { watch: true }).ok(1, { data: "a", mzxid: BigInt(Z + 1) }, Z + 1);
    // The change has no known zxid.
    b.invoke(2, "setData", "/w", { data: "b", version: -1 }).info(2);
    b.invoke(1, "getData", "/w", {}).ok(1, { data: "b", mzxid: BigInt(Z + 2) }, Z + 2);
    b.event(1, "watch", { path: "/w", event: "NodeDataChanged", zxid: Z + 2 });
    expect(violations(b)["watch-order"]).toEqual([
      "#2 on session 0x1 saw /w at or after 0x100000002 " +
        "before the NodeDataChanged event for it was delivered (index 6)",
    ]);
  });

  it("ephemerals: the stat's czxid pins the incarnation a read saw", () => {
    const b = new Builder();
    b.invoke(1, "create", "/e", { data: "", mode: "ephemeral" }).ok(1, { path: "/e" }, Z + 1);
    b.invoke(1, "closeSession").ok(1, undefined, Z + 2);
    b.invoke(2, "create", "/e", { data: "", mode: "ephemeral" }).ok(2, { path: "/e" }, Z + 3);
    // The new one: fine.
    b.invoke(3, "exists", "/e", {}).ok(3, { exists: true, czxid: BigInt(Z + 3) }, Z + 4);
    b.invoke(3, "exists", "/e", {}).ok(3, { exists: true, czxid: BigInt(Z + 1) }, Z + 4);
    expect(violations(b).ephemerals).toEqual([
      "#4 saw /e, an ephemeral of session 0x1, at 0x100000004 " +
        "after the session's close committed at 0x100000002",
    ]);
  });

  it("sequential names increase with zxid under each parent", () => {
    const b = new Builder();
    b.invoke(1, "create", "/q/n-", { data: "", mode: "sequential" }).ok(
      1,
      { path: "/q/n-0000000005" },
      Z + 1,
    );
    b.invoke(2, "create", "/q/n-", { data: "", mode: "sequential" }).ok(
      2,
      { path: "/q/n-0000000004" },
      Z + 2,
    );
    b.invoke(2, "create", "/r/n-", { data: "", mode: "sequential" }).ok(
      2,
      { path: "/r/n-0000000001" },
      Z + 3,
    );
    expect(violations(b)["sequential-names"]).toEqual([
      "under /q, #1 committed at 0x100000002 got /q/n-0000000004, " +
        "not after /q/n-0000000005 (#0 at 0x100000001)",
    ]);
  });
});
