// npm run bench:compare [-- options]: Apache ZooKeeper 3.8 against this server, same zoo.cfg, same
// load generator, cells interleaved server by server over several rounds.
// See bench/compare/README.md.

import { execFileSync, spawnSync } from "node:child_process";
import { cpus, loadavg } from "node:os";
import { parseArgs } from "node:util";
import { openAclUnsafe } from "../../core/types.ts";
import { fourLetterWord } from "../../net/test/processes.ts";
import { ZkClient } from "../../net/zk-client.ts";
import { ensureZooKeeperInstalled, killAll, startEnsemble } from "./ensembles.ts";
import type { Ensemble, ServerKind } from "./ensembles.ts";
import { runRawCell } from "./loadgen.ts";
import type { CellSpec, Measurement, Target } from "./loadgen.ts";
import { runNzkCell } from "./nzk.ts";
import { writeReport } from "./report.ts";
import type { ReportContext } from "./report.ts";
import type { Mode, Run } from "./results.ts";
import { cellName, runLine } from "./results.ts";
import { summaryTable } from "./report.ts";
import { dataPath, parentPath, value, valueBytes, workloads } from "./workloads.ts";
import type { Workload } from "./workloads.ts";

const usage = `npm run bench:compare -- [options]
  --seconds S          measured seconds per run (default 6)
  --warmup S           unmeasured seconds before each run (default 2)
  --jvm-warmup S       load on each fresh ensemble before its first run, for the JIT (default 20)
  --rounds N           rounds of every cell on both servers, the first one alternating (default 2)
  --workloads LIST     of ${workloads.join(",")} (default all)
  --concurrency LIST   sessions x in flight for the ensembles (default 1x1,4x4,16x16,64x16)
  --standalone LIST    workload:cell list for standalone servers, or "none"
                       (default setData:1x1,setData:16x16,getData:16x16)
  --servers LIST       zookeeper,ours (default both)
  --client raw|nzk     raw: the pre-encoded generator (default); nzk: node-zookeeper-client
  --workers N          generator threads for the raw client (default 2)
  --out DIR            where the results file and plots go (default bench/results)
  --no-write           print only
Env: BENCH_SECONDS, BENCH_ROUNDS, BENCH_WARMUP override the defaults.`;

const { values: opts } = parseArgs({
  options: {
    seconds: { type: "string", default: process.env.BENCH_SECONDS ?? "6" },
    warmup: { type: "string", default: process.env.BENCH_WARMUP ?? "2" },
    "jvm-warmup": { type: "string", default: "20" },
    rounds: { type: "string", default: process.env.BENCH_ROUNDS ?? "2" },
    workloads: { type: "string", default: workloads.join(",") },
    concurrency: { type: "string", default: "1x1,4x4,16x16,64x16" },
    standalone: { type: "string", default: "setData:1x1,setData:16x16,getData:16x16" },
    servers: { type: "string", default: "zookeeper,ours" },
    client: { type: "string", default: "raw" },
    workers: { type: "string", default: "2" },
    out: { type: "string", default: new URL("../results", import.meta.url).pathname },
    "no-write": { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});
if (opts.help) {
  console.log(usage);
  process.exit(0);
}

function positive(name: string, text: string): number {
  const v = Number(text);
  if (!Number.isFinite(v) || v < 0)
    throw new Error(`--${name}: "${text}" is not a number of at least 0`);
  return v;
}

function parseCell(text: string): { sessions: number; inflight: number } {
  const m = /^(\d+)x(\d+)$/.exec(text.trim());
  if (m === null || Number(m[1]) < 1 || Number(m[2]) < 1)
    throw new Error(`"${text}" is not a cell like 16x16 (sessions x in flight)`);
  return { sessions: Number(m[1]), inflight: Number(m[2]) };
}

function parseWorkload(text: string): Workload {
  if (!(workloads as readonly string[]).includes(text))
    throw new Error(`unknown workload "${text}" (known: ${workloads.join(", ")})`);
  return text as Workload;
}

const seconds = positive("seconds", opts.seconds!);
const warmupSeconds = positive("warmup", opts.warmup!);
const jvmWarmupSeconds = positive("jvm-warmup", opts["jvm-warmup"]!);
const rounds = Math.max(1, Math.floor(positive("rounds", opts.rounds!)));
const workers = Math.max(1, Math.floor(positive("workers", opts.workers!)));
const client = opts.client === "nzk" ? "nzk" : opts.client === "raw" ? "raw" : undefined;
if (client === undefined) throw new Error(`--client: "${opts.client}" is neither raw nor nzk`);
const servers = opts.servers!.split(",").map((s) => s.trim()) as ServerKind[];
for (const s of servers)
  if (s !== "zookeeper" && s !== "ours") throw new Error(`--servers: unknown server "${s}"`);
const cellsByMode = new Map<Mode, { workload: Workload; sessions: number; inflight: number }[]>();
cellsByMode.set(
  "ensemble",
  opts
    .workloads!.split(",")
    .map(parseWorkload)
    .flatMap((workload) =>
      opts.concurrency!.split(",").map((c) => ({ workload, ...parseCell(c) })),
    ),
);
cellsByMode.set(
  "standalone",
  opts.standalone === "none"
    ? []
    : opts.standalone!.split(",").map((entry) => {
        const [w, c] = entry.split(":");
        return { workload: parseWorkload(w!), ...parseCell(c ?? "") };
      }),
);
// The defaults make a full run; anything shorter is labelled quick and never passes for one.
const quick = seconds < 6 || rounds < 2 || warmupSeconds < 2 || jvmWarmupSeconds < 20;

const runCount =
  [...cellsByMode.values()].reduce((a, cells) => a + cells.length, 0) * rounds * servers.length;
const estimateS =
  runCount * (seconds + warmupSeconds + 2) +
  [...cellsByMode.values()].filter((c) => c.length > 0).length *
    servers.length *
    (jvmWarmupSeconds + 15);
const hardLimitMs = (estimateS * 2 + 300) * 1000;

// Whatever ends this process ends every server it started.
process.on("exit", killAll);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    console.error(`\n${signal}: stopping every server started`);
    killAll();
    process.exit(130);
  });
}
process.on("uncaughtException", (error) => {
  console.error(error);
  killAll();
  process.exit(1);
});
setTimeout(() => {
  console.error(
    `\nthe run passed its hard limit of ${Math.round(hardLimitMs / 1000)} s: stopping every server`,
  );
  killAll();
  process.exit(1);
}, hardLimitMs).unref();

