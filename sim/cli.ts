// The simulator's command line: runs, sweeps, shrinking, replays and shard merges (usage below).

import { readFileSync, writeFileSync } from "node:fs";
import { textVerdict, verdictWord } from "../jepsen-like/report/text.ts";
import { loadPlanted, replayCommand, shrinkCommand, writeReport } from "./cli-tools.ts";
import { recipeKinds, runSimulation, swarmOptions } from "./run.ts";
import type { SimOptions, SimOverrides, SimResult, WorkloadChoice } from "./run.ts";
import { shrinkLimits } from "./shrink.ts";
import { reproduce, sweep, sweepDefaults } from "./sweep.ts";
import type { Shard, SweepSummary } from "./sweep-summary.ts";
import {
  mergedOk,
  mergedText,
  mergeSummaries,
  parseShard,
  shardSeeds,
  summaryOf,
} from "./sweep-summary.ts";

const usage = `\
npm run sim -- --seed 42            one run, with a summary; exit 1 on a violation, 2 when the
                                    history check is unknown (a partition ran out of budget)
npm run sim -- --seeds 1..1000      a sweep on every core (worker threads) with a progress bar;
                                    exit 1 if any seed failed (unknown checks are listed apart)
npm run sim -- --seed 42 --shrink   cut a failing seed down to a minimal fault schedule and op
                                    set that fails the same way; writes a scenario file and its
                                    report (--scenario FILE, --report DIR; bounded by
                                    --shrink-runs N, --shrink-s S)
npm run sim -- --replay FILE        run a scenario file (as a seed's run, exit 1 on a violation)
                                    and say whether it fails as recorded
npm run sim -- --seeds 1..1000000 --shard 3/16 --summary s3.json
                                    one of 16 parts of a sweep (every 16th seed from the 4th),
                                    for a CI matrix or indexed Jobs; its summary as JSON
npm run sim -- --merge s*.json      fold shard summaries into one verdict; exit 1 on a failure,
                                    a missing shard or one that did not finish
Options: --nodes N --safety-ms MS --clients N --no-faults --trace FILE --history FILE
         --report DIR
         --workload ops|dense|lock|election|queue|recipes (dense: many pipelined clients,
         queues, locks, multis failing part way; lock, election, queue: a recipe workload
         instead of the register one; recipes: each seed draws one) --all-faults (every fault
         kind on in every seed)
         --plant BUG (a planted bug of sim/test/planted-bugs.ts, for a single run or --shrink)
Sweep options: --stop-on-failure --seed-timeout-s S (default 600) --worker-heap-mb MB (3072)
               --workers N (default: every core)
`;

interface Args {
  seed: number | undefined;
  seeds: [number, number] | undefined;
  overrides: SimOverrides;
  trace: string | undefined;
  historyFile: string | undefined;
  report: string | undefined;
  stopOnFailure: boolean;
  seedTimeoutMs: number;
  workerHeapMb: number;
  workers: number;
  shrink: boolean;
  scenario: string | undefined;
  plant: string | undefined;
  shrinkRuns: number;
  shrinkMs: number;
  replay: string | undefined;
  shard: Shard | undefined;
  summary: string | undefined;
  merge: string[] | undefined;
  /** The flags besides the seeds, as typed: a summary records them, so shards can be matched. */
  flags: string[];
}

