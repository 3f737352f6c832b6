import { describe, expect, it } from "vitest";
import type { SweepSummary } from "./sweep-summary.ts";
import {
  mergedOk,
  mergedText,
  mergeSummaries,
  parseShard,
  shardSeeds,
  summaryFormat,
} from "./sweep-summary.ts";

function summary(index: number, count: number, over: Partial<SweepSummary> = {}): SweepSummary {
  const expected = shardSeeds(1, 10, { index, count }).length;
  return {
    format: summaryFormat,
    from: 1,
    to: 10,
    shard: { index, count },
    flags: "--safety-ms 30000",
    ran: expected,
    expected,
    failures: [],
    workers: 2,
    wallMs: 1000,
    virtualMs: 90_000,
    events: 5000,
    ...over,
  };
}

describe("sim: sharded sweeps", () => {
  it("shards split a range into disjoint, balanced parts that cover it", () => {
    const parts = [0, 1, 2].map((index) => shardSeeds(1, 10, { index, count: 3 }));
    expect(parts).toEqual([
      [1, 4, 7, 10],
      [2, 5, 8],
      [3, 6, 9],
    ]);
    expect(shardSeeds(5, 7)).toEqual([5, 6, 7]);
    expect(parseShard("2/3")).toEqual({ index: 2, count: 3 });
    for (const bad of ["3/3", "1", "-1/2", "a/b", "0/0"])
      expect(() => parseShard(bad)).toThrow(/--shard/);
  });

  it("a merge folds the shards' failures and speed, and fails on any failure", () => {
    const failure = {
      seed: 8,
      failure: "invariant violated",
      reproduce: "npm run sim -- --seed 8 --safety-ms 30000",
    };
    const merged = mergeSummaries([
      summary(1, 3, { failures: [failure] }),
      summary(0, 3),
      summary(2, 3),
    ]);
    expect(merged).toMatchObject({
      seeds: 10,
      shards: 3,
      failures: [failure],
      problems: [],
      cpuMs: 6000,
      virtualMs: 270_000,
    });
    expect(mergedOk(merged)).toBe(false);
    expect(mergedText(merged)).toEqual([
      "10 seeds of 1..10 in 3 shards; the slowest took 1.0 s; " +
        "45 simulated s per worker-second, 2500 events per worker-second",
      "FAIL seed 8: invariant violated",
      "  reproduce with: npm run sim -- --seed 8 --safety-ms 30000",
      "1 failing seeds",
    ]);
    expect(mergedOk(mergeSummaries([summary(0, 2), summary(1, 2)]))).toBe(true);
  });

  it("a merge that cannot vouch for the whole range says why, and fails", () => {
    const merged = mergeSummaries([
      summary(0, 3),
      summary(0, 3),
      summary(2, 3, { ran: 1 }),
      summary(1, 2),
    ]);
    expect(merged.problems).toEqual([
      "shard 1/2 of 1..10 --safety-ms 30000 is not of the same sweep as the first",
      "shard 0/3 is given 2 times",
      "shard 1/3 is missing",
      "shard 2/3 ran 1 of its 3 seeds",
    ]);
    expect(mergedOk(merged)).toBe(false);
    expect(mergedText(merged).at(-1)).toBe("all seeds passed, but the sweep is incomplete");
  });
});