const log = (line: string) => console.log(line);
const status = (line: string) => process.stdout.write(`\r${line.padEnd(100).slice(0, 100)}`);
const clearStatus = () => process.stdout.write(`\r${" ".repeat(100)}\r`);

async function prepareTree(ensemble: Ensemble, sessions: number): Promise<void> {
  const zk = await ZkClient.connect("127.0.0.1", ensemble.clientPorts[0]!, {
    timeoutMs: 30_000,
    handshakeTimeoutMs: 20_000,
  });
  try {
    const create = (path: string) =>
      zk.request({ op: "create", path, data: value, acl: openAclUnsafe, flags: 0, ttl: -1 });
    const root = await create("/bench");
    if (root.err !== 0) throw new Error(`create /bench on ${ensemble.kind}: err ${root.err}`);
    const replies = await Promise.all(
      Array.from({ length: sessions }, (_, s) => [
        create(dataPath(s)),
        create(parentPath(s)),
      ]).flat(),
    );
    const failed = replies.find((r) => r.err !== 0);
    if (failed !== undefined)
      throw new Error(`preparing the tree on ${ensemble.kind}: err ${failed.err}`);
  } finally {
    await zk.close();
  }
}

async function roles(ensemble: Ensemble): Promise<string[]> {
  const modes = await Promise.all(
    ensemble.clientPorts.map(async (p) => /Mode: (\w+)/.exec(await fourLetterWord(p, "srvr"))?.[1]),
  );
  return modes.map((m) =>
    m === "leader" ? "L" : m === "follower" ? "F" : m === "standalone" ? "S" : "?",
  );
}

async function measure(target: Target, spec: CellSpec, label: string): Promise<Measurement> {
  const progress = (completed: number, elapsed: number) =>
    status(
      `  ${label}: ${elapsed.toFixed(0)}/${spec.warmupSeconds + spec.seconds} s, ` +
        `${completed.toLocaleString("en-US")} replies`,
    );
  try {
    const run = client === "nzk" ? runNzkCell : runRawCell;
    return await run(target, spec, progress);
  } catch (error) {
    clearStatus();
    throw new Error(`${label}: ${(error as Error).message}`, { cause: error });
  }
}

