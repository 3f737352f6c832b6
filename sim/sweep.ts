// A sweep of seeds on worker threads. Every seed ends with a result of its own, whatever happens to
// it: it passes, its history check is unknown (a partition's search ran out of budget: reported,
// not a failure), it fails (a violation), its run throws, its worker dies (each worker has a heap
// limit of its own, so one seed that exhausts it cannot take the sweep down) or it gives no result
// within a bound (its worker is terminated). A dead or terminated worker is replaced and the sweep
// goes on, unless it was told to stop at the first failure. Each failure is printed as it happens
// and all of them again at the end.

import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import type { SimOverrides } from "./run.ts";
import type { SeedOps, SlowestLiveness, SweepOps } from "./sweep-summary.ts";
import { addSeedOps, livenessText, noOps, opsText, slowerLiveness } from "./sweep-summary.ts";

/** What a worker sends back for one seed (see worker.ts). */
export interface SeedReport {
  seed: number;
  outcome: "ok" | "unknown" | "violation" | "error";
  /** violation / error: what went wrong. unknown: which partitions and why. */
  detail: string | undefined;
  virtualMs: number;
  events: number;
  /** Client ops of the run (a recipe workload's replies); absent from injected runners. */
  ops?: number;
  /** The seed's register ops by outcome; absent when the run threw before it had a history. */
  opCounts?: SeedOps;
  /** How long the healed cluster took to converge, against its bound (sim/run.ts). */
  liveness?: { boundMs: number; convergedAfterMs: number | undefined };
}

export interface SeedFailure {
  seed: number;
  failure: string;
}

export interface SweepOptions {
  from: number;
  to: number;
  /** The seeds to run, if not every one of from..to (a shard's: sweep-summary.ts). */
  seeds?: readonly number[];
  overrides: SimOverrides;
  /** Stop at the first failure (the seeds under way are abandoned). */
  stopOnFailure: boolean;
  /** A seed with no result after this long fails, and its worker is terminated. */
  seedTimeoutMs: number;
  /** Each worker's V8 old-generation limit. */
  workerHeapMb: number;
  workers: number;
  /**
   * The module a worker runs seeds with (`runSeed(seed, overrides): SeedReport`); tests inject one
   * that misbehaves on purpose. Undefined: the simulator.
   */
  runnerUrl: string | undefined;
  /** Where results go: stdout lines (a failure as it happens, the summary) and the progress bar. */
  print: (line: string) => void;
  progress: (text: string) => void;
  /** Aborting stops the sweep as a failure does with stopOnFailure (Ctrl-C in the CLI). */
  signal?: AbortSignal;
}

export const sweepDefaults = {
  stopOnFailure: false,
  seedTimeoutMs: 600_000,
  workerHeapMb: 3072,
  workers: availableParallelism(),
  runnerUrl: undefined,
};

export interface SweepResult {
  seeds: number;
  finished: number;
  failures: SeedFailure[];
  unknown: SeedFailure[];
  stopped: boolean;
  workers: number;
  wallMs: number;
  virtualMs: number;
  events: number;
  ops: SweepOps;
  /** Undefined when no seed converged (or none said how long it took). */
  slowestLiveness: SlowestLiveness | undefined;
}

export function reproduce(seed: number, overrides: SimOverrides): string {
  const { nodes, safetyMs, clients } = overrides;
  const flags = { nodes, "safety-ms": safetyMs, clients };
  const given = Object.entries(flags).filter(([, v]) => v !== undefined);
  const extra = given.map(([k, v]) => ` --${k} ${v}`).join("");
  const workload = overrides.workload === undefined ? "" : ` --workload ${overrides.workload}`;
  const all = overrides.allFaults === true ? " --all-faults" : "";
  const noFaults = overrides.faults === false ? " --no-faults" : "";
  return `npm run sim -- --seed ${seed}${extra}${noFaults}${workload}${all}`;
}

/**
 * Each worker's young generation (three semi-spaces' worth): a run keeps its history and its
 * servers' logs, so at V8's default of 16 MiB per semi-space many short-lived objects were still
 * young at a scavenge and were copied; at 64 MiB a dense seed's scavenges took 40% less time.
 */
const workerYoungMb = 192;

// From the sources the worker needs tsx's loader; compiled (the packaged sim command), it is
// JavaScript.
const bootstrap = new URL(
  import.meta.url.endsWith(".js") ? "./worker.js" : "./worker-bootstrap.mjs",
  import.meta.url,
);

