import { describe, expect, it } from "vitest";
import { Err } from "../core/errors.ts";
import type { Model } from "./model.ts";
import { namespaceModel, partitionByPath, perPathModel, zookeeperSymmetry } from "./model.ts";
import type { Operation } from "./operations.ts";
import { partitionHistory, partitionOperations } from "./partition.ts";
import { sequenceSuffix } from "./semantics.ts";
import { Builder } from "./test/builder.ts";

/**
 * Steps the ops in order; returns each state's description, or "illegal" where the model refuses.
 */
function run<S>(model: Model<S>, ops: readonly Operation[]): string[] {
  let state = model.init();
  return ops.map((op) => {
    const next = model.step(state, op);
    if (next === undefined) return `illegal: ${model.describeOperation(op)}`;
    state = next;
    return model.describeState(state);
  });
}

describe("model: per-path semantics (ZooKeeper's error order)", () => {
  it("create, setData with and without version, delete, and their errors", () => {
    const b = new Builder();
    b.invoke(1, "setData", "/k", { data: "x", version: -1 }).fail(1, Err.NONODE, 1);
    b.invoke(1, "create", "/k", { data: "a" }).ok(1, { path: "/k" }, 2);
    b.invoke(1, "create", "/k", { data: "b" }).fail(1, Err.NODEEXISTS, 3);
    b.invoke(1, "setData", "/k", { data: "c", version: 5 }).fail(1, Err.BADVERSION, 4);
    b.invoke(1, "setData", "/k", { data: "c", version: 0 }).ok(1, { version: 1 }, 5);
    b.invoke(1, "check", "/k", { version: 1 }).ok(1, {}, 6);
    b.invoke(1, "delete", "/k", { version: 0 }).fail(1, Err.BADVERSION, 7);
    b.invoke(1, "delete", "/k", { version: -1 }).ok(1, {}, 8);
    b.invoke(1, "getData", "/k", { sync: true }).fail(1, Err.NONODE, 8);
    expect(run(perPathModel("/k"), b.paired().operations)).toEqual([
      "/k absent",
      '/k="a" v0',
      '/k="a" v0',
      '/k="a" v0',
      '/k="c" v1',
      '/k="c" v1',
      '/k="c" v1',
      "/k absent",
      "/k absent",
    ]);
  });

  it("refuses outcomes the state cannot explain", () => {
    const b = new Builder();
    b.invoke(1, "create", "/k", { data: "a" }).ok(1, { path: "/k" });
    // A wrong new version.
    b.invoke(1, "setData", "/k", { data: "b", version: 0 }).ok(1, { version: 7 });
    b.invoke(1, "getData", "/k", {}).ok(1, { data: "zzz" });
    b.invoke(1, "delete", "/k", { version: -1 }).fail(1, Err.NONODE);
    const [create, set, read, del] = b.paired().operations;
    const model = perPathModel("/k");
    const created = model.step(model.init(), create!)!;
    expect(model.step(created, set!)).toBeUndefined();
    expect(model.step(created, read!)).toBeUndefined();
    expect(model.step(created, del!)).toBeUndefined();
  });

  it("is lenient where it cannot know: a create's parent, a delete's children", () => {
    const b = new Builder();
    b.invoke(1, "create", "/a/b", { data: "x" }).fail(1, Err.NONODE); // parent /a unknown: fine
    b.invoke(1, "create", "/a/b", { data: "x" }).ok(1, { path: "/a/b" });
    b.invoke(1, "delete", "/a/b", { version: -1 }).fail(1, Err.NOTEMPTY); // children unknown: fine
    b.invoke(1, "create", "/a/b", { data: "y" }).fail(1, Err.NONODE); // but /a/b exists: impossible
    expect(run(perPathModel("/a/b"), b.paired().operations)).toEqual([
      "/a/b absent",
      '/a/b="x" v0',
      '/a/b="x" v0',
      'illegal: #3 p1 s=0x1 create /a/b "y" -> NONODE',
    ]);
  });

  it("indeterminate ops take effect when they can; no write of a closed session succeeds", () => {
    const b = new Builder();
    b.invoke(1, "create", "/e", { data: "mine", mode: "ephemeral" }).ok(1, { path: "/e" });
    b.invoke(2, "setData", "/e", { data: "x", version: 3 }).info(2);
    b.invoke(1, "closeSession").ok(1);
    b.invoke(1, "create", "/e", { data: "again", mode: "ephemeral" }).ok(1, { path: "/e" });
    const ops = b.paired().operations;
    expect(run(perPathModel("/e"), ops)).toEqual([
      '/e="mine" v0 ephemeral of 0x1',
      '/e="mine" v0 ephemeral of 0x1',
      "/e absent; closed sessions 0x1",
      'illegal: #3 p1 s=0x1 create /e "again" ephemeral -> ok /e',
    ]);
  });

  it("formats sequence suffixes as ZooKeeper's %010d of a signed 32-bit cversion", () => {
    expect(sequenceSuffix(3)).toBe("0000000003");
    expect(sequenceSuffix(2147483647)).toBe("2147483647");
    expect(sequenceSuffix(-2147483648)).toBe("-2147483648");
    expect(sequenceSuffix(-5)).toBe("-000000005");
  });
});

