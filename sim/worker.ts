// A sweep worker: runs the seeds it is sent and reports each outcome (sweep.ts). A run that throws
// is reported as that seed's error; the worker goes on with the next seed.
import { parentPort, workerData } from "node:worker_threads";
import { runSimulation, swarmOptions } from "./run.ts";
import type { SimOverrides } from "./run.ts";
import type { SeedReport } from "./sweep.ts";

type RunSeed = (seed: number, overrides: SimOverrides) => SeedReport;

/** The simulator's run of one seed, as a report; an unknown history check names its partitions. */
export function runSeed(seed: number, overrides: SimOverrides): SeedReport {
  // A sweep reports no trace hash: building and hashing the trace would be wasted.
  const result = runSimulation(swarmOptions(seed, overrides), "untraced");
  const ops = result.recipe?.ops ?? result.history.counts.invoke;
  const c = result.history.counts;
  const opCounts = { invoked: c.invoke, ok: c.ok, failed: c.fail, indeterminate: c.info };
  const { boundMs, convergedAfterMs } = result.liveness;
  const liveness = { boundMs, convergedAfterMs };
  const { virtualMs, events } = result;
  const base = { seed, virtualMs, events, ops, opCounts, liveness };
  if (!result.ok) return { ...base, outcome: "violation", detail: result.failure };
  const verdict = result.check.verdict;
  if (verdict.valid !== "unknown") return { ...base, outcome: "ok", detail: undefined };
  const parts = verdict.linearizability.partitions.filter((p) => p.verdict === "unknown");
  const named = parts.map(
    (p) => `partition ${p.id} (${p.opIds.length} ops: out of ${p.exhausted})`,
  );
  const detail = `history check unknown: ${named.join(", ")}`;
  return { ...base, outcome: "unknown", detail };
}

const { overrides, runnerUrl } = workerData as { overrides: SimOverrides; runnerUrl?: string };
const injected =
  runnerUrl === undefined ? undefined : ((await import(runnerUrl)) as { runSeed: RunSeed });
const run: RunSeed = injected?.runSeed ?? runSeed;

parentPort!.on("message", (seed: number) => {
  let report: SeedReport;
  try {
    report = run(seed, overrides);
  } catch (error) {
    const why = error instanceof Error ? (error.stack ?? error.message) : String(error);
    report = { seed, outcome: "error", detail: `the run threw: ${why}`, virtualMs: 0, events: 0 };
  }
  parentPort!.postMessage(report);
});
