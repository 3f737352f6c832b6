// A sweep worker: runs the seeds it is sent and reports each outcome.
import { parentPort, workerData } from "node:worker_threads";
import { runSimulation, swarmOptions } from "./run.ts";
import type { SimOverrides } from "./run.ts";

parentPort!.on("message", (seed: number) => {
  const result = runSimulation(swarmOptions(seed, workerData as SimOverrides));
  parentPort!.postMessage({ seed, ok: result.ok, failure: result.failure, virtualMs: result.virtualMs, events: result.events });
});