describe("model: namespace semantics (ops spanning paths)", () => {
  const scope = {
    paths: new Set(["/", "/q", "/q/a", "/q/n-0000000001", "/m"]),
    childObserved: new Set(["/q"]),
  };
  const model = namespaceModel(scope, (ops) => [[...ops]]);

  it("names sequential nodes by the parent's cversion and lists children sorted", () => {
    const b = new Builder();
    b.invoke(1, "create", "/q", { data: "" }).ok(1, { path: "/q" });
    b.invoke(1, "create", "/q/a", { data: "" }).ok(1, { path: "/q/a" });
    b.invoke(1, "create", "/q/n-", { data: "s", mode: "sequential" }).ok(1, {
      path: "/q/n-0000000001",
    });
    b.invoke(1, "getChildren", "/q", {}).ok(1, { children: ["n-0000000001", "a"] });
    b.invoke(1, "delete", "/q", { version: -1 }).fail(1, Err.NOTEMPTY);
    b.invoke(1, "delete", "/q", { version: -1 }).ok(1, {});
    const states = run(model, b.paired().operations);
    expect(states[3]).toBe('/="" v0; /m absent; /q="" v0; /q/a="" v0; /q/n-0000000001="s" v0');
    expect(states[4]).toBe(states[3]);
    // The children are known: NOTEMPTY is the only answer.
    expect(states[5]).toBe("illegal: #5 p1 s=0x1 delete /q -> ok");
  });

  it("applies a multi all-or-nothing and explains a failed one by its first failing op", () => {
    const b = new Builder();
    b.invoke(1, "create", "/m", { data: "0" }).ok(1, { path: "/m" });
    b.invoke(1, "multi", undefined, {
      ops: [
        { op: "setData", path: "/m", data: "1", version: -1 },
        { op: "check", path: "/q", version: 0 },
      ],
    }).fail(1, Err.NONODE);
    b.invoke(1, "multi", undefined, {
      ops: [
        { op: "setData", path: "/m", data: "1", version: -1 },
        { op: "create", path: "/q", data: "" },
      ],
    }).ok(1, {});
    b.invoke(1, "multi", undefined, {
      ops: [
        { op: "setData", path: "/m", data: "2", version: -1 },
        { op: "create", path: "/q", data: "" },
      ],
    }).fail(1, Err.BADVERSION);
    const states = run(model, b.paired().operations);
    expect(states[1]).toBe('/="" v0; /m="0" v0; /q absent; /q/a absent; /q/n-0000000001 absent');
    expect(states[2]).toBe('/="" v0; /m="1" v1; /q="" v0; /q/a absent; /q/n-0000000001 absent');
    expect(states[3]).toBe(
      'illegal: #3 p1 s=0x1 multi [setData /m "2"; create /q ""] -> BADVERSION',
    );
  });
});

