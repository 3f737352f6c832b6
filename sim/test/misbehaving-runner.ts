// Test helper: a sweep runner (see sim/worker.ts) whose seeds misbehave on purpose, one way each,
// so the sweep's handling of every kind of failure can be tested in seconds.
import type { SimOverrides } from "../run.ts";
import type { SeedReport } from "../sweep.ts";

export const behaviours: Record<number, string> = {
  2: "violation",
  3: "throws",
  4: "out of memory",
  5: "hangs",
  6: "unknown",
  7: "exits",
};

const unknownDetail = "history check unknown: partition 0 (9 ops: out of memory)";

export function runSeed(seed: number, _overrides: SimOverrides): SeedReport {
  // Op counts that differ per seed, so a test can tell a sum or a median from a copy.
  const opCounts = { invoked: 10 * seed, ok: 5 * seed, failed: seed, indeterminate: 2 * seed };
  const liveness = { boundMs: 10_000, convergedAfterMs: 100 * seed };
  const base = { seed, virtualMs: 1000, events: 10, opCounts, liveness };
  switch (behaviours[seed]) {
    case "violation":
      return { ...base, outcome: "violation", detail: "invariant violated at 12 ms: planted" };
    case "throws":
      throw new Error("planted failure in the run");
    case "out of memory": {
      const hoard: number[][] = [];
      for (;;) hoard.push(Array.from({ length: 100_000 }, (_, i) => i + hoard.length));
    }
    case "hangs":
      for (;;) {
        // a run that never returns (a livelock in a simulated world)
      }
    case "unknown":
      return { ...base, outcome: "unknown", detail: unknownDetail };
    case "exits":
      return process.exit(7);
    default:
      return { ...base, outcome: "ok", detail: undefined };
  }
}
