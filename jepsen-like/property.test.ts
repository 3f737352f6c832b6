// Properties over generated histories (generate.ts runs ops against its own sequential model,
// each taking effect at an instant inside its randomly widened real-time interval): such
// histories always pass, and corrupting one read always fails.
//
// Everything here is synchronous, so vitest's timeout cannot cut it: each check has a time limit
// and each property a time budget for its runs and its shrinking. A rare generated history (many
// timed-out sequential creates among many clients) takes the search millions of steps; before
// these bounds, fast-check shrinking such a case re-ran checks of many seconds each, for minutes.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkHistory } from "./check.ts";
import type { GenerateOptions } from "./test/generate.ts";
import { generateHistory } from "./test/generate.ts";
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

/** Per check: far above the usual few ms, far below the test's timeout. */
const check = { timeLimitMs: 5_000 };
/** Per property, shrinking included: past it fast-check stops (and reports a failure found). */
const property = { interruptAfterTimeLimit: 40_000 };

/** The history with the i-th (mod count) answered getData returning `never` instead. */
function corruptOneRead(records: readonly HistoryRecord[], i: number): HistoryRecord[] | undefined {
  const reads = records.filter(
    (r) => r.type === "ok" && r.op === "getData" && r.result?.data !== undefined,
  );
  if (reads.length === 0) return undefined;
  const victim = reads[i % reads.length]!;
  return records.map((r) => (r === victim ? { ...r, result: { ...r.result, data: never } } : r));
}

describe("property: generated histories", () => {
  it("a linearizable, sequentially consistent execution always passes", () => {
    // Unknown (the search ran out of its budget) is no violation, but it must stay rare.
    let unknown = 0;
    fc.assert(
      fc.property(optionsArbitrary, (options) => {
        const { verdict } = checkHistory(generateHistory(options), check);
        expect(
          verdict.guarantees
            .filter((g) => g.violationCount > 0)
            .map((g) => g.violations[0]!.message),
        ).toEqual([]);
        expect(verdict.linearizability.verdict).not.toBe("illegal");
        if (verdict.valid === "unknown") unknown++;
        else expect(verdict.valid).toBe(true);
      }),
      { numRuns: 150, ...property },
    );
    expect(unknown).toBeLessThanOrEqual(3);
  });

  it("without lagging replicas it is linearizable even with every read checked", () => {
    fc.assert(
      fc.property(optionsArbitrary, (options) => {
        const history = generateHistory({ ...options, staleReadRate: 0 });
        const { verdict } = checkHistory(history, { mode: "strict", ...check });
        expect(verdict.valid).not.toBe(false);
      }),
      { numRuns: 100, ...property },
    );
  });

  it("changing one read's result to a value never written always fails", () => {
    fc.assert(
      fc.property(optionsArbitrary, fc.nat(), (options, which) => {
        const corrupted = corruptOneRead(generateHistory(options), which);
        fc.pre(corrupted !== undefined);
        expect(checkHistory(corrupted!, check).verdict.valid).toBe(false);
      }),
      { numRuns: 150, ...property },
    );
  });
});
