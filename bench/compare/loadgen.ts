// Runs one measurement cell: `sessions` sessions spread over the ensemble's members (session i on
// member i mod n), each keeping `inflight` requests outstanding, for a warm-up and then a measured
// window. The raw generator runs in worker threads; CPU time of every server process and of this
// process is read at the window's edges.

import { Worker } from "node:worker_threads";
import { mergeInto, newHistogram } from "./histogram.ts";
import type { FromWorker, ToWorker, WorkerInit } from "./loadgen-worker.ts";
import { gcWindow, scrapeGc } from "./gc.ts";
import type { GcFigures } from "./gc.ts";
import { ownCpuMicros, processCpuMicros } from "./procstat.ts";
import { sessionPlan } from "./workloads.ts";
import type { Workload } from "./workloads.ts";

export interface CellSpec {
  workload: Workload;
  sessions: number;
  inflight: number;
  warmupSeconds: number;
  seconds: number;
  workers: number;
}

export interface Target {
  clientPorts: number[];
  pids: number[];
  /** Members' metrics ports, where their garbage collection is read (gc.ts); none: not read. */
  metricsPorts?: number[];
}

export interface Measurement {
  ops: number;
  seconds: number;
  errors: number;
  /** How many replies carried each error code. */
  errorCodes: Record<number, number>;
  histogram: Uint32Array;
  maxMicros: number;
  clientCpuMicros: number;
  /** CPU time of each server process during the window, in its member order. */
  serverCpuMicros: number[];
  /** Each member's garbage collection during the window, where its metrics tell (gc.ts). */
  serverGc: (GcFigures | undefined)[];
}

/**
 * What the servers and the generator spent between `begin` and `end`, which the generators await
 * at those instants: CPU time (the client's own, each server process's) and, where members serve
 * their metrics, each one's garbage collection (read just before the window and just after it).
 */
export function measureWindow(target: Target): {
  begin(): Promise<void>;
  end(): Promise<void>;
  result(): { client: number; servers: number[]; seconds: number; gc: (GcFigures | undefined)[] };
} {
  const scrape = () => Promise.all((target.metricsPorts ?? []).map(scrapeGc));
  let t0 = 0;
  let t1 = 0;
  let client0 = 0;
  let client1 = 0;
  let servers0: number[] = [];
  let servers1: number[] = [];
  let gc0: (GcFigures | undefined)[] = [];
  let gc1: (GcFigures | undefined)[] = [];
  return {
    async begin() {
      gc0 = await scrape();
      t0 = performance.now();
      client0 = ownCpuMicros();
      servers0 = target.pids.map(processCpuMicros);
    },
    async end() {
      t1 = performance.now();
      client1 = ownCpuMicros();
      servers1 = target.pids.map(processCpuMicros);
      gc1 = await scrape();
    },
    result: () => ({
      client: client1 - client0,
      servers: servers1.map((v, i) => v - servers0[i]!),
      seconds: (t1 - t0) / 1000,
      gc: gcWindow(gc0, gc1),
    }),
  };
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function runRawCell(
  target: Target,
  spec: CellSpec,
  progress: (completed: number, elapsedS: number) => void,
): Promise<Measurement> {
  const workerCount = Math.max(1, Math.min(spec.workers, spec.sessions));
  const plans = Array.from({ length: spec.sessions }, (_, s) =>
    sessionPlan(spec.workload, s, target.clientPorts[s % target.clientPorts.length]!),
  );
  const workers: Worker[] = [];
  const completed = new Array<number>(workerCount).fill(0);
  const results: Extract<FromWorker, { type: "done" }>[] = [];
  let failure: Error | undefined;
  let readyCount = 0;
  const deadline = Date.now() + (spec.warmupSeconds + spec.seconds) * 1000 + 60_000;
  const waitFor = async (what: string, condition: () => boolean) => {
    while (!condition()) {
      if (failure !== undefined) throw failure;
      if (Date.now() > deadline)
        throw new Error(`generator: ${what} not within the cell's time limit`);
      await sleep(20);
    }
  };
  try {
    for (let w = 0; w < workerCount; w++) {
      const init: WorkerInit = {
        workload: spec.workload,
        inflight: spec.inflight,
        sessions: plans.filter((_, s) => s % workerCount === w),
      };
      const worker = new Worker(new URL("./loadgen-bootstrap.mjs", import.meta.url), {
        workerData: init,
      });
      worker.on("message", (m: FromWorker) => {
        if (m.type === "ready") readyCount++;
        else if (m.type === "progress") completed[w] = m.completed;
        else if (m.type === "done") results.push(m);
        else failure = new Error(`generator worker ${w}: ${m.message}`);
      });
      worker.on("error", (e) => (failure = e));
      workers.push(worker);
    }
    await waitFor("every session connected", () => readyCount === workerCount);
    const send = (m: ToWorker) => workers.forEach((w) => w.postMessage(m));
    const window = measureWindow(target);
    const started = performance.now();
    const ticker = setInterval(
      () =>
        progress(
          completed.reduce((a, b) => a + b, 0),
          (performance.now() - started) / 1000,
        ),
      1000,
    );
    try {
      send({ type: "go" });
      await sleep(spec.warmupSeconds * 1000);
      if (failure !== undefined) throw failure;
      await window.begin();
      send({ type: "measure", on: true });
      await sleep(spec.seconds * 1000);
      send({ type: "measure", on: false });
      await window.end();
      send({ type: "stop" });
      await waitFor("every session closed", () => results.length === workerCount);
    } finally {
      clearInterval(ticker);
    }
    const histogram = newHistogram();
    for (const r of results) mergeInto(histogram, r.histogram);
    const { client, servers, seconds, gc } = window.result();
    const errorCodes: Record<number, number> = {};
    for (const r of results)
      for (const [code, n] of Object.entries(r.errorCodes))
        errorCodes[Number(code)] = (errorCodes[Number(code)] ?? 0) + n;
    return {
      errorCodes,
      ops: results.reduce((a, r) => a + r.measured, 0),
      seconds,
      errors: results.reduce((a, r) => a + r.errors, 0),
      histogram,
      maxMicros: Math.max(...results.map((r) => r.maxMicros)),
      clientCpuMicros: client,
      serverCpuMicros: servers,
      serverGc: gc,
    };
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