describe("partitions (P-compositionality)", () => {
  // A sequential create under "/" would join every top-level path: its name counts them all.
  it("splits by path, joins what one op spans, files a session's close with its ephemerals", () => {
    const b = new Builder();
    b.invoke(1, "setData", "/a", { data: "1", version: -1 }).ok(1, { version: 1 });
    b.invoke(1, "multi", undefined, {
      ops: [
        { op: "check", path: "/b", version: 0 },
        { op: "setData", path: "/c", data: "x" },
      ],
    }).ok(1, {});
    b.invoke(2, "create", "/q/n-", { data: "", mode: "sequential" }).ok(2, {
      path: "/q/n-0000000000",
    });
    b.invoke(2, "delete", "/q/x", { version: -1 }).fail(2, Err.NONODE);
    b.invoke(3, "create", "/e1", { data: "", mode: "ephemeral" }).ok(3, { path: "/e1" });
    b.invoke(3, "create", "/g/m-", { data: "", mode: "ephemeralSequential" }).ok(3, {
      path: "/g/m-0000000000",
    });
    b.invoke(3, "closeSession").ok(3);
    // A plain read: left to the session checks.
    b.invoke(4, "getData", "/a", {}).ok(4, { data: "1" });
    const split = partitionHistory(b.paired(), "zookeeper");
    expect(
      split.partitions.map((p) => [
        p.paths.join(" "),
        p.model.name,
        p.ops.map((op) => op.id).join(","),
      ]),
    ).toEqual([
      ["/a", "per-path", "0"],
      ["/b /c", "namespace", "1"],
      ["/q /q/n-0000000000 /q/x", "namespace", "2,3"],
      ["/e1 /g /g/m-0000000000", "namespace", "4,5,6"],
    ]);
    expect(split.skipped.plainReads).toBe(1);
    expect(partitionHistory(b.paired(), "strict").partitions[0]!.ops.map((op) => op.id)).toEqual([
      0, 7,
    ]);
  });

  it("adds one indeterminate expiry per session that owns ephemerals and never closed", () => {
    const b = new Builder();
    b.invoke(1, "create", "/e", { data: "", mode: "ephemeral" }).ok(1, { path: "/e" });
    b.event(1, "sessionExpired");
    const split = partitionHistory(b.paired(), "zookeeper");
    expect(
      split.synthetic.map((op) => [op.id, op.op, op.session, op.status, op.synthetic]),
    ).toEqual([[1, "closeSession", "0x1", "info", "expiry"]]);
    expect(split.partitions[0]!.ops.map((op) => op.id)).toEqual([0, 1]);
  });

  it("groups by path for the per-path model", () => {
    const b = new Builder();
    b.invoke(1, "getData", "/x", {})
      .ok(1, {})
      .invoke(1, "getData", "/y", {})
      .ok(1, {})
      .invoke(2, "getData", "/x", {})
      .ok(2, {});
    expect(partitionByPath(b.paired().operations).map((g) => g.map((op) => op.id))).toEqual([
      [0, 2],
      [1],
    ]);
    expect(partitionOperations(b.paired().operations).map((p) => p.paths)).toEqual([
      ["/x"],
      ["/y"],
    ]);
  });
});

describe("model: symmetry of indeterminate writes", () => {
  it("erases data no read returns and makes such writes one class", () => {
    const b = new Builder();
    b.invoke(1, "setData", "/k", { data: "seen", version: -1 }).info(1);
    b.invoke(2, "setData", "/k", { data: "unseen-1", version: -1 }).info(2);
    b.invoke(3, "setData", "/k", { data: "unseen-2", version: -1 }).info(3);
    b.invoke(4, "getData", "/k", { sync: true }).ok(4, { data: "seen" });
    const symmetry = zookeeperSymmetry(b.paired().operations);
    const [a, c1, c2, read] = symmetry.classes;
    expect(a).not.toBe(c1);
    expect(c1).toBe(c2);
    expect(read).toBeUndefined();
    expect(symmetry.ops[1]!.args.data).toBe("\u0000unread");
    expect(symmetry.ops[0]!.args.data).toBe("seen");
  });
});
