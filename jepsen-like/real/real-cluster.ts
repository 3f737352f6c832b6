// A Jepsen-style run against real server processes: a 3-process ensemble on loopback, client
// processes issuing ZooKeeper operations through the wire protocol, and a nemesis that kills -9
// and pauses (SIGSTOP) servers. Every operation goes into a history in the checker's format,
// which is checked at the end. Real time, real sockets, real fsync: not reproducible like the
// simulator, but it tests the code the simulator cannot reach (net/).
//
// npm run jepsen -- --seconds 60 --out dir     (the test runs a short version of this)

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import seedrandom from "seedrandom";
import { Err } from "../../core/errors.ts";
import type { Reply } from "../../core/requests.ts";
import { CreateMode, hex, openAclUnsafe } from "../../core/types.ts";
import { eventTypeName } from "../../core/watches.ts";
import type { ProcessEnsemble } from "../../net/processes.ts";
import { startProcessEnsemble } from "../../net/processes.ts";
import { ZkClient } from "../../net/zk-client.ts";
import type { CheckOutcome } from "../check.ts";
import { checkHistory } from "../check.ts";
import type { HistoryRecord } from "../history.ts";
import { recordsFromJson, serializeHistory } from "../history.ts";
import { renderHtml } from "../report/html.ts";
import { textVerdict } from "../report/text.ts";
import { visualizationData } from "../report/visualization.ts";
import { HistoryRecorder } from "../recorder.ts";
import type { PlannedOp, WorkloadMix, WorkloadRandom } from "../workload.ts";
import { completionOf, WorkloadClient } from "../workload.ts";

export interface RealClusterOptions {
  seed: number;
  /** How long the nemesis runs; clients keep going until it stops and every server is back. */
  faultSeconds: number;
  clients: number;
  keys: number;
  /** A client gives up on an op (and its connection) after this long: the op is indeterminate. */
  opTimeoutMs: number;
  /** Mean time between faults; each fault lasts up to faultMeanMs. */
  faultEveryMs: number;
  /**
   * The whole run's bound, checking included: past it the run stops its clients and nemesis,
   * kills its servers and throws (a test gets its failure, and no process outlives it).
   * Undefined: faultSeconds plus four minutes for startup, healing and the check.
   */
  runMaxSeconds: number | undefined;
  /** The history check's wall-clock limit (the check is synchronous: no timer can cut it). */
  checkMaxSeconds: number;
  log: (line: string) => void;
}

export const realClusterDefaults: RealClusterOptions = {
  seed: 1,
  faultSeconds: 20,
  clients: 5,
  keys: 4,
  opTimeoutMs: 2_000,
  faultEveryMs: 3_000,
  runMaxSeconds: undefined,
  checkMaxSeconds: 60,
  log: () => {},
};

export interface RealClusterResult {
  records: HistoryRecord[];
  outcome: CheckOutcome;
  faults: Record<string, number>;
  counts: { ok: number; fail: number; info: number };
}

/**
 * The shared workload's mix for this run (the simulator draws its own per seed): registers read,
 * synced and written, CAS, creates and deletes, sequential children, multis, ephemerals read by
 * other clients.
 */
const realMix: WorkloadMix = {
  read: 20,
  syncRead: 15,
  write: 20,
  cas: 15,
  create: 10,
  delete: 5,
  sequential: 7,
  children: 4,
  multi: 2,
  readEphemeral: 2,
  ephemeral: 2,
};