/** Runs the sweep; resolves when every seed has a result, or at the first failure if told to. */
export function sweep(options: SweepOptions): Promise<SweepResult> {
  const count = options.to - options.from + 1;
  const seeds = options.seeds ?? Array.from({ length: count }, (_, i) => options.from + i);
  const queue = [...seeds];
  const failures: SeedFailure[] = [];
  const unknown: SeedFailure[] = [];
  const live = new Set<Worker>();
  let finished = 0;
  let stopped = false;
  let virtualMs = 0;
  let events = 0;
  let clientOps = 0;
  const ops = noOps();
  let slowestLiveness: SlowestLiveness | undefined;
  const started = performance.now();
  const bar = () => {
    const width = 30;
    const filled = Math.round((finished / seeds.length) * width);
    const unknownCount = unknown.length > 0 ? `, ${unknown.length} unknown` : "";
    const counts = `${failures.length} failing${unknownCount}`;
    const drawn = `${"#".repeat(filled)}${".".repeat(width - filled)}`;
    options.progress(`\r[${drawn}] ${finished}/${seeds.length} seeds, ${counts}`);
  };
  // Printed on a line of its own: the progress bar is redrawn after it.
  const announce = (line: string) => {
    options.progress("\r\u001b[K");
    options.print(line);
  };

  return new Promise((resolve) => {
    let settled = false;
    const settle = () => {
      if (live.size > 0 || settled) return;
      settled = true;
      options.signal?.removeEventListener("abort", stop);
      const wallS = (performance.now() - started) / 1000;
      options.progress("\n");
      const simulated = (virtualMs / 1000 / wallS).toFixed(0);
      const perS = Math.round(events / wallS);
      const perSeed = finished === 0 ? 0 : Math.round(clientOps / finished);
      const rate =
        wallS <= 0
          ? ""
          : `: ${simulated} simulated s and ${perS} events per wall s, ${perSeed} ops per seed`;
      const workers = Math.max(1, Math.min(options.workers, seeds.length));
      const ran = `${finished} of ${seeds.length} seeds on ${workers} workers`;
      options.print(`${ran} in ${wallS.toFixed(1)} s${rate}`);
      // Recipe seeds run no register ops: their replies are in the line above.
      if (ops.invoked > 0 || clientOps === 0) options.print(opsText(ops));
      options.print(livenessText(slowestLiveness));
      const listed = (word: string, list: SeedFailure[]) => {
        const sorted = [...list].sort((a, b) => a.seed - b.seed);
        for (const f of sorted) options.print(line(word, f.seed, f.failure));
      };
      listed("UNKNOWN", unknown);
      listed("FAIL", failures);
      const why = options.signal?.aborted === true ? "interrupted" : "stopped at the first failure";
      const notRun = stopped ? `; ${why}, ${seeds.length - finished} seeds not finished` : "";
      const unknownText = unknown.length === 0 ? "" : `, ${unknown.length} with an unknown check`;
      const failed = `${failures.length} failing seeds`;
      const verdict = failures.length === 0 ? "all seeds passed" : failed;
      options.print(verdict + unknownText + notRun);
      const wallMs = wallS * 1000;
      const outcome = { seeds: seeds.length, finished, failures, unknown, stopped };
      resolve({ ...outcome, workers, wallMs, virtualMs, events, ops, slowestLiveness });
    };

    const line = (word: string, seed: number, why: string) =>
      `${word} seed ${seed}: ${why}\n  reproduce with: ${reproduce(seed, options.overrides)}`;

    const record = (seed: number, report: SeedReport | undefined, failure?: string) => {
      finished++;
      if (report !== undefined) {
        virtualMs += report.virtualMs;
        events += report.events;
        clientOps += report.ops ?? 0;
        if (report.opCounts !== undefined) addSeedOps(ops, report.opCounts);
        const took = report.liveness?.convergedAfterMs;
        if (took !== undefined) {
          const boundMs = report.liveness!.boundMs;
          slowestLiveness = slowerLiveness(slowestLiveness, {
            seed,
            convergedAfterMs: took,
            boundMs,
          });
        }
      }
      const failed = report?.outcome === "violation" || report?.outcome === "error";
      const reason = failure ?? (failed ? (report?.detail ?? "?") : undefined);
      if (reason !== undefined) {
        failures.push({ seed, failure: reason });
        announce(line("FAIL", seed, reason));
        if (options.stopOnFailure) stop();
      } else if (report?.outcome === "unknown") {
        unknown.push({ seed, failure: report.detail ?? "?" });
        announce(`UNKNOWN seed ${seed}: ${report.detail}`);
      }
      bar();
    };

    function stop(): void {
      if (stopped) return;
      stopped = true;
      queue.length = 0;
      for (const worker of live) void worker.terminate();
    }
    options.signal?.addEventListener("abort", stop);

    const startWorker = () => {
      if (queue.length === 0 || stopped) return settle();
      const worker = new Worker(bootstrap, {
        workerData: { overrides: options.overrides, runnerUrl: options.runnerUrl },
        resourceLimits: {
          maxOldGenerationSizeMb: options.workerHeapMb,
          maxYoungGenerationSizeMb: workerYoungMb,
        },
      });
      live.add(worker);
      let current: number | undefined;
      let timer: NodeJS.Timeout | undefined;
      let timedOut = false;
      let lastError: Error | undefined;
      const next = () => {
        current = stopped ? undefined : queue.shift();
        if (current === undefined) return void worker.terminate();
        timer = setTimeout(() => {
          timedOut = true;
          void worker.terminate();
        }, options.seedTimeoutMs);
        worker.postMessage(current);
      };
      worker.on("message", (report: SeedReport) => {
        if (timedOut || report.seed !== current) return; // a late answer from a terminated worker
        clearTimeout(timer);
        current = undefined;
        record(report.seed, report);
        next();
      });
      // An error event is followed by exit; the seed is failed once, on exit.
      worker.on("error", (error) => (lastError ??= error));
      worker.on("exit", (code) => {
        clearTimeout(timer);
        live.delete(worker);
        if (current !== undefined && !stopped) {
          const died =
            lastError === undefined
              ? `its worker exited with code ${code}`
              : `its worker died: ${describeError(lastError)}`;
          const seconds = options.seedTimeoutMs / 1000;
          const bound = `no result within ${seconds} s (its worker was terminated)`;
          const why = timedOut ? bound : died;
          record(current, undefined, why);
          // A replacement takes the rest of the queue.
          if (!stopped) return startWorker();
        }
        settle();
      });
      next();
    };

    const workers = Math.max(1, Math.min(options.workers, seeds.length));
    for (let i = 0; i < workers; i++) startWorker();
  });
}

function describeError(error: Error): string {
  const code = (error as { code?: string }).code;
  if (code === "ERR_WORKER_OUT_OF_MEMORY") return `out of memory (${error.message})`;
  return error.stack ?? String(error);
}
