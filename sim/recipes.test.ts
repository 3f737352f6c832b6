import { describe, expect, it } from "vitest";
import type { LockRules } from "../core/recipes/lock.ts";
import type { RecipeKind } from "../jepsen-like/recipes.ts";
import { runSimulation, swarmOptions } from "./run.ts";
import { failureClass, parseScenario, runScenario, scenarioJson, scenarioOf } from "./scenario.ts";
import { plantedLockRules } from "./test/planted-bugs.ts";

const run = (seed: number, workload: RecipeKind, rules?: LockRules) =>
  runSimulation(
    swarmOptions(seed, { workload }),
    undefined,
    undefined,
    undefined,
    undefined,
    rules,
  );

/** The first seed from 1 to `seeds` whose run fails, and how. */
function firstCaught(workload: RecipeKind, rules: LockRules, seeds: number) {
  for (let seed = 1; seed <= seeds; seed++) {
    const result = run(seed, workload, rules);
    if (!result.ok) return { seed, failure: result.failure! };
  }
  return undefined;
}

describe("recipes in the simulator", () => {
  it("a recipe seed is reproducible: the same trace and the same recipe history", () => {
    const first = run(7, "lock");
    const second = run(7, "lock");
    expect(second.traceHash).toBe(first.traceHash);
    expect(second.recipe!.records).toEqual(first.recipe!.records);
    expect(first.recipe!.records.some((r) => r.type === "acquired")).toBe(true);
  });

  it.each(["lock", "election", "queue"] as const)("%s: seeds 1-4 pass with faults on", (kind) => {
    let ops = 0;
    for (let seed = 1; seed <= 4; seed++) {
      const result = run(seed, kind);
      expect(result.failure, `seed ${seed}`).toBeUndefined();
      ops += result.recipe!.ops;
    }
    // Some seeds' faults leave no quorum serving for most of the run: count over all four.
    expect(ops).toBeGreaterThan(200);
  });

  it("--workload recipes draws the workload by seed; the default stays the register one", () => {
    expect([3, 4, 5].map((s) => swarmOptions(s, { workload: "recipes" }).recipe)).toEqual([
      "lock",
      "election",
      "queue",
    ]);
    expect("recipe" in swarmOptions(3)).toBe(false);
  });

  // Teeth: the sweep catches a lock recipe with one bug planted (sim/test/planted-bugs.ts).
  it("catches a lock whose second contender thinks it holds, within 3 seeds", () => {
    const caught = firstCaught("lock", plantedLockRules["lock-second-holds"]!, 3);
    expect(caught?.failure).toMatch(/refused process .* while its session was live/);
  });

  it("catches a lock holder that ignores its session's expiry, within 10 seeds", () => {
    const caught = firstCaught("lock", plantedLockRules["lock-ignores-expiry"]!, 10);
    expect(caught?.failure).toMatch(/used the lock .* after learning its session had expired/);
  });

  it("a failing recipe seed's scenario file replays the same failure under its planted bug", () => {
    const lockRules = plantedLockRules["lock-second-holds"]!;
    const options = swarmOptions(1, { workload: "lock" });
    const failed = runSimulation(options, undefined, undefined, undefined, undefined, lockRules);
    const scenario = parseScenario(scenarioJson(scenarioOf(options, failed, "lock-second-holds")));
    expect(scenario.options.recipe).toBe("lock");
    const replayed = runScenario(scenario, { lockRules });
    expect(replayed.traceHash).toBe(failed.traceHash);
    expect(failureClass(replayed)).toBe(scenario.failure!.class);
    expect(scenario.failure!.class).toMatch(/^recipe check failed \(lock\): the resource refused/);
  });

  it("catches an election on the broken lock: a lower term elected after a higher", () => {
    const caught = firstCaught("election", plantedLockRules["lock-second-holds"]!, 3);
    expect(caught?.failure).toMatch(/elected at .* after term/);
  });
});