/** The shared workload's draws from a seeded stream. */
function seeded(seed: string): WorkloadRandom {
  const next = seedrandom(seed);
  return {
    float: () => next(),
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    chance: (p) => next() < p,
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `promise`, or a rejection after `ms` (the promise is left to settle on its own). */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

class Client {
  private zk: ZkClient | undefined;
  private readonly planner: WorkloadClient;

  constructor(
    private readonly process: number,
    private readonly ensemble: ProcessEnsemble,
    private readonly history: HistoryRecorder,
    private readonly random: WorkloadRandom,
    private readonly options: RealClusterOptions,
  ) {
    this.planner = new WorkloadClient(process, random, {
      keys: options.keys,
      clients: options.clients,
      mix: realMix,
    });
  }

  private session(): string {
    return this.zk === undefined ? "0x0" : hex(this.zk.sessionId);
  }

  /** Runs ops until `stop()` says so; each op is invoked, then completed ok / fail / info. */
  async run(stop: () => boolean): Promise<void> {
    while (!stop()) {
      if (this.zk === undefined && !(await this.connect())) {
        await sleep(100);
        continue;
      }
      await this.step(this.planner.next());
    }
    if (this.zk !== undefined) await this.step(this.planner.plan("closeSession"));
    this.hangUp();
  }

  private async connect(): Promise<boolean> {
    const port =
      this.ensemble.clientPorts[this.random.int(0, this.ensemble.clientPorts.length - 1)]!;
    try {
      // A fresh session per connection: an abandoned one expires on the servers, taking its
      // ephemerals.
      const zk = await ZkClient.connect("127.0.0.1", port, {
        timeoutMs: 4_000,
        handshakeTimeoutMs: this.options.opTimeoutMs,
      });
      // Watches belong to this session only (a new connection is a new session), so nothing to
      // re-register.
      zk.onWatchEvent = (event) => {
        if (this.zk !== zk) return;
        this.history.add({
          type: "event",
          process: this.process,
          session: hex(zk.sessionId),
          op: "watch",
          path: event.path,
          result: { event: eventTypeName(event.type) },
        });
      };
      this.zk = zk;
      return true;
    } catch {
      this.zk = undefined;
      return false;
    }
  }

  /** Connects if needed (retrying until `giveUp`), then runs one op; undefined if indeterminate. */
  async once(planned: PlannedOp, giveUp: () => boolean): Promise<Reply | undefined> {
    while (this.zk === undefined && !(await this.connect())) {
      if (giveUp()) return undefined;
      await sleep(100);
    }
    return this.step(planned);
  }

  hangUp(): void {
    this.zk?.abort();
    this.zk = undefined;
  }

  private async step(planned: PlannedOp): Promise<Reply | undefined> {
    const zk = this.zk!;
    const base = { process: this.process, session: this.session(), ...planned.record };
    this.history.add({ type: "invoke", ...base });
    // The completion is recorded when its reply frame is read (not when a promise continuation
    // runs), so that it keeps its place among the watch events of the same connection.
    let outcome: Reply | undefined;
    let settled = false;
    let wake: () => void = () => {};
    const done = new Promise<void>((resolve) => (wake = resolve));
    const complete = (reply: Reply) => {
      if (settled) return;
      settled = true;
      outcome = reply;
      this.record(planned, base, reply);
      wake();
    };
    const giveUp = (reason: string) => {
      if (settled) return;
      settled = true;
      this.history.add({ type: "info", ...base, result: { reason } });
      zk.abort();
      this.zk = undefined;
      wake();
    };
    const timer = setTimeout(() => giveUp("timed out"), this.options.opTimeoutMs);
    const lost = (error: unknown) => giveUp(error instanceof Error ? error.message : String(error));
    if (planned.syncFirst) {
      zk.request({ op: "sync", path: planned.record.path ?? "/" }).then((synced) => {
        if (synced.err !== Err.OK) complete(synced);
        else if (!settled) zk.request(planned.request, complete).catch(lost);
      }, lost);
    } else {
      zk.request(planned.request, complete).catch(lost);
    }
    await done;
    clearTimeout(timer);
    if (outcome === undefined) return undefined;
    if (
      (planned.request.op === "closeSession" && outcome.err === Err.OK) ||
      outcome.err === Err.SESSIONEXPIRED ||
      outcome.err === Err.SESSIONMOVED
    ) {
      zk.abort();
      this.zk = undefined;
    }
    return outcome;
  }

  private record(
    planned: PlannedOp,
    base: Omit<HistoryRecord, "type" | "index" | "time">,
    reply: Reply,
  ): void {
    this.planner.learn(planned, reply);
    this.history.add({ ...base, zxid: reply.zxid, ...completionOf(reply) });
  }
}

/** Kills -9 or pauses one server at a time, never more than a minority at once. */
async function nemesis(
  ensemble: ProcessEnsemble,
  random: () => number,
  options: RealClusterOptions,
  until: number,
  faults: Record<string, number>,
  aborted: () => boolean,
): Promise<void> {
  const count = (name: string) => (faults[name] = (faults[name] ?? 0) + 1);
  while (performance.now() < until && !aborted()) {
    await sleep(options.faultEveryMs * (0.5 + random()));
    if (performance.now() >= until || aborted()) break;
    const victim = Math.floor(random() * ensemble.clientPorts.length);
    const lastsMs = 500 + random() * options.faultEveryMs;
    if (random() < 0.5) {
      options.log(`nemesis: kill -9 server ${victim + 1} for ${lastsMs.toFixed(0)} ms`);
      count("kill");
      ensemble.kill9(victim);
      await sleep(lastsMs);
      ensemble.start(victim);
    } else {
      options.log(`nemesis: pause (SIGSTOP) server ${victim + 1} for ${lastsMs.toFixed(0)} ms`);
      count("pause");
      ensemble.processes[victim]?.kill("SIGSTOP");
      await sleep(lastsMs);
      ensemble.processes[victim]?.kill("SIGCONT");
    }
  }
}

/**
 * Waits until the ensemble has elected a leader and serves writes' ordering (a sync goes through).
 */
async function awaitLeader(ensemble: ProcessEnsemble, deadlineMs: number, aborted: () => boolean) {
  for (;;) {
    let zk: ZkClient | undefined;
    try {
      const port = ensemble.clientPorts[0]!;
      zk = await ZkClient.connect("127.0.0.1", port, { handshakeTimeoutMs: 2_000 });
      // A server that took the session may still sit on the sync (its leader just went away).
      const reply = await within(zk.request({ op: "sync", path: "/" }), 2_000, "sync");
      if (reply.err === Err.OK) return;
    } catch {
      // not up yet
    } finally {
      zk?.abort();
    }
    if (performance.now() > deadlineMs || aborted()) {
      throw new Error("the ensemble did not come up");
    }
    await sleep(200);
  }
}

export async function runRealCluster(
  options: RealClusterOptions = realClusterDefaults,
): Promise<RealClusterResult> {
  const ensemble = await startProcessEnsemble(3);
  let aborted = false;
  let timer: NodeJS.Timeout | undefined;
  const boundS = options.runMaxSeconds ?? options.faultSeconds + 240;
  const overtime = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      aborted = true; // clients and the nemesis see it and stop
      reject(new Error(`the real-cluster run did not finish within ${boundS} s`));
    }, boundS * 1000);
  });
  const run = runAgainst(ensemble, options, () => aborted);
  run.catch(() => {}); // after an overtime its own failure no longer matters
  try {
    return await Promise.race([run, overtime]);
  } finally {
    aborted = true;
    clearTimeout(timer);
    await ensemble.stop();
  }
}

