// npm run sim -- --seed 42            one run, with a summary; exit 1 on a violation, 2 when the
//                                     history check is unknown (a partition ran out of budget)
// npm run sim -- --seeds 1..1000      a sweep on every core (worker threads) with a progress bar;
//                                     exit 1 if any seed failed (unknown checks are listed apart)
// Options: --nodes N --safety-ms MS --clients N --no-faults --trace FILE --history FILE --report DIR
// Sweep options: --stop-on-failure --seed-timeout-s S (default 600) --worker-heap-mb MB (3072)
//                --workers N (default: every core)

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { renderHtml } from "../jepsen-like/report/html.ts";
import { textVerdict, verdictWord } from "../jepsen-like/report/text.ts";
import { visualizationData } from "../jepsen-like/report/visualization.ts";
import { runSimulation, swarmOptions } from "./run.ts";
import type { SimOverrides, SimResult } from "./run.ts";
import { reproduce, sweep, sweepDefaults } from "./sweep.ts";

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
}

function positive(flag: string, text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag} needs a positive number`);
  return n;
}

function parseArgs(argv: string[]): Args {
  const args: Args = {
    seed: undefined, seeds: undefined, overrides: {}, trace: undefined, historyFile: undefined,
    report: undefined,
    stopOnFailure: sweepDefaults.stopOnFailure, seedTimeoutMs: sweepDefaults.seedTimeoutMs,
    workerHeapMb: sweepDefaults.workerHeapMb, workers: sweepDefaults.workers,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    if (flag === "--seed") args.seed = Number(value());
    else if (flag === "--seeds") {
      const [from, to] = value().split("..").map(Number);
      args.seeds = [from!, to ?? from!];
    } else if (flag === "--nodes") args.overrides.nodes = Number(value());
    else if (flag === "--safety-ms") args.overrides.safetyMs = Number(value());
    else if (flag === "--clients") args.overrides.clients = Number(value());
    else if (flag === "--no-faults") args.overrides.faults = false;
    else if (flag === "--trace") args.trace = value();
    else if (flag === "--history") args.historyFile = value();
    else if (flag === "--report") args.report = value();
    else if (flag === "--stop-on-failure") args.stopOnFailure = true;
    else if (flag === "--seed-timeout-s") args.seedTimeoutMs = positive(flag, value()) * 1000;
    else if (flag === "--worker-heap-mb") args.workerHeapMb = positive(flag, value());
    else if (flag === "--workers") args.workers = Math.floor(positive(flag, value()));
    else throw new Error(`unknown option ${flag}`);
  }
  return args;
}

function printSummary(result: SimResult, wallMs: number, overrides: SimOverrides): void {
  const options = swarmOptions(result.seed, overrides);
  const c = result.history.counts;
  console.log(`SEED=${result.seed}`);
  console.log(`  nodes=${options.nodes} clients=${options.workload.clients} keys=${options.workload.keys} latency~${options.network.latencyMeanMs}ms fsync~${options.disk.fsyncMeanMs}ms`);
  console.log(`  fault rates: ${JSON.stringify(options.nemesis)}`);
  console.log(`  virtual time ${(result.virtualMs / 1000).toFixed(1)} s in ${(wallMs / 1000).toFixed(2)} s wall (${(result.virtualMs / wallMs).toFixed(0)}x), ${result.events} events`);
  console.log(`  ops: ${c.invoke} invoked, ${c.ok} ok, ${c.fail} failed, ${c.info} indeterminate`);
  console.log(`  faults injected: ${JSON.stringify(result.faults)}; torn log records: ${result.tornRecords}; leader changes: ${result.leaderChanges}`);
  console.log(`  trace hash ${result.traceHash} (${result.traceLines} lines)`);
  const lin = result.check.verdict.linearizability;
  const guarantees = result.check.verdict.guarantees;
  console.log(`  history check: ${verdictWord(result.check.verdict.valid)}; ${lin.partitions.length} partitions, ${lin.steps} search steps; ` +
    `guarantees ${guarantees.filter((g) => g.violations.length === 0).length}/${guarantees.length} hold; ${result.check.verdict.elapsedMs.toFixed(0)} ms`);
  if (!result.ok) {
    console.log(`  verdict: VIOLATION: ${result.failure}`);
    console.log(`  reproduce with: ${reproduce(result.seed, overrides)}`);
  } else if (result.check.verdict.valid === "unknown") {
    const text = textVerdict(result.check.verdict, result.check.ops);
    const unknown = text.split("\n").filter((l) => l.startsWith("  UNKNOWN"));
    console.log("  verdict: ok, but the history check is UNKNOWN (not a violation):");
    console.log(unknown.join("\n"));
  } else console.log("  verdict: ok");
}

/** The checker's report for this run, plus the history it read, so the run can be re-checked alone. */
function writeReport(dir: string, result: SimResult): void {
  mkdirSync(dir, { recursive: true });
  const verdictText = textVerdict(result.check.verdict, result.check.ops);
  writeFileSync(join(dir, "verdict.txt"), verdictText);
  writeFileSync(join(dir, "index.html"), renderHtml(visualizationData(result.check), verdictText));
  writeFileSync(join(dir, "history.jsonl"), result.history.toJsonLines());
  console.log(`report: ${join(dir, "index.html")}`);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.seeds !== undefined) {
    // Ctrl-C stops the sweep, which still prints every failure found so far.
    const interrupt = new AbortController();
    process.once("SIGINT", () => interrupt.abort());
    const result = await sweep({
      from: args.seeds[0], to: args.seeds[1], overrides: args.overrides,
      stopOnFailure: args.stopOnFailure, seedTimeoutMs: args.seedTimeoutMs,
      workerHeapMb: args.workerHeapMb, workers: args.workers, runnerUrl: undefined,
      print: (line) => console.log(line), progress: (text) => process.stderr.write(text),
      signal: interrupt.signal,
    });
    process.exitCode = result.failures.length === 0 && !interrupt.signal.aborted ? 0 : 1;
    return;
  }
  const seed = args.seed ?? Math.floor(Math.random() * 1_000_000);
  const lines: string[] = [];
  const started = performance.now();
  const result = runSimulation(swarmOptions(seed, args.overrides), args.trace === undefined ? undefined : (line) => lines.push(line));
  const wallMs = performance.now() - started;
  if (args.trace !== undefined) writeFileSync(args.trace, lines.join("\n") + "\n");
  if (args.historyFile !== undefined) writeFileSync(args.historyFile, result.history.toJsonLines());
  printSummary(result, wallMs, args.overrides);
  if (args.report !== undefined) writeReport(args.report, result);
  process.exitCode = !result.ok ? 1 : result.check.verdict.valid === "unknown" ? 2 : 0;
}

await main();
