import { describe, expect, it } from "vitest";
import { runSimulation, swarmOptions } from "./run.ts";
import { failureClass, parseScenario, runScenario, scenarioJson, scenarioOf } from "./scenario.ts";
import { ddmin, shrink } from "./shrink.ts";
import { plantedBugs } from "./test/planted-bugs.ts";

describe("sim: fault schedules as data", () => {
  it("a run's recorded schedule, saved and replayed, gives the same run", () => {
    for (const seed of [3, 42]) {
      const options = swarmOptions(seed, { safetyMs: 20_000 });
      const drawn = runSimulation(options);
      expect(drawn.schedule.length).toBeGreaterThan(2);
      const replayed = runScenario(parseScenario(scenarioJson(scenarioOf(options, drawn))));
      expect(replayed.traceHash).toBe(drawn.traceHash);
      expect(replayed.faults).toEqual(drawn.faults);
    }
  });

  it("an empty schedule is a run without faults", () => {
    const options = swarmOptions(42, { safetyMs: 10_000 });
    const result = runScenario({ ...scenarioOf(options, runSimulation(options)), faults: [] });
    expect(result.schedule).toEqual([]);
    expect(result.faults).toEqual({});
  });
});

describe("sim: ddmin", () => {
  it("finds a 1-minimal failing subset", () => {
    const items = Array.from({ length: 40 }, (_, i) => i);
    let tests = 0;
    const kept = ddmin(items, (s) => (tests++, s.includes(7) && s.includes(31)));
    expect(kept).toEqual([7, 31]);
    expect(tests).toBeLessThan(60);
  });
});

describe("sim: shrinking a failing seed", () => {
  it("cuts a planted bug's failing run to a few faults that replay to the same failure", () => {
    // Seed 51 fails under ack-before-fsync with 20 faults and 5 clients (12 is the first one).
    const options = swarmOptions(51, { safetyMs: 30_000 });
    const policy = plantedBugs["ack-before-fsync"];
    const failing = scenarioOf(
      options,
      runSimulation(options, undefined, policy),
      "ack-before-fsync",
    );
    expect(failing.failure?.class).toBe("invariant: state checker: acknowledged write lost");
    const shrunk = shrink(failing, { policy }, { maxRuns: 300, maxWallMs: 120_000 });
    expect(shrunk.stoppedBy).toBeUndefined();
    expect(shrunk.original).toMatchObject({ faults: 20, clients: 5 });
    expect(shrunk.shrunk.faults).toBeLessThanOrEqual(5);
    expect(shrunk.shrunk.safetyMs).toBeLessThan(30_000);
    expect(shrunk.shrunk.clients).toBeLessThan(5);
    // The file it would write replays, alone, to the same failure; without the bug it passes.
    const file = parseScenario(scenarioJson(shrunk.scenario));
    expect(file.planted).toBe("ack-before-fsync");
    const replayed = runScenario(file, { policy });
    expect(failureClass(replayed)).toBe(failing.failure?.class);
    expect(replayed.traceHash).toBe(shrunk.result.traceHash);
    expect(runScenario(file).ok).toBe(true);
  }, 120_000);
});