async function runAgainst(
  ensemble: ProcessEnsemble,
  options: RealClusterOptions,
  aborted: () => boolean,
): Promise<RealClusterResult> {
  const faults: Record<string, number> = {};
  await awaitLeader(ensemble, performance.now() + 60_000, aborted);
  const started = performance.now();
  const history = new HistoryRecorder(() => Math.round((performance.now() - started) * 1000));
  const random = seedrandom(String(options.seed));
  // /q (the parent of the sequential nodes) is created by a recorded op: the checker assumes the
  // history starts from a fresh tree.
  const setup = new Client(0, ensemble, history, seeded(`${options.seed}-setup`), options);
  const createQueue: PlannedOp = {
    kind: "create",
    request: {
      op: "create",
      path: "/q",
      data: new Uint8Array(),
      acl: openAclUnsafe,
      flags: CreateMode.PERSISTENT,
      ttl: -1,
    },
    syncFirst: false,
    record: { op: "create", path: "/q", args: { data: "" } },
  };
  const setupDeadline = performance.now() + 60_000;
  for (;;) {
    const late = () => aborted() || performance.now() > setupDeadline;
    const reply = await setup.once(createQueue, late);
    if (reply?.err === Err.OK || reply?.err === Err.NODEEXISTS) break;
    if (late()) throw new Error("could not create /q within 60 s");
  }
  setup.hangUp();
  const faultsUntil = performance.now() + options.faultSeconds * 1000;
  let stopped = false;
  const clients = Array.from(
    { length: options.clients },
    (_, i) =>
      new Client(i + 1, ensemble, history, seeded(`${options.seed}-client-${i + 1}`), options),
  );
  const running = clients.map((c) => c.run(() => stopped || aborted()));
  await nemesis(ensemble, random, options, faultsUntil, faults, aborted);
  // Healed: every server runs; clients go on a little so that the run ends on a working cluster.
  options.log("nemesis: healed");
  await sleep(3_000);
  stopped = true;
  // Each client ends within one op and one connect attempt, both bounded by opTimeoutMs.
  await Promise.all(running);
  if (aborted()) throw new Error("aborted");
  const { ok, fail, info } = history.counts;
  const counts = { ok, fail, info };
  const records = recordsFromJson(history.records);
  const timeLimitMs = options.checkMaxSeconds * 1000;
  const outcome = checkHistory(records, { stepsMax: 2_000_000, timeLimitMs });
  return { records, outcome, faults, counts };
}

