import { describe, expect, it } from "vitest";
import { Err } from "../core/errors.ts";
import { checkLinearizability, searchLinearization } from "./linearizability.ts";
import { perPathModel } from "./model.ts";
import type { Model } from "./model.ts";
import { Builder } from "./test/builder.ts";

const budget = { stepsMax: 1_000_000, deadlineMs: undefined };

describe("linearizability: Wing-Gong-Lowe search", () => {
  it("finds the order concurrent writes took (versions tell it) and returns it", () => {
    const b = new Builder();
    b.invoke(1, "create", "/k", { data: "0" }).ok(1, { path: "/k" });
    b.invoke(1, "setData", "/k", { data: "a", version: -1 }).invoke(2, "setData", "/k", {
      data: "b",
      version: -1,
    });
    b.ok(1, { version: 2 }).ok(2, { version: 1 });
    b.invoke(3, "getData", "/k", { sync: true }).ok(3, { data: "a", version: 2 });
    const result = checkLinearizability(b.paired());
    expect(result.verdict).toBe("ok");
    expect(result.partitions[0]!.linearization).toEqual([0, 2, 1, 3]);
  });

  it("rejects a sync'ed read of an overwritten value and shrinks to the ops that matter", () => {
    const b = new Builder();
    b.invoke(1, "create", "/k", { data: "0" }).ok(1, { path: "/k" });
    for (let i = 0; i < 10; i++)
      b.invoke(2, "getData", "/k", { sync: true }).ok(2, { data: "0", version: 0 });
    b.invoke(1, "setData", "/k", { data: "1", version: -1 }).ok(1, { version: 1 });
    b.invoke(3, "getData", "/k", { sync: true }).ok(3, { data: "0", version: 0 });
    for (let i = 0; i < 10; i++)
      b.invoke(2, "getData", "/k", { sync: true }).ok(2, { data: "1", version: 1 });
    const result = checkLinearizability(b.paired());
    const part = result.partitions[0]!;
    expect(result.verdict).toBe("illegal");
    // The reads before the write and every op after the stale read are irrelevant to the failure.
    expect(part.failure?.subHistory).toEqual([0, 11, 12]);
    expect(part.failure?.stuck).toBe(12);
    expect(part.linearization).toEqual([0, 11]);
    expect(part.failure?.explanation).toMatch(
      /^#12 p3 s=0x3 getData \/k sync -> ok "0" v0 cannot take effect .* the state is \/k="1" v1$/,
    );
  });

  it("lets an indeterminate write take effect late, or never", () => {
    const took = new Builder();
    took.invoke(1, "create", "/k", { data: "0" }).ok(1, { path: "/k" });
    took.invoke(1, "setData", "/k", { data: "x", version: -1 }).info(1);
    took.invoke(2, "getData", "/k", { sync: true }).ok(2, { data: "0", version: 0 });
    took.invoke(2, "getData", "/k", { sync: true }).ok(2, { data: "x", version: 1 });
    expect(checkLinearizability(took.paired()).verdict).toBe("ok");
    const never = new Builder();
    never.invoke(1, "create", "/k", { data: "0" }).ok(1, { path: "/k" });
    never.invoke(1, "setData", "/k", { data: "x", version: -1 }).fail(1, Err.CONNECTIONLOSS);
    never.invoke(2, "setData", "/k", { data: "y", version: 0 }).ok(2, { version: 1 });
    const result = checkLinearizability(never.paired());
    expect(result.verdict).toBe("ok");
    expect(result.partitions[0]!.leftOut).toEqual([1]);
  });

  it("linearizes definite failures as reads of state: a BADVERSION must be explained", () => {
    const b = new Builder();
    b.invoke(1, "create", "/k", { data: "0" }).ok(1, { path: "/k" });
    b.invoke(1, "setData", "/k", { data: "1", version: 0 }).fail(1, Err.BADVERSION);
    expect(checkLinearizability(b.paired()).verdict).toBe("illegal");
    const noEffect = new Builder();
    noEffect.invoke(1, "create", "/k", { data: "0" }).ok(1, { path: "/k" });
    // No model explains it.
    noEffect.invoke(1, "setData", "/k", { data: "1", version: 0 }).fail(1, Err.NOAUTH);
    expect(checkLinearizability(noEffect.paired()).verdict).toBe("ok");
  });

  it("answers unknown when the step budget runs out", () => {
    const b = new Builder();
    b.invoke(1, "create", "/k", { data: "0" }).ok(1, { path: "/k" });
    for (let p = 2; p < 8; p++) b.invoke(p, "setData", "/k", { data: `v${p}`, version: -1 });
    for (let p = 2; p < 8; p++) b.ok(p, { version: 8 - p });
    const result = checkLinearizability(b.paired(), { stepsMax: 3 });
    expect(result.verdict).toBe("unknown");
    expect(checkLinearizability(b.paired()).verdict).toBe("ok");
  });

  it("keeps many open indeterminate writes cheap (they are interchangeable while unread)", () => {
    const b = new Builder();
    b.invoke(1, "create", "/k", { data: "0" }).ok(1, { path: "/k" });
    for (let p = 2; p < 26; p++)
      b.invoke(p, "setData", "/k", { data: `lost${p}`, version: -1 }).info(p);
    // Version 1: none of the lost writes came first, which the search learns only after trying
    // them.
    b.invoke(1, "setData", "/k", { data: "mid", version: -1 }).ok(1, { version: 1 });
    b.invoke(1, "getData", "/k", { sync: true }).ok(1, { data: "mid", version: 1 });
    const ops = b.paired().operations;
    const model = perPathModel("/k");
    const reduced = searchLinearization(ops, model, budget);
    const { symmetry: _, ...plain } = model;
    const unreduced = searchLinearization(ops, plain as Model<unknown>, {
      stepsMax: 20_000,
      deadlineMs: undefined,
    });
    expect(reduced.verdict).toBe("ok");
    expect(reduced.steps).toBeLessThan(1000); // about n^2 scans instead of 2^n subsets
    expect(unreduced.verdict).toBe("unknown"); // 2^24 subsets of the lost writes
  });
});
