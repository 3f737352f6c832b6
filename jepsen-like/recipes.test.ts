import { describe, expect, it } from "vitest";
import type { RecipeRecord } from "./recipes.ts";
import { checkElection, checkLock, checkQueue } from "./recipes.ts";

// Hand-made histories, each paired ok / bad: a checker is trusted once it has caught known-wrong
// ones (and passed their right twins).

const acquired = (atMs: number, process: number, token: bigint): RecipeRecord => ({
  type: "acquired",
  atMs,
  process,
  session: `s${process}`,
  token,
});
const unheld = (atMs: number, process: number, token: bigint, why = "released"): RecipeRecord => ({
  type: "unheld",
  atMs,
  process,
  session: `s${process}`,
  token,
  why,
});
const access = (atMs: number, process: number, token: bigint, accepted: boolean): RecipeRecord => ({
  type: "access",
  sentAtMs: atMs - 1,
  atMs,
  process,
  session: `s${process}`,
  token,
  accepted,
});
const healed = (atMs: number): RecipeRecord => ({ type: "healed", atMs });
const expired = (atMs: number, process: number): RecipeRecord => ({
  type: "expired",
  atMs,
  session: `s${process}`,
});

/** Two holders one after the other, each acquiring again after healing at 100 ms. */
const goodLock: RecipeRecord[] = [
  acquired(10, 1, 5n),
  access(11, 1, 5n, true),
  unheld(12, 1, 5n),
  acquired(20, 2, 7n),
  access(21, 2, 7n, true),
  unheld(22, 2, 7n),
  healed(100),
  acquired(110, 1, 9n),
  unheld(111, 1, 9n),
  acquired(120, 2, 10n),
  unheld(121, 2, 10n),
];

describe("recipe checkers: lock", () => {
  it("passes holders that follow each other", () => {
    expect(checkLock(goodLock, 2)).toEqual([]);
  });

  it("catches two holders at once while both sessions live", () => {
    const bad = [acquired(10, 1, 5n), acquired(15, 2, 7n), unheld(20, 1, 5n), ...goodLock.slice(6)];
    expect(checkLock(bad, 2).join("\n")).toMatch(/two holders at once/);
  });

  it("forgives an overlap once the first holder's session was expired", () => {
    const ok = [
      acquired(10, 1, 5n),
      expired(14, 1),
      acquired(15, 2, 7n),
      access(16, 2, 7n, true),
      // The old holder, paused, uses the lock late: the resource refuses it, rightly.
      access(17, 1, 5n, false),
      unheld(18, 2, 7n),
      { type: "learnedExpired", atMs: 30, process: 1, session: "s1" } as RecipeRecord,
      unheld(30, 1, 5n, "lost (expired)"),
      ...goodLock.slice(6),
    ];
    expect(checkLock(ok, 2)).toEqual([]);
  });

  it("catches a refusal of a holder whose session was live (the lock was handed on)", () => {
    const bad = [...goodLock.slice(0, 6), access(23, 1, 5n, false), ...goodLock.slice(6)];
    expect(checkLock(bad, 2).join("\n")).toMatch(/refused process 1 .* while its session was live/);
  });

  it("catches a resource that accepted tokens out of order", () => {
    const bad = [...goodLock.slice(0, 6), access(23, 1, 5n, true), ...goodLock.slice(6)];
    expect(checkLock(bad, 2).join("\n")).toMatch(/accepted process 1 .* after token 0x7/);
  });

  it("catches a holder that used the lock after learning its session expired", () => {
    const learned: RecipeRecord = { type: "learnedExpired", atMs: 11, process: 1, session: "s1" };
    const bad = [acquired(10, 1, 5n), expired(10.5, 1), learned, access(13, 1, 5n, true)];
    expect(checkLock([...bad, ...goodLock.slice(6)], 2).join("\n")).toMatch(
      /used the lock .* after learning its session had expired/,
    );
  });

  it("catches a waiter that never acquires after healing", () => {
    expect(checkLock(goodLock.slice(0, 9), 2)).toEqual([
      "liveness: after healing, processes 2 never became holder",
    ]);
  });
});

describe("recipe checkers: election", () => {
  it("passes leaders that follow each other, a leader leading again in its own term", () => {
    const ok = [
      acquired(10, 1, 5n),
      unheld(12, 1, 5n, "suspended"),
      acquired(14, 1, 5n),
      unheld(16, 1, 5n, "resigned"),
      ...goodLock.slice(3),
    ];
    expect(checkElection(ok, 2)).toEqual([]);
  });

  it("catches two leaders of one term", () => {
    const bad = [acquired(10, 1, 5n), unheld(12, 1, 5n), acquired(14, 2, 5n), unheld(16, 2, 5n)];
    expect(checkElection([...bad, ...goodLock.slice(6)], 2).join("\n")).toMatch(
      /term 0x5 has two leaders/,
    );
  });

  it("catches a lower term elected after a higher one", () => {
    const bad = [acquired(10, 2, 7n), unheld(12, 2, 7n), acquired(14, 1, 5n), unheld(16, 1, 5n)];
    expect(checkElection([...bad, ...goodLock.slice(6)], 2).join("\n")).toMatch(
      /term 0x5 .* elected at 14.0 ms after term 0x7/,
    );
  });

  it("forgives a lower term claimed on a stale read once its session was expired", () => {
    const stale = [acquired(10, 2, 7n), expired(12, 1), acquired(14, 1, 5n), unheld(15, 1, 5n)];
    expect(checkElection([...stale, unheld(16, 2, 7n), ...goodLock.slice(6)], 2)).toEqual([]);
  });

  it("catches two leaders believing at once, and no leader after healing", () => {
    const bad = [acquired(10, 1, 5n), acquired(11, 2, 7n), healed(100)];
    const found = checkElection(bad, 2).join("\n");
    expect(found).toMatch(/two leaders at once/);
    expect(found).toMatch(/processes 1, 2 never became leader/);
  });
});

describe("recipe checkers: queue", () => {
  const put = (item: string, outcome: "ok" | "info" | "fail" = "ok"): RecipeRecord => ({
    type: "put",
    atMs: 1,
    process: 1,
    item,
    outcome,
  });
  const take = (item: string, process = 2, outcome: "ok" | "info" = "ok"): RecipeRecord => ({
    type: "take",
    atMs: 2,
    process,
    item,
    outcome,
  });
  const drained: RecipeRecord = { type: "drained", atMs: 3, process: 2 };

  it("passes every item taken once, an ambiguous take standing for one", () => {
    const ok = [put("a"), put("b"), put("c", "info"), take("a"), take("b", 3, "info"), drained];
    expect(checkQueue(ok)).toEqual([]);
  });

  it("passes a take that came before its put's reply reached the producer", () => {
    const early = { ...put("a"), atMs: 5 };
    expect(checkQueue([take("a"), early, drained])).toEqual([]);
  });

  it("catches an item taken twice", () => {
    expect(checkQueue([put("a"), take("a", 2), take("a", 3), drained])).toEqual([
      "item a was taken twice",
    ]);
  });

  it("catches an item taken that was never put", () => {
    expect(checkQueue([put("a", "fail"), take("a"), drained])).toEqual([
      "item a was taken by process 2 but never put",
    ]);
  });

  it("catches an item lost after draining, and a queue that never drained", () => {
    expect(checkQueue([put("a"), put("b"), take("a"), drained])).toEqual([
      "items put but never taken: b",
    ]);
    expect(checkQueue([put("a")])).toEqual(["liveness: the queue never drained after healing"]);
  });
});
