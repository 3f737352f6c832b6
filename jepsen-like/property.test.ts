// Properties over generated histories (generate.ts runs ops against its own sequential model,
// each taking effect at an instant inside its randomly widened real-time interval): such
// histories always pass, and corrupting one read always fails.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkHistory } from "./check.ts";
import type { GenerateOptions } from "./generate.ts";
import { generateHistory } from "./generate.ts";
import type { HistoryRecord } from "./history.ts";

const optionsArbitrary: fc.Arbitrary<GenerateOptions> = fc.record({
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  ops: fc.integer({ min: 1, max: 250 }),
  clients: fc.integer({ min: 1, max: 8 }),
  paths: fc.integer({ min: 1, max: 4 }),
  infoRate: fc.double({ min: 0, max: 0.2, noNaN: true }),
  syncReadRate: fc.double({ min: 0, max: 1, noNaN: true }),
  staleReadRate: fc.double({ min: 0, max: 0.6, noNaN: true }),
  meanLatencyUs: fc.integer({ min: 10, max: 5000 }),
  meanThinkUs: fc.integer({ min: 0, max: 2000 }),
  namespaceRate: fc.double({ min: 0, max: 0.6, noNaN: true }),
  watchRate: fc.double({ min: 0, max: 0.5, noNaN: true }),
});

const never = "a value no write ever wrote";

/** The history with the i-th (mod count) answered getData returning `never` instead. */
function corruptOneRead(records: readonly HistoryRecord[], i: number): HistoryRecord[] | undefined {
  const reads = records.filter((r) => r.type === "ok" && r.op === "getData" && r.result?.data !== undefined);
  if (reads.length === 0) return undefined;
  const victim = reads[i % reads.length]!;
  return records.map((r) => (r === victim ? { ...r, result: { ...r.result, data: never } } : r));
}

describe("property: generated histories", () => {
  it("a linearizable, sequentially consistent execution always passes", () => {
    fc.assert(fc.property(optionsArbitrary, (options) => {
      const { verdict } = checkHistory(generateHistory(options));
      expect(verdict.guarantees.filter((g) => g.violationCount > 0).map((g) => g.violations[0]!.message)).toEqual([]);
      expect(verdict.linearizability.verdict).toBe("ok");
      expect(verdict.valid).toBe(true);
    }), { numRuns: 150 });
  });

  it("without lagging replicas it is linearizable even with every read checked", () => {
    fc.assert(fc.property(optionsArbitrary, (options) => {
      const { verdict } = checkHistory(generateHistory({ ...options, staleReadRate: 0 }), { mode: "strict" });
      expect(verdict.valid).toBe(true);
    }), { numRuns: 100 });
  });

  it("changing one read's result to a value never written always fails", () => {
    fc.assert(fc.property(optionsArbitrary, fc.nat(), (options, which) => {
      const corrupted = corruptOneRead(generateHistory(options), which);
      fc.pre(corrupted !== undefined);
      expect(checkHistory(corrupted!).verdict.valid).toBe(false);
    }), { numRuns: 150 });
  });
});