async function runMode(mode: Mode, results: Run[]): Promise<void> {
  const cells = cellsByMode.get(mode)!;
  if (cells.length === 0) return;
  const size = mode === "ensemble" ? 3 : 1;
  const maxSessions = Math.max(...cells.map((c) => c.sessions));
  const started = new Map<ServerKind, Ensemble>();
  try {
    for (const kind of servers) {
      status(`starting ${kind} (${mode}, ${size} process${size > 1 ? "es" : ""})`);
      const ensemble = await startEnsemble(kind, size);
      started.set(kind, ensemble);
      await prepareTree(ensemble, maxSessions);
      clearStatus();
      const memberRoles = (await roles(ensemble)).join(" ");
      log(
        `${kind} ${mode} serving on ports ${ensemble.clientPorts.join(", ")} ` +
          `(pids ${ensemble.pids.join(", ")}; roles ${memberRoles})`,
      );
    }
    if (jvmWarmupSeconds > 0) {
      for (const kind of servers) {
        const spec: CellSpec = {
          workload: "mixed",
          sessions: 16,
          inflight: 16,
          warmupSeconds: 0,
          seconds: jvmWarmupSeconds,
          workers,
        };
        await measure(started.get(kind)!, spec, `${kind} warm-up (mixed 16x16)`);
        clearStatus();
      }
      log(`warmed up each server with ${jvmWarmupSeconds} s of mixed load`);
    }
    for (let round = 1; round <= rounds; round++) {
      for (const cell of cells) {
        const order = round % 2 === 1 ? servers : [...servers].reverse();
        const name = `${cell.workload} ${cellName(cell.sessions, cell.inflight)}`;
        log(`${mode} ${name}, round ${round}/${rounds}:`);
        for (const kind of order) {
          const ensemble = started.get(kind)!;
          const spec: CellSpec = { ...cell, warmupSeconds, seconds, workers };
          const memberRoles = await roles(ensemble);
          const m = await measure(
            ensemble,
            spec,
            `${kind} ${cell.workload} ${cellName(cell.sessions, cell.inflight)}`,
          );
          clearStatus();
          const run: Run = { kind, mode, ...cell, round, roles: memberRoles, m };
          results.push(run);
          log(runLine(run));
        }
      }
    }
  } catch (error) {
    for (const ensemble of started.values()) {
      ensemble.stop(true);
      log(`${ensemble.kind}'s data and logs are kept: ${ensemble.logs.join(", ")}`);
    }
    started.clear();
    throw error;
  } finally {
    for (const ensemble of started.values()) ensemble.stop();
  }
}

function machineLines(): string[] {
  // java -version answers on stderr.
  const javaAnswer = spawnSync("java", ["-version"], { encoding: "utf8", timeout: 10_000 });
  const java = (javaAnswer.stderr ?? "").split("\n")[0] || "java: unknown";
  const zkVersion = (() => {
    try {
      return execFileSync("dpkg-query", ["-W", "-f", "${Version}", "zookeeper"], {
        encoding: "utf8",
      });
    } catch {
      return "unknown";
    }
  })();
  return [
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, load average ${loadavg()
      .map((v) => v.toFixed(2))
      .join(" ")} at the start`,
    `Node ${process.version}; ${java}; Debian zookeeper ${zkVersion}`,
  ];
}

async function main(): Promise<void> {
  const startedAt = new Date();
  if (servers.includes("zookeeper")) ensureZooKeeperInstalled(log);
  log(
    `bench:compare: ${runCount} runs of ${warmupSeconds} + ${seconds} s, ${rounds} round(s), ` +
      `client ${client}${quick ? " (quick run)" : ""}; about ${Math.ceil(estimateS / 60)} min, ` +
      `hard limit ${Math.ceil(hardLimitMs / 60_000)} min`,
  );
  const machine = machineLines();
  const results: Run[] = [];
  await runMode("ensemble", results);
  await runMode("standalone", results);
  for (const mode of ["ensemble", "standalone"] as Mode[]) {
    if (!results.some((r) => r.mode === mode)) continue;
    const title = mode === "ensemble" ? "3-node ensembles" : "standalone";
    log(`\n${title}: medians over ${rounds} round(s), ratio = ours / ZooKeeper`);
    for (const line of summaryTable(results, mode)) log(line);
  }
  if (!opts["no-write"]) {
    const ctx: ReportContext = {
      quick,
      startedAt,
      machine,
      cells: cellsByMode,
      settings: [
        "zoo.cfg for both: tickTime=2000, initLimit=10, syncLimit=5, forceSync=yes, " +
          "maxClientCnxns=0, loopback ports",
        `${valueBytes}-byte values; one znode per session; session i on member i mod 3`,
        `${rounds} round(s) of ${warmupSeconds} s unmeasured + ${seconds} s measured per run, ` +
          `servers alternating first; ${jvmWarmupSeconds} s of mixed 16x16 load on each fresh ` +
          "ensemble first",
      ],
      generator:
        client === "raw"
          ? `raw pre-encoded requests, ${workers} worker thread(s), latencies in a log-linear ` +
            "histogram (1.6% buckets)"
          : "node-zookeeper-client 1.1.3, one client per session, in the main thread",
    };
    log(`\nwrote ${writeReport(opts.out!, results, ctx)}`);
  }
}

try {
  await main();
} finally {
  killAll();
}
