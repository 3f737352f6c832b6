import { describe, expect, it } from "vitest";
import { sweep, sweepDefaults } from "./sweep.ts";
import type { SweepOptions } from "./sweep.ts";
import { mergeSummaries, shardSeeds, summaryOf } from "./sweep-summary.ts";

const runnerUrl = new URL("./test/misbehaving-runner.ts", import.meta.url).href;

function options(from: number, to: number, extra: Partial<SweepOptions> = {}) {
  const lines: string[] = [];
  return {
    lines,
    options: {
      ...sweepDefaults,
      from,
      to,
      overrides: { clients: 3 },
      workers: 2,
      seedTimeoutMs: 4_000,
      workerHeapMb: 128,
      runnerUrl,
      print: (line: string) => lines.push(line),
      progress: () => {},
      ...extra,
    } satisfies SweepOptions,
  };
}

describe("sim: a sweep survives every kind of seed failure", () => {
  it("fails a seed that throws, kills its worker, hangs or violates, and goes on", async () => {
    const { options: o, lines } = options(1, 9);
    const result = await sweep(o);
    expect(result.finished).toBe(9);
    expect(result.stopped).toBe(false);
    const failures = Object.fromEntries(result.failures.map((f) => [f.seed, f.failure]));
    expect(Object.keys(failures).map(Number).sort()).toEqual([2, 3, 4, 5, 7]);
    expect(failures[2]).toBe("invariant violated at 12 ms: planted");
    expect(failures[3]).toMatch(/^the run threw: Error: planted failure in the run/);
    expect(failures[4]).toMatch(/^its worker died: out of memory/);
    expect(failures[5]).toBe("no result within 4 s (its worker was terminated)");
    expect(failures[7]).toBe("its worker exited with code 7");
    const unknown = "history check unknown: partition 0 (9 ops: out of memory)";
    expect(result.unknown).toEqual([{ seed: 6, failure: unknown }]);
    // Each failure is printed as it happens, then again in the final list, with its command.
    const summary = lines.findIndex((l) => /^9 of 9 seeds on 2 workers/.test(l));
    expect(summary).toBeGreaterThan(0);
    // Seeds that threw, died or hung have no ops: 1, 2, 6, 8 and 9 count (10n each).
    expect(lines[summary + 1]).toBe(
      "ops: 260 invoked, 130 ok, 26 failed, 52 indeterminate; per seed median 60, min 10",
    );
    expect(lines[summary + 2]).toBe(
      "liveness: every converged seed took at most 9% of its bound (seed 9: 900 of 10000 ms)",
    );
    for (const seed of [2, 3, 4, 5, 7]) {
      const at = lines.flatMap((l, i) => (l.startsWith(`FAIL seed ${seed}: `) ? [i] : []));
      expect(at.length, `seed ${seed}`).toBe(2);
      expect(at[0]).toBeLessThan(summary);
      expect(lines[at[1]!]).toContain(`reproduce with: npm run sim -- --seed ${seed} --clients 3`);
    }
    expect(lines.at(-1)).toBe("5 failing seeds, 1 with an unknown check");
  }, 60_000);

  it("stops at the first failure with --stop-on-failure and still prints the list", async () => {
    const { options: o, lines } = options(1, 9, { workers: 1, stopOnFailure: true });
    const result = await sweep(o);
    expect(result.failures.map((f) => f.seed)).toEqual([2]);
    expect(result.finished).toBe(2);
    expect(result.stopped).toBe(true);
    const last = "1 failing seeds; stopped at the first failure, 7 seeds not finished";
    expect(lines.at(-1)).toBe(last);
    expect(lines.filter((l) => l.startsWith("FAIL seed 2:"))).toHaveLength(2);
  }, 60_000);

  it("passes a sweep whose seeds all pass", async () => {
    const { options: o, lines } = options(8, 9);
    const result = await sweep(o);
    expect(result).toMatchObject({ finished: 2, failures: [], unknown: [], stopped: false });
    expect(lines.at(-1)).toBe("all seeds passed");
  }, 60_000);
});

describe("sim: a shard of a sweep", () => {
  it("runs only its seeds; its summary has its failures, their commands, its speed", async () => {
    const seeds = shardSeeds(1, 9, { index: 1, count: 4 }); // seed 2 violates, 6 is unknown
    const { options: o } = options(1, 9, { seeds });
    const result = await sweep(o);
    const counts = [result.seeds, result.finished, result.virtualMs, result.events];
    expect(counts).toEqual([2, 2, 2000, 20]);
    // Seeds 2 and 6 report 10n ops invoked (misbehaving-runner.ts): the sweep sums them.
    expect(result.ops).toEqual({
      invoked: 80,
      ok: 40,
      failed: 8,
      indeterminate: 16,
      seeds: 2,
      invokedPerSeed: { 20: 1, 60: 1 },
    });
    const range = { from: 1, to: 9, shard: { index: 1, count: 4 }, flags: "--clients 3" };
    const summary = summaryOf(range, result, (seed) => `npm run sim -- --seed ${seed} --clients 3`);
    expect(summary).toMatchObject({
      ran: 2,
      expected: 2,
      workers: 2,
      ops: result.ops,
      failures: [
        {
          seed: 2,
          failure: "invariant violated at 12 ms: planted",
          reproduce: "npm run sim -- --seed 2 --clients 3",
        },
      ],
    });
    const missing = ["shard 0/4 is missing", "shard 2/4 is missing", "shard 3/4 is missing"];
    expect(mergeSummaries([summary]).problems).toEqual(missing);
  });
});