function positive(flag: string, text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag} needs a positive number`);
  return n;
}

const workloadChoices: readonly WorkloadChoice[] = ["ops", "dense", ...recipeKinds, "recipes"];

function workloadChoice(text: string): WorkloadChoice {
  const choice = workloadChoices.find((c) => c === text);
  if (choice === undefined) throw new Error(`--workload is one of ${workloadChoices.join(", ")}`);
  return choice;
}

function parseArgs(argv: string[]): Args {
  const args: Args = {
    seed: undefined,
    seeds: undefined,
    overrides: {},
    trace: undefined,
    historyFile: undefined,
    report: undefined,
    stopOnFailure: sweepDefaults.stopOnFailure,
    seedTimeoutMs: sweepDefaults.seedTimeoutMs,
    workerHeapMb: sweepDefaults.workerHeapMb,
    workers: sweepDefaults.workers,
    shrink: false,
    scenario: undefined,
    plant: undefined,
    shrinkRuns: shrinkLimits.maxRuns,
    shrinkMs: shrinkLimits.maxWallMs,
    replay: undefined,
    shard: undefined,
    summary: undefined,
    merge: undefined,
    flags: [],
  };
  // Flags that change what a seed does, and so must match across the shards of one sweep.
  const runFlags = new Set([
    "--nodes",
    "--safety-ms",
    "--clients",
    "--no-faults",
    "--workload",
    "--all-faults",
  ]);
  const bare = new Set(["--no-faults", "--all-faults"]);
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    if (runFlags.has(flag)) {
      args.flags.push(flag, ...(bare.has(flag) ? [] : [argv[i + 1] ?? ""]));
    }
    if (flag === "--seed") args.seed = Number(value());
    else if (flag === "--seeds") {
      const [from, to] = value().split("..").map(Number);
      args.seeds = [from!, to ?? from!];
    } else if (flag === "--nodes") args.overrides.nodes = Number(value());
    else if (flag === "--safety-ms") args.overrides.safetyMs = Number(value());
    else if (flag === "--clients") args.overrides.clients = Number(value());
    else if (flag === "--no-faults") args.overrides.faults = false;
    else if (flag === "--all-faults") args.overrides.allFaults = true;
    else if (flag === "--workload") args.overrides.workload = workloadChoice(value());
    else if (flag === "--trace") args.trace = value();
    else if (flag === "--history") args.historyFile = value();
    else if (flag === "--report") args.report = value();
    else if (flag === "--stop-on-failure") args.stopOnFailure = true;
    else if (flag === "--seed-timeout-s") args.seedTimeoutMs = positive(flag, value()) * 1000;
    else if (flag === "--worker-heap-mb") args.workerHeapMb = positive(flag, value());
    else if (flag === "--workers") args.workers = Math.floor(positive(flag, value()));
    else if (flag === "--shrink") args.shrink = true;
    else if (flag === "--scenario") args.scenario = value();
    else if (flag === "--plant") args.plant = value();
    else if (flag === "--shrink-runs") args.shrinkRuns = Math.floor(positive(flag, value()));
    else if (flag === "--shrink-s") args.shrinkMs = positive(flag, value()) * 1000;
    else if (flag === "--replay") args.replay = value();
    else if (flag === "--shard") args.shard = parseShard(value());
    else if (flag === "--summary") args.summary = value();
    else if (flag === "--merge") {
      args.merge = argv.slice(i + 1);
      break;
    } else throw new Error(`unknown option ${flag}`);
  }
  return args;
}

function printSummary(
  result: SimResult,
  wallMs: number,
  options: SimOptions,
  reproduceWith: string,
): void {
  const c = result.history.counts;
  const { pipeline } = options.workload;
  // The thin workload keeps one request in flight per client, and prints as it always did.
  const inFlight = pipeline === undefined ? "" : `pipeline=${pipeline} `;
  console.log(`SEED=${result.seed}`);
  console.log(
    `  nodes=${options.nodes} clients=${options.workload.clients} keys=${options.workload.keys} ` +
      `${inFlight}latency~${options.network.latencyMeanMs}ms fsync~${options.disk.fsyncMeanMs}ms`,
  );
  // JSON has no Infinity: a fault kind this seed turned off reads "off".
  const rates = JSON.stringify(options.nemesis, (_k, v) => (v === Infinity ? "off" : v));
  console.log(`  fault rates: ${rates}`);
  console.log(`  disk: ${JSON.stringify(options.disk)}`);
  console.log(
    `  virtual time ${(result.virtualMs / 1000).toFixed(1)} s in ${(wallMs / 1000).toFixed(2)} s ` +
      `wall (${(result.virtualMs / wallMs).toFixed(0)}x), ${result.events} events`,
  );
  if (result.recipe === undefined) {
    console.log(
      `  ops: ${c.invoke} invoked, ${c.ok} ok, ${c.fail} failed, ${c.info} indeterminate`,
    );
    // Seed 42, the README's example, is one: say so rather than leave "0 invoked" unexplained.
    if (c.invoke === 0) {
      console.log("  (no client kept a session long enough to invoke an op while the faults ran:");
      console.log("   a swarm draw can be this harsh; the run still checks safety)");
    }
  } else {
    const { kind, ops, violations } = result.recipe;
    console.log(
      `  ${kind} workload: ${ops} replies; recipe check: ${violations.length} violations`,
    );
  }
  const { boundMs, convergedAfterMs } = result.liveness;
  const took =
    convergedAfterMs === undefined ? "did not converge" : `converged in ${convergedAfterMs}`;
  console.log(`  liveness: ${took} of a ${boundMs} ms bound (${result.liveness.basis})`);
  console.log(
    `  faults injected: ${JSON.stringify(result.faults)}; ` +
      `torn log records: ${result.tornRecords}; leader changes: ${result.leaderChanges}`,
  );
  console.log(`  trace hash ${result.traceHash} (${result.traceLines} lines)`);
  const lin = result.check.verdict.linearizability;
  const guarantees = result.check.verdict.guarantees;
  console.log(
    `  history check: ${verdictWord(result.check.verdict.valid)}; ` +
      `${lin.partitions.length} partitions, ${lin.steps} search steps; ` +
      `guarantees ${guarantees.filter((g) => g.violations.length === 0).length}/` +
      `${guarantees.length} hold; ${result.check.verdict.elapsedMs.toFixed(0)} ms`,
  );
  if (!result.ok) {
    console.log(`  verdict: VIOLATION: ${result.failure}`);
    console.log(`  reproduce with: ${reproduceWith}`);
  } else if (result.check.verdict.valid === "unknown") {
    const text = textVerdict(result.check.verdict, result.check.ops);
    const unknown = text.split("\n").filter((l) => l.startsWith("  UNKNOWN"));
    console.log("  verdict: ok, but the history check is UNKNOWN (not a violation):");
    console.log(unknown.join("\n"));
  } else console.log("  verdict: ok");
}

/** Folds shard summaries; true if the sweep is whole and nothing failed. */
function merge(files: string[]): boolean {
  const summaries = files.map((file) => JSON.parse(readFileSync(file, "utf8")) as SweepSummary);
  const merged = mergeSummaries(summaries);
  for (const line of mergedText(merged)) console.log(line);
  return mergedOk(merged);
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(usage);
    return;
  }
  let args: ReturnType<typeof parseArgs>;
  try {
    args = parseArgs(argv);
  } catch (error) {
    // A mistyped option gets one line and the usage, not a stack trace.
    console.error(`sim: ${(error as Error).message}\n\n${usage}`);
    process.exitCode = 2;
    return;
  }
  if (args.merge !== undefined) {
    process.exitCode = merge(args.merge) ? 0 : 1;
    return;
  }
  if (args.replay !== undefined) {
    const started = performance.now();
    const { scenario, result, asRecorded } = await replayCommand(args.replay);
    const command = `npm run sim -- --replay ${args.replay}`;
    printSummary(result, performance.now() - started, scenario.options, command);
    if (args.report !== undefined) console.log(`report: ${writeReport(args.report, result)}`);
    const recorded = scenario.failure?.class ?? "ok";
    const now = asRecorded
      ? "as recorded"
      : result.ok
        ? "it passes now"
        : "it fails another way now";
    console.log(`recorded outcome: ${recorded}; ${now}`);
    // As a seed's run: exit 1 on a violation, so a scenario file serves as a regression test.
    process.exitCode = !result.ok ? 1 : result.check.verdict.valid === "unknown" ? 2 : 0;
    return;
  }
  if (args.shrink) {
    if (args.seed === undefined) throw new Error("--shrink needs --seed N");
    const found = await shrinkCommand({
      options: swarmOptions(args.seed, args.overrides),
      planted: args.plant,
      scenarioFile: args.scenario ?? `sim-scenario-${args.seed}.json`,
      reportDir: args.report ?? `sim-scenario-${args.seed}`,
      limits: { maxRuns: args.shrinkRuns, maxWallMs: args.shrinkMs },
      print: (line) => console.log(line),
      progress: (text) => process.stderr.write(text),
    });
    process.exitCode = found ? 0 : 1;
    return;
  }
  if (args.seeds !== undefined) {
    // Ctrl-C stops the sweep, which still prints every failure found so far.
    const interrupt = new AbortController();
    process.once("SIGINT", () => interrupt.abort());
    const [from, to] = args.seeds;
    const seeds = shardSeeds(from, to, args.shard);
    const result = await sweep({
      from,
      to,
      seeds,
      overrides: args.overrides,
      stopOnFailure: args.stopOnFailure,
      seedTimeoutMs: args.seedTimeoutMs,
      workerHeapMb: args.workerHeapMb,
      workers: args.workers,
      runnerUrl: undefined,
      print: (line) => console.log(line),
      progress: (text) => process.stderr.write(text),
      signal: interrupt.signal,
    });
    if (args.summary !== undefined) {
      const range = { from, to, shard: args.shard, flags: args.flags.join(" ") };
      const summary = summaryOf(range, result, (seed) => reproduce(seed, args.overrides));
      writeFileSync(args.summary, JSON.stringify(summary, null, 1) + "\n");
    }
    process.exitCode = result.failures.length === 0 && !interrupt.signal.aborted ? 0 : 1;
    return;
  }
  const seed = args.seed ?? Math.floor(Math.random() * 1_000_000);
  const lines: string[] = [];
  const started = performance.now();
  const planted = await loadPlanted(args.plant);
  const options = swarmOptions(seed, args.overrides);
  const sink = args.trace === undefined ? undefined : (line: string) => lines.push(line);
  const result = runSimulation(
    options,
    sink,
    planted.policy,
    planted.step,
    undefined,
    planted.lockRules,
  );
  const wallMs = performance.now() - started;
  if (args.trace !== undefined) writeFileSync(args.trace, lines.join("\n") + "\n");
  if (args.historyFile !== undefined) writeFileSync(args.historyFile, result.history.toJsonLines());
  const plant = args.plant === undefined ? "" : ` --plant ${args.plant}`;
  printSummary(result, wallMs, options, reproduce(seed, args.overrides) + plant);
  if (args.report !== undefined) console.log(`report: ${writeReport(args.report, result)}`);
  process.exitCode = !result.ok ? 1 : result.check.verdict.valid === "unknown" ? 2 : 0;
}

await main();
