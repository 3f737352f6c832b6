// The second, independent generator: node-zookeeper-client (what issue 12's first figures came
// from), in this thread, one client per session, `inflight` callback loops per session. Its
// figures are a spot check of the raw generator's: slower per op on the client side, same servers.

import zookeeper from "node-zookeeper-client";
import type { Client } from "node-zookeeper-client";
import { bucketOf, newHistogram } from "./histogram.ts";
import type { CellSpec, Measurement, Target } from "./loadgen.ts";
import { measureWindow } from "./loadgen.ts";
import { dataPath, parentPath, sessionTimeoutMs, value } from "./workloads.ts";
import type { Workload } from "./workloads.ts";

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function connectClient(port: number, timeoutMs: number): Promise<Client> {
  return new Promise((resolve, reject) => {
    const client = zookeeper.createClient(`127.0.0.1:${port}`, {
      sessionTimeout: sessionTimeoutMs,
      retries: 0,
    });
    const timer = setTimeout(() => {
      client.close();
      reject(new Error(`node-zookeeper-client: no session on port ${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    client.once("connected", () => {
      clearTimeout(timer);
      resolve(client);
    });
    client.connect();
  });
}

export async function runNzkCell(
  target: Target,
  spec: CellSpec,
  progress: (completed: number, elapsedS: number) => void,
): Promise<Measurement> {
  const data = Buffer.from(value);
  const clients = await Promise.all(
    Array.from({ length: spec.sessions }, (_, s) =>
      connectClient(target.clientPorts[s % target.clientPorts.length]!, 20_000),
    ),
  );
  const histogram = newHistogram();
  let measuring = false;
  let stopping = false;
  let ops = 0;
  let errors = 0;
  const errorCodes: Record<number, number> = {};
  let maxMicros = 0;
  let completed = 0;
  let outstanding = 0;
  const record = (started: number, error: unknown) => {
    completed++;
    outstanding--;
    if (!measuring) return;
    const micros = (performance.now() - started) * 1000;
    histogram[bucketOf(micros)]!++;
    if (micros > maxMicros) maxMicros = micros;
    ops++;
    if (error) {
      errors++;
      const code =
        typeof (error as { code?: unknown }).code === "number"
          ? (error as { code: number }).code
          : 0;
      errorCodes[code] = (errorCodes[code] ?? 0) + 1;
    }
  };
  // One request loop: issue, and on its answer issue the next, until stopped.
  const loop = (client: Client, session: number, lane: number) => {
    let count = lane;
    const next = () => {
      if (stopping) return;
      const started = performance.now();
      outstanding++;
      const workload = spec.workload;
      const op: Exclude<Workload, "mixed"> =
        workload === "mixed" ? (count++ % 10 === 9 ? "setData" : "getData") : workload;
      switch (op) {
        case "setData":
          return client.setData(dataPath(session), data, -1, (e) => (record(started, e), next()));
        case "getData":
          return client.getData(dataPath(session), (e) => (record(started, e), next()));
        case "createDelete":
          return client.create(
            `${parentPath(session)}/q-`,
            data,
            zookeeper.CreateMode.PERSISTENT_SEQUENTIAL,
            (e, path) => {
              record(started, e);
              if (e || stopping) return next();
              const removeStarted = performance.now();
              outstanding++;
              client.remove(path, -1, (e2) => (record(removeStarted, e2), next()));
            },
          );
      }
    };
    next();
  };
  const window = measureWindow(target);
  const started = performance.now();
  const ticker = setInterval(() => progress(completed, (performance.now() - started) / 1000), 1000);
  try {
    clients.forEach((client, s) => {
      for (let lane = 0; lane < spec.inflight; lane++) loop(client, s, lane);
    });
    await sleep(spec.warmupSeconds * 1000);
    await window.begin();
    measuring = true;
    await sleep(spec.seconds * 1000);
    measuring = false;
    await window.end();
    stopping = true;
    const drainDeadline = Date.now() + 10_000;
    while (outstanding > 0 && Date.now() < drainDeadline) await sleep(20);
  } finally {
    clearInterval(ticker);
    for (const client of clients) client.close();
  }
  const { client, servers, seconds, gc } = window.result();
  return {
    ops,
    seconds,
    errors,
    errorCodes,
    histogram,
    maxMicros,
    clientCpuMicros: client,
    serverCpuMicros: servers,
    serverGc: gc,
  };
}
