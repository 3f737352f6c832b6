// npm run sim -- --seed 42            one run, with a summary; exit 1 on a violation
// npm run sim -- --seeds 1..1000      a sweep on every core (worker threads) with a progress bar
// Options: --nodes N --safety-ms MS --clients N --no-faults --trace FILE --history FILE --report DIR

import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { renderHtml } from "../jepsen-like/report/html.ts";
import { textVerdict, verdictWord } from "../jepsen-like/report/text.ts";
import { visualizationData } from "../jepsen-like/report/visualization.ts";
import { runSimulation, swarmOptions } from "./run.ts";
import type { SimOverrides, SimResult } from "./run.ts";

interface Args {
  seed: number | undefined;
  seeds: [number, number] | undefined;
  overrides: SimOverrides;
  trace: string | undefined;
  historyFile: string | undefined;
  report: string | undefined;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { seed: undefined, seeds: undefined, overrides: {}, trace: undefined, historyFile: undefined, report: undefined };
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
    else throw new Error(`unknown option ${flag}`);
  }
  return args;
}

function reproduce(seed: number, overrides: SimOverrides): string {
  const extra = Object.entries({ nodes: overrides.nodes, "safety-ms": overrides.safetyMs, clients: overrides.clients })
    .filter(([, v]) => v !== undefined).map(([k, v]) => ` --${k} ${v}`).join("");
  return `npm run sim -- --seed ${seed}${extra}${overrides.faults === false ? " --no-faults" : ""}`;
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
  console.log(result.ok ? "  verdict: ok" : `  verdict: VIOLATION: ${result.failure}\n  reproduce with: ${reproduce(result.seed, overrides)}`);
}

async function sweep(from: number, to: number, overrides: SimOverrides): Promise<boolean> {
  const seeds = Array.from({ length: to - from + 1 }, (_, i) => from + i);
  const workers = Math.max(1, Math.min(availableParallelism(), seeds.length));
  const failures: { seed: number; failure: string }[] = [];
  let done = 0;
  let virtualMs = 0;
  let events = 0;
  const started = performance.now();
  const progress = () => {
    const width = 30;
    const filled = Math.round((done / seeds.length) * width);
    process.stderr.write(`\r[${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${seeds.length} seeds, ${failures.length} failing`);
  };
  const queue = [...seeds];
  await Promise.all(Array.from({ length: workers }, () => new Promise<void>((resolve, reject) => {
    // From the sources the worker needs tsx's loader; compiled, it is plain JavaScript.
    const script = import.meta.url.endsWith(".js") ? "./worker.js" : "./worker-bootstrap.mjs";
    const worker = new Worker(new URL(script, import.meta.url), { workerData: overrides });
    const next = () => {
      const seed = queue.shift();
      if (seed === undefined) return void worker.terminate().then(() => resolve());
      worker.postMessage(seed);
    };
    worker.on("message", (r: { seed: number; ok: boolean; failure?: string; virtualMs: number; events: number }) => {
      done++;
      virtualMs += r.virtualMs;
      events += r.events;
      if (!r.ok) failures.push({ seed: r.seed, failure: r.failure ?? "?" });
      progress();
      next();
    });
    worker.on("error", reject);
    next();
  })));
  const wallS = (performance.now() - started) / 1000;
  process.stderr.write("\n");
  console.log(`${seeds.length} seeds on ${workers} workers in ${wallS.toFixed(1)} s: ${(virtualMs / 1000 / wallS).toFixed(0)} simulated s per wall s, ${Math.round(events / wallS)} events per wall s`);
  for (const f of failures.sort((a, b) => a.seed - b.seed)) console.log(`FAIL seed ${f.seed}: ${f.failure}\n  reproduce with: ${reproduce(f.seed, overrides)}`);
  console.log(failures.length === 0 ? "all seeds passed" : `${failures.length} failing seeds`);
  return failures.length === 0;
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
    process.exitCode = (await sweep(args.seeds[0], args.seeds[1], args.overrides)) ? 0 : 1;
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
  process.exitCode = result.ok ? 0 : 1;
}

await main();
