// The simulator's teeth against bugs planted in the core's code (sim/test/planted-code.ts): the
// tree, the session code, watches and recovery, on the dense workload (the thin one never deletes
// queue items, never fails a multi part way, keeps one request in flight). Each must be caught
// within 100 seeds; `caughtBy` records the first seed that catches it today (a workload change
// that loses it fails the test), so each loop runs only that many seeds.

import { afterEach, describe, expect, it, vi } from "vitest";
import { zabPolicy } from "../core/replica/index.ts";
import type { SimResult } from "./run.ts";
import { runSimulation, swarmOptions } from "./run.ts";
import { plantedCodeSteps, plantedPatches, plantedWatchPatches } from "./test/planted-code.ts";

const planted = vi.hoisted(() => ({ bug: undefined as string | undefined }));

vi.mock("../core/prep.ts", async (importOriginal) => {
  const original = await importOriginal<typeof import("../core/prep.ts")>();
  const { plantedPrep } = await import("./test/planted-prep.ts");
  return plantedPrep(original, () => planted.bug);
});

vi.mock("../core/reaper.ts", async (importOriginal) => {
  const original = await importOriginal<typeof import("../core/reaper.ts")>();
  const { plantedReaper } = await import("./test/planted-reaper.ts");
  return plantedReaper(original, () => planted.bug);
});

afterEach(() => {
  planted.bug = undefined;
});

interface Tooth {
  name: string;
  /** The first seed that catches the bug (at most 100). */
  caughtBy: number;
  /** What the failure must say: which check caught it. */
  says: RegExp;
  run: (seed: number) => SimResult;
}

const options = (seed: number) => swarmOptions(seed, { workload: "dense" });
const prepBug = (name: string) => (seed: number) => {
  planted.bug = name;
  return runSimulation(options(seed));
};
const patchBug = (name: string) => (seed: number) => {
  const undo = (plantedPatches[name] ?? plantedWatchPatches[name])!();
  try {
    return runSimulation(options(seed));
  } finally {
    undo();
  }
};

const teeth: Tooth[] = [
  {
    name: "sequential-suffix-from-child-count",
    caughtBy: 1,
    says: /sequential-names/,
    run: prepBug("sequential-suffix-from-child-count"),
  },
  {
    name: "ephemerals-kept-on-expiry",
    caughtBy: 5,
    says: /owns no ephemerals/,
    run: prepBug("ephemerals-kept-on-expiry"),
  },
  {
    // The leader's view and the tree both keep the ops before the failing one.
    name: "multi-applies-ops-before-failure",
    caughtBy: 1,
    says: /^history check failed:[^]*linearizability[^]*ILLEGAL/,
    run: (seed) => {
      planted.bug = "multi-applies-ops-before-failure";
      return patchBug("multi-applies-ops-before-failure")(seed);
    },
  },
  {
    name: "watch-event-after-reply",
    caughtBy: 1,
    says: /watch-order/,
    run: (seed) =>
      runSimulation(
        options(seed),
        undefined,
        zabPolicy,
        plantedCodeSteps["watch-event-after-reply"],
      ),
  },
  {
    name: "recovery-drops-last-record",
    caughtBy: 2,
    says: /invariant violated/,
    run: patchBug("recovery-drops-last-record"),
  },
  {
    name: "recursive-watch-misses-grandchildren",
    caughtBy: 1,
    says: /persistent-watches[^]*missed/,
    run: patchBug("recursive-watch-misses-grandchildren"),
  },
  {
    name: "set-watches-drops-persistent",
    caughtBy: 2,
    says: /persistent-watches[^]*missed/,
    run: patchBug("set-watches-drops-persistent"),
  },
  {
    name: "container-reaped-before-child",
    caughtBy: 1,
    says: /reaping[^]*never had a child/,
    run: prepBug("container-reaped-before-child"),
  },
  {
    name: "ttl-from-creation-time",
    caughtBy: 8,
    says: /reaping[^]*after its last modification/,
    run: prepBug("ttl-from-creation-time"),
  },
];

describe("sim: teeth against bugs planted in the core's code", () => {
  it("the unplanted code passes the seeds the bugs are caught on", () => {
    const seedsMax = Math.max(...teeth.map((t) => t.caughtBy));
    for (let seed = 1; seed <= seedsMax; seed++)
      expect(runSimulation(options(seed)).failure).toBeUndefined();
  }, 1_800_000);

  for (const tooth of teeth) {
    it(`catches ${tooth.name} by seed ${tooth.caughtBy}`, () => {
      let failure: string | undefined;
      let seed = 0;
      while (failure === undefined && seed < tooth.caughtBy) failure = tooth.run(++seed).failure;
      expect(failure, `${tooth.name} not caught`).toBeDefined();
      expect(failure).toMatch(tooth.says);
    }, 1_800_000);
  }
});