/** Writes history.jsonl, verdict.txt and index.html into `dir`. */
export function writeRealClusterReport(dir: string, result: RealClusterResult): void {
  mkdirSync(dir, { recursive: true });
  const verdictText = textVerdict(result.outcome.verdict, result.outcome.ops);
  writeFileSync(join(dir, "history.jsonl"), serializeHistory(result.records));
  writeFileSync(join(dir, "verdict.txt"), verdictText);
  writeFileSync(
    join(dir, "index.html"),
    renderHtml(visualizationData(result.outcome), verdictText),
  );
}

async function main(argv: readonly string[]): Promise<number> {
  const options = { ...realClusterDefaults, log: (line: string) => console.log(line) };
  let out: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = Number(argv[i + 1]);
    if (flag === "--out") out = argv[++i];
    else if (flag === "--seconds" && value > 0) (options.faultSeconds = value), i++;
    else if (flag === "--seed" && Number.isInteger(value)) (options.seed = value), i++;
    else if (flag === "--clients" && value > 0) (options.clients = value), i++;
    else if (flag === "--keys" && value > 0) (options.keys = value), i++;
    else {
      console.error(
        `unknown or bad option ${flag}\n` +
          "usage: npm run jepsen -- [--seconds S] [--seed N] [--clients N] [--keys N] [--out DIR]",
      );
      return 2;
    }
  }
  const result = await runRealCluster(options);
  console.log(
    `ops: ${result.counts.ok} ok, ${result.counts.fail} failed, ` +
      `${result.counts.info} indeterminate; faults: ${JSON.stringify(result.faults)}`,
  );
  console.log(textVerdict(result.outcome.verdict, result.outcome.ops));
  if (out !== undefined) {
    writeRealClusterReport(out, result);
    console.log(`report: ${join(out, "index.html")}`);
  }
  return result.outcome.verdict.valid === true ? 0 : result.outcome.verdict.valid === false ? 1 : 2;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
