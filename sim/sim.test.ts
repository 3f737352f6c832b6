import { describe, expect, it } from "vitest";
import { runSimulation, swarmOptions } from "./run.ts";
import { plantedBugs, plantedSteps } from "./test/planted-bugs.ts";
import { zabPolicy } from "../core/replica/index.ts";

describe("sim: determinism", () => {
  it("the same seed twice gives the same trace hash; another seed does not", () => {
    const options = swarmOptions(42, { safetyMs: 20_000 });
    const first = runSimulation(options);
    const second = runSimulation(swarmOptions(42, { safetyMs: 20_000 }));
    expect(first.traceLines).toBeGreaterThan(1000);
    expect(second.traceHash).toBe(first.traceHash);
    expect(second.history.toJsonLines()).toBe(first.history.toJsonLines());
    expect(runSimulation(swarmOptions(43, { safetyMs: 20_000 })).traceHash).not.toBe(
      first.traceHash,
    );
  });
});

describe("sim: the dense workload (--workload dense)", () => {
  it("draws the workload, fsync and phase length only: every other rate is the thin seed's", () => {
    for (const seed of [1, 2, 3, 42]) {
      const thin = swarmOptions(seed);
      const dense = swarmOptions(seed, { workload: "dense" });
      const { workload, disk, safetyMs } = thin;
      expect({
        ...dense,
        workload,
        disk: { ...dense.disk, fsyncMeanMs: disk.fsyncMeanMs },
        safetyMs,
      }).toEqual(thin);
      expect(dense.workload.dense).toBe(true);
      expect(thin.workload.dense).toBeUndefined();
    }
  });

  // A write pipelined behind a sync'ed read must not commit before the sync is answered: the read
  // would show it, and the write's reply, sent after the read's, would carry an older zxid.
  it("a session's reply zxids never decrease, with syncs and writes in flight together", () => {
    const options = swarmOptions(5, { workload: "dense" });
    const result = runSimulation(options);
    const invokes = result.history.records.filter((r) => r.type === "invoke");
    const monotonic = result.check.verdict.guarantees.find(
      (g) => g.guarantee === "monotonic-reads",
    )!;
    expect(options.workload.pipeline).toBeGreaterThan(1);
    expect(new Set(invokes.map((r) => r.process)).size).toBeGreaterThan(options.workload.clients);
    expect(invokes.some((r) => r.args?.sync === true)).toBe(true);
    expect(monotonic.checked).toBeGreaterThan(1000);
    expect(monotonic.violations).toEqual([]);
    expect(result.failure).toBeUndefined();
  }, 120_000);
});

describe("sim: the dense workload's watches, containers and TTL nodes", () => {
  // A seed that watches, reaps, and once reaped a TTL node just touched.
  const touchedTtlSeed = 102;
  it("checks persistent watches and reapings, and finds them kept", () => {
    const result = runSimulation(swarmOptions(touchedTtlSeed, { workload: "dense" }));
    const checked = (name: string) =>
      result.check.verdict.guarantees.find((g) => g.guarantee === name)!;
    expect(checked("persistent-watches").checked).toBeGreaterThan(0);
    expect(checked("reaping").checked).toBeGreaterThan(0);
    // Once failed: the leader judged a TTL node on its tree while a touch of it was in flight.
    expect(result.failure).toBeUndefined();
  }, 120_000);
});

describe("sim: a short sweep with every fault on", () => {
  it("finds no violation in 24 seeds", () => {
    const failures: string[] = [];
    let ops = 0;
    for (let seed = 1000; seed < 1024; seed++) {
      const result = runSimulation(swarmOptions(seed, { safetyMs: 30_000 }));
      ops += result.history.counts.ok;
      if (!result.ok) failures.push(`seed ${seed}: ${result.failure}`);
    }
    expect(failures).toEqual([]);
    expect(ops).toBeGreaterThan(500); // the workload really ran
  }, 300_000);
});

// Each planted bug breaks one protocol rule; the simulator must catch each within a few seeds.
// The bound is generous; the seed that first catches each is printed for the record.
describe("sim: teeth (planted bugs are caught)", () => {
  const seedsMax = 40;
  for (const name of [
    "commit-before-quorum",
    "ack-before-fsync",
    "election-ignores-zxid",
    "skip-trunc",
    "sync-without-leader",
  ]) {
    it(`catches ${name} within ${seedsMax} seeds`, () => {
      let failure: string | undefined;
      for (let seed = 1; seed <= seedsMax && failure === undefined; seed++) {
        failure = runSimulation(
          swarmOptions(seed, { safetyMs: 30_000 }),
          undefined,
          plantedBugs[name],
        ).failure;
      }
      expect(failure, `${name} not caught`).toBeDefined();
      // A stale read after sync breaks no replica invariant: only the history checker can see it.
      if (name === "sync-without-leader")
        expect(failure).toMatch(/^history check failed:[^]*linearizability[^]*ILLEGAL/);
    }, 300_000);
  }

  // Session bugs break no replica invariant and no history the checker can judge (an expiry is
  // always possible to a client): only the session checker's timeout bound sees them.
  for (const name of Object.keys(plantedSteps)) {
    it(`catches ${name} within ${seedsMax} seeds, by the session timeout bound`, () => {
      let failure: string | undefined;
      for (let seed = 1; seed <= seedsMax && failure === undefined; seed++) {
        const options = swarmOptions(seed, { safetyMs: 30_000 });
        failure = runSimulation(options, undefined, zabPolicy, plantedSteps[name]).failure;
      }
      expect(failure, `${name} not caught`).toMatch(/session 0x[0-9a-f]+ expired early/);
    }, 300_000);
  }

  it("the unbroken protocol passes the same seeds the bugs fail on", () => {
    let expiriesChecked = 0;
    for (let seed = 1; seed <= 8; seed++) {
      const result = runSimulation(swarmOptions(seed, { safetyMs: 30_000 }));
      expect(result.failure).toBeUndefined();
      expiriesChecked += result.expiriesChecked;
    }
    expect(expiriesChecked).toBeGreaterThan(0); // the bound was put to the test
  }, 300_000);
});
