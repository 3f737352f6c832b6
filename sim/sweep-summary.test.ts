import { describe, expect, it } from "vitest";
import type { SweepOps, SweepSummary } from "./sweep-summary.ts";
import {
  addSeedOps,
  mergedOk,
  mergedText,
  mergeSummaries,
  noOps,
  opsPerSeed,
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
    simulatedSecondsPerWallSecond: 90,
    eventsPerWallSecond: 5000,
    ops: opsOfSeeds(shardSeeds(1, 10, { index, count })),
    ...over,
  };
}

/** Seed n invokes 10n ops: n*5 ok, n failed, n*4 indeterminate (distinct per seed). */
function opsOfSeeds(seeds: readonly number[]): SweepOps {
  const ops = noOps();
  for (const n of seeds)
    addSeedOps(ops, { invoked: 10 * n, ok: 5 * n, failed: n, indeterminate: 4 * n });
  return ops;
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
      summary(1, 3, {
        failures: [failure],
        slowestLiveness: { seed: 5, convergedAfterMs: 6000, boundMs: 20_000 },
      }),
      summary(0, 3),
      summary(2, 3, { slowestLiveness: { seed: 3, convergedAfterMs: 9000, boundMs: 40_000 } }),
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
      "speed per wall second of a shard: 90 simulated s, 5000 events",
      "ops: 550 invoked, 275 ok, 55 failed, 220 indeterminate; per seed median 50, min 10",
      // Seed 5 used 30% of its bound, seed 3 only 22.5%.
      "liveness: every converged seed took at most 30% of its bound (seed 5: 6000 of 20000 ms)",
      "FAIL seed 8: invariant violated",
      "  reproduce with: npm run sim -- --seed 8 --safety-ms 30000",
      "1 failing seeds",
    ]);
    expect(mergedOk(mergeSummaries([summary(0, 2), summary(1, 2)]))).toBe(true);
  });

  it("a merge adds up the shards' ops and finds ops per seed across them", () => {
    // Seeds 1..10 split over 3 shards: seed n invoked 10n ops.
    const merged = mergeSummaries([summary(2, 3), summary(0, 3), summary(1, 3)]);
    expect(merged.ops).toMatchObject({
      invoked: 550,
      ok: 275,
      failed: 55,
      indeterminate: 220,
      seeds: 10,
    });
    // The lower middle of 10, 20, ..., 100; the smallest is seed 1's, which shard 0 ran.
    expect(opsPerSeed(merged.ops)).toEqual({ median: 50, min: 10 });
    const odd = opsOfSeeds([7, 3, 3, 9, 1]);
    expect(opsPerSeed(odd)).toEqual({ median: 30, min: 10 });
    expect(opsPerSeed(noOps())).toBeUndefined();
    // Shards without any seed's ops (all threw) leave the sums alone.
    const empty = summary(0, 1, { ops: noOps() });
    expect(mergeSummaries([empty]).ops).toEqual(noOps());
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
