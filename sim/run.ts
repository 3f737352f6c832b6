// One simulation run: draw this seed's swarm options, run a safety phase with faults, heal, run a
// liveness phase that must converge, and check invariants throughout and the history at the end.

import { InvariantViolation } from "../core/assert.ts";
import type { CheckOutcome } from "../jepsen-like/check.ts";
import { checkHistory } from "../jepsen-like/check.ts";
import { textVerdict } from "../jepsen-like/report/text.ts";
import type { NodeId, ProtocolPolicy, ReplicaConfig } from "../core/replica/index.ts";
import { replicaConfig, zabPolicy } from "../core/replica/index.ts";
import { hex } from "../core/types.ts";
import type { DiskFaults } from "./disk.ts";
import { HistoryRecorder } from "../jepsen-like/recorder.ts";
import type { Fault, NemesisOptions } from "./nemesis.ts";
import type { FaultSpan } from "../jepsen-like/report/visualization.ts";
import { Nemesis } from "./nemesis.ts";
import type { NetworkOptions } from "./network.ts";
import { Rng } from "./rng.ts";
import { Trace } from "./trace.ts";
import type { OpKind, WorkloadOptions } from "./workload.ts";
import { SimClient } from "./workload.ts";
import { World } from "./world.ts";
import type { SimNode } from "./world.ts";
import type { StepFunction } from "../core/replica/index.ts";
import type { LockRules } from "../core/recipes/lock.ts";
import type { RecipeKind, RecipeRecord, RecipeVerdict } from "../jepsen-like/recipes.ts";
import type { RecipeWorkload } from "./recipe-workload.ts";
import { recipeWorkload } from "./recipe-workload.ts";

export interface SimOptions {
  seed: number;
  nodes: number;
  tickMs: number;
  safetyMs: number;
  livenessMs: number;
  network: NetworkOptions;
  disk: DiskFaults;
  nemesis: NemesisOptions;
  workload: WorkloadOptions;
  /** A recipe workload instead of the register workload (absent: the register workload). */
  recipe?: RecipeKind;
}

/**
 * `recipes`: each seed draws one of the three (seed mod 3), so a sweep covers them all. `dense`:
 * the register workload with many pipelined clients, queues, locks and multis that fail part way.
 */
export type WorkloadChoice = "ops" | "dense" | RecipeKind | "recipes";
export const recipeKinds: readonly RecipeKind[] = ["lock", "election", "queue"];

export interface SimOverrides {
  nodes?: number;
  safetyMs?: number;
  clients?: number;
  faults?: boolean;
  workload?: WorkloadChoice;
  /** Every fault kind on in every seed (the swarm otherwise turns each on by chance). */
  allFaults?: boolean;
}

/** Every rate of this seed, drawn from its own stream (VOPR-style swarm testing). */
export function swarmOptions(seed: number, overrides: SimOverrides = {}): SimOptions {
  const rng = new Rng(`swarm-${seed}`);
  const faults = overrides.faults ?? true;
  const all = overrides.allFaults === true;
  // The draw is made either way, so that --all-faults leaves every other rate as it was.
  const maybe = (p: number, meanMs: number) =>
    faults && (rng.chance(p) || all) ? meanMs : Infinity;
  const mix: Partial<Record<OpKind, number>> = {
    read: rng.int(1, 10),
    syncRead: rng.int(0, 5),
    write: rng.int(1, 10),
    cas: rng.int(0, 6),
    create: rng.int(1, 4),
    delete: rng.int(0, 3),
    ephemeral: rng.int(0, 3),
    sequential: rng.int(0, 3),
    multi: rng.int(0, 3),
    children: rng.int(0, 2),
    closeSession: rng.int(0, 1),
  };
  // The harsher disk's rates come from a stream of their own: every earlier rate stays as it was.
  const harsh = new Rng(`swarm-${seed}/harsh`);
  const windowCrashEveryMs =
    faults && (harsh.chance(0.35) || all) ? harsh.int(2_000, 15_000) : Infinity;
  const diskStallEveryMs =
    faults && (harsh.chance(0.35) || all) ? harsh.int(3_000, 15_000) : Infinity;
  const damage = {
    bitFlipChance: harsh.float(),
    misdirectedWriteChance: harsh.float() * 0.5,
    outOfOrderFlushChance: harsh.float(),
  };
  const choice = overrides.workload ?? "ops";
  const recipe =
    choice === "recipes"
      ? recipeKinds[seed % 3]
      : choice === "ops" || choice === "dense"
        ? undefined
        : choice;
  const options: SimOptions = {
    ...(recipe === undefined ? {} : { recipe }),
    seed,
    nodes: overrides.nodes ?? rng.pick([3, 3, 5, 5, 7]),
    tickMs: rng.pick([100, 500, 2000]),
    safetyMs: overrides.safetyMs ?? 60_000,
    livenessMs: 0, // derived from the replica config when the run starts (livenessBoundMs)
    network: {
      latencyMeanMs: rng.int(1, 20),
      slowMessageChance: rng.float() * 0.05,
      reconnectDelayMs: rng.int(10, 500),
    },
    disk: {
      fsyncMeanMs: rng.pick([1, 2, 5, 10, 30]),
      slowFsyncChance: rng.float() * 0.05,
      partialFlushChance: rng.float(),
      tornWriteChance: rng.float(),
      ...damage,
    },
    nemesis: {
      crashEveryMs: maybe(0.8, rng.int(2_000, 15_000)),
      powerLossEveryMs: maybe(0.5, rng.int(5_000, 30_000)),
      partitionEveryMs: maybe(0.8, rng.int(2_000, 15_000)),
      clogEveryMs: maybe(0.5, rng.int(2_000, 20_000)),
      clockEveryMs: maybe(0.5, rng.int(2_000, 20_000)),
      windowCrashEveryMs,
      diskStallEveryMs,
      faultMeanMs: rng.int(500, 8_000),
      maxClockJumpMs: rng.int(0, 5_000),
      maxDrift: rng.float() * 0.02,
    },
    workload: {
      clients: overrides.clients ?? rng.int(2, 10),
      keys: rng.int(1, 6),
      thinkMeanMs: rng.int(5, 200),
      opTimeoutMs: rng.int(1_000, 5_000),
      sessionTimeoutMs: rng.pick([2_000, 4_000, 10_000]),
      mix,
    },
  };
  return choice === "dense" ? denseOptions(options, overrides) : options;
}

/**
 * The dense workload's draws, from a stream of their own so that every other rate of the seed is
 * the thin workload's. Its cost is bounded: registers scale with the requests in flight, only a few
 * clients use the queue and the multis' nodes, and the safety phase is shorter.
 */
function denseOptions(thin: SimOptions, overrides: SimOverrides): SimOptions {
  const rng = new Rng(`swarm-${thin.seed}/dense`);
  const watches = watchDraws(thin.seed);
  const mix: Partial<Record<OpKind, number>> = {
    read: rng.int(1, 10),
    syncRead: rng.int(0, 5),
    write: rng.int(1, 10),
    cas: rng.int(0, 6),
    create: rng.int(1, 4),
    delete: rng.int(0, 3),
    ephemeral: rng.int(0, 3),
    sequential: rng.int(0, 4),
    multi: rng.int(0, 4),
    children: rng.int(0, 2),
    closeSession: rng.int(0, 1),
    readEphemeral: rng.int(0, 3),
    dequeue: rng.int(0, 4),
    lock: rng.int(0, 3),
    unlock: rng.int(0, 3),
    readMulti: rng.int(0, 4),
    ...watches.mix,
  };
  const clients = overrides.clients ?? rng.pick(denseClients);
  const pipeline = rng.int(3, 8);
  // Registers scale with the requests in flight: each register is one partition for the checker,
  // whose search grows with the ops in flight on it at once (a few, not tens).
  const keys = Math.max(rng.int(1, 6), Math.ceil((clients * pipeline) / registerLoadMax));
  return {
    ...thin,
    safetyMs: overrides.safetyMs ?? denseSafetyMs,
    // Slower fsyncs on average: wider windows between an ACK and its fsync.
    disk: { ...thin.disk, fsyncMeanMs: rng.pick([2, 5, 10, 30, 50]) },
    workload: {
      ...thin.workload,
      clients,
      keys,
      thinkMeanMs: rng.pick([1, 2, 5, 10, 20]),
      dense: true,
      sharedClients: denseSharedClients,
      // The lock's contenders' ops and their ephemerals are one partition: two keep it small.
      lockContenders: 2,
      pipeline,
      watchClients: denseWatchClients,
      ttlMs: watches.ttlMs,
      pauseChance: rng.chance(0.5) ? rng.float() * 0.002 : 0,
      moveChance: rng.float() * 0.003,
      mix,
    },
  };
}

/**
 * The weights of persistent watches, the watched tree's writes, containers and TTL nodes, from a
 * stream of their own (the dense draws before them stay as they were).
 */
function watchDraws(seed: number): { mix: Partial<Record<OpKind, number>>; ttlMs: number } {
  const rng = new Rng(`swarm-${seed}/watches`);
  const mix = {
    addWatch: rng.int(1, 3),
    treeWrite: rng.int(2, 8),
    container: rng.int(1, 2),
    reapedChild: rng.int(1, 4),
    ttl: rng.int(1, 2),
    touchTtl: rng.int(1, 3),
  };
  return { mix, ttlMs: rng.pick(denseTtlsMs) };
}

/** Dense clients that add persistent watches (each write in the watched tree reaches them all). */
const denseWatchClients = 8;
/** TTLs of the TTL nodes: a few ticks to a few seconds, touched or not in time by the mix. */
const denseTtlsMs = [200, 1_000, 3_000];

/**
 * Requests in flight per register, on average, at most. At 8, a register with a few timed-out
 * writes took the search hundreds of thousands of steps; at 4, thousands.
 */
const registerLoadMax = 4;
/** Dense clients that use the queue and the multis' nodes (their partitions stay small). */
const denseSharedClients = 3;
/**
 * Clients per dense seed, each with 3-8 requests in flight and think times of 1-20 ms: through
 * the faults (a cluster without a leader serves nothing), seeds 1-100 average about 215 client
 * ops per simulated second.
 */
const denseClients = [20, 30, 40, 50, 50, 50];
/** The dense workload's safety phase: a few hundred ops per simulated second fill it quickly. */
const denseSafetyMs = 20_000;

/**
 * Elections a healed cluster may need before one leader syncs a quorum: the first can be cut short
 * by a server still holding on to its old role, the second by a vote that changed meanwhile;
 * a third is margin.
 */
export const livenessElectionAttempts = 3;
/** For what no timer paces: message latency, fsyncs, syncing a tree (virtual ms). */
export const livenessMarginMs = 5_000;

/**
 * How long a healed cluster may take to converge (a serving leader, every server at its zxid and
 * digest, no client op pending), from the timers of the core (core/replica/) and the workload:
 * - Giving up a stale role: a follower leaves a leader it has not heard from for syncLimit ticks
 *   (initLimit while it is still syncing, follower.ts), a leader steps down after syncLimit ticks
 *   without a quorum (initLimit before a quorum synced, step.ts); ticks are only noticed on the
 *   next one: (max(initLimit, syncLimit) + 1) ticks.
 * - Each election attempt: looking servers re-announce their votes every tick (election.ts), so a
 *   quorum agrees within two ticks of the peer links coming back (reconnectDelayMs), then the
 *   winner waits electionFinalizeMs; its quorum then has initLimit ticks (+1) to sync, or it gives
 *   up and the servers look again. livenessElectionAttempts of those.
 * - Clients invoke nothing after healing: a pending op ends with its reply or at opTimeoutMs.
 *   The leader expires sessions that no longer reach it within their negotiated timeout, and the
 *   closeSession txns must reach every server: whichever of the two is longer, plus a tick.
 * (It replaces a flat 30 s + 60 ticks, which at tickTime 100 allowed twice what the timers need.)
 */
export function livenessBoundMs(config: ReplicaConfig, options: SimOptions): number {
  const tickMs = config.tickMs;
  const giveUpMs = (Math.max(config.initLimit, config.syncLimit) + 1) * tickMs;
  const electionMs = 2 * tickMs + options.network.reconnectDelayMs + config.electionFinalizeMs;
  const attemptMs = electionMs + (config.initLimit + 1) * tickMs;
  const { minSessionTimeoutMs, maxSessionTimeoutMs } = config;
  const sessionMs = Math.min(
    maxSessionTimeoutMs,
    Math.max(minSessionTimeoutMs, options.workload.sessionTimeoutMs),
  );
  const clientsMs = Math.max(options.workload.opTimeoutMs, sessionMs) + tickMs;
  return giveUpMs + livenessElectionAttempts * attemptMs + clientsMs + livenessMarginMs;
}

/** What the bound was derived from, for a liveness failure's message. */
function livenessBasis(config: ReplicaConfig, options: SimOptions): string {
  const { tickMs, initLimit, syncLimit } = config;
  const { opTimeoutMs, sessionTimeoutMs } = options.workload;
  return (
    `tickTime ${tickMs} ms, initLimit ${initLimit}, syncLimit ${syncLimit}, ` +
    `${livenessElectionAttempts} election attempts, op timeout ${opTimeoutMs} ms, ` +
    `session timeout ${sessionTimeoutMs} ms`
  );
}

export interface Liveness {
  boundMs: number;
  /** What the bound was derived from. */
  basis: string;
  /** Undefined: the cluster did not converge within the bound. */
  convergedAfterMs: number | undefined;
}

export interface SimResult {
  seed: number;
  ok: boolean;
  failure: string | undefined;
  virtualMs: number;
  events: number;
  traceHash: string;
  traceLines: number;
  history: HistoryRecorder;
  faults: Record<string, number>;
  leaderChanges: number;
  messages: number;
  tornRecords: number;
  /** Session expiries held to the timeout bound (sim/session-checker.ts). */
  expiriesChecked: number;
  /** The history checker's outcome (linearizability and ZooKeeper's guarantees). */
  check: CheckOutcome;
  /** A recipe workload's verdict and how many replies its clients got (undefined: none ran). */
  recipe: (RecipeVerdict & { ops: number; records: readonly RecipeRecord[] }) | undefined;
  /** The liveness phase: its bound, and how long convergence took. */
  liveness: Liveness;
  /** Every fault injected, in time order: replayable (runSimulation's `faults`). */
  schedule: Fault[];
  /** What the faults did, when (servers down, disk damage, network, clocks), for the report. */
  faultSpans: FaultSpan[];
}

/**
 * Search steps per partition: deterministic (no wall clock), so a seed's verdict never depends on
 * the machine. A partition that runs out is "unknown", reported but not a failure.
 */
export const checkStepsMax = 2_000_000;

/**
 * Runs one seed; `traceSink` gets every trace line, or is "untraced" for a run that needs no trace
 * hash (a sweep's: then traceHash is ""); `policy` and `step` replace the protocol's rules only in
 * tests of the simulator's teeth; `faults` replays that schedule instead of drawing one (a
 * scenario file's).
 */
export function runSimulation(
  options: SimOptions,
  traceSink?: ((line: string) => void) | "untraced",
  policy: ProtocolPolicy = zabPolicy,
  step?: StepFunction,
  faults?: readonly Fault[],
  lockRules?: LockRules,
): SimResult {
  const rng = new Rng(`run-${options.seed}`);
  const trace = traceSink === "untraced" ? new Trace(undefined, false) : new Trace(traceSink, true);
  const ids: NodeId[] = Array.from({ length: options.nodes }, (_, i) => i + 1);
  const configs = ids.map((id) =>
    replicaConfig({
      id,
      peers: ids,
      tickMs: options.tickMs,
      snapshotEveryTxns: 500,
      commitLogKeep: 200,
      policy,
      // TTL nodes need the extended types; only the dense workload creates them.
      ...(options.workload.dense === true ? { extendedTypesEnabled: true } : {}),
    }),
  );
  const world = new World(
    configs,
    rng.fork("world"),
    { network: options.network, disk: options.disk, clusterCheckEvery: 2000, step },
    trace,
  );
  const history = new HistoryRecorder(() => Math.round(world.nowMs * 1000));
  const recipe =
    options.recipe === undefined
      ? undefined
      : recipeWorkload(options.recipe, world, rng.fork("recipe"), options.workload, lockRules);
  const clients = Array.from(
    { length: recipe === undefined ? options.workload.clients : 0 },
    (_, i) => new SimClient(i + 1, world, rng.fork(`client-${i + 1}`), history, options.workload),
  );
  const nemesis = new Nemesis(world, rng.fork("nemesis"), options.nemesis, faults);
  let failure: string | undefined;
  let leaderChanges = 0;
  let healedAtMs = Infinity;
  const given = options.livenessMs > 0;
  const liveness: Liveness = {
    boundMs: given ? options.livenessMs : livenessBoundMs(configs[0]!, options),
    basis: given ? "as given" : livenessBasis(configs[0]!, options),
    convergedAfterMs: undefined,
  };
  try {
    for (const id of ids) world.start(id);
    for (const client of clients) client.start();
    recipe?.start();
    nemesis.start();
    leaderChanges = runPhase(world, options.safetyMs);
    healedAtMs = world.nowMs;
    nemesis.transitionToLiveness();
    for (const client of clients) client.stopped = true;
    if (recipe !== undefined) {
      recipe.heal();
      const settleMs = Math.round(recipe.settleMs());
      liveness.boundMs += settleMs;
      liveness.basis += `, ${settleMs} ms for the ${recipe.kind} workload to settle`;
    }
    failure = runLiveness(world, clients, liveness, recipe);
    world.checkCluster();
    world.stateChecker.checkAcknowledged();
  } catch (error) {
    if (!(error instanceof InvariantViolation)) throw error;
    failure = `invariant violated at ${world.nowMs.toFixed(0)} ms: ${error.message}`;
  }
  const tornRecords = [...world.nodes.values()].reduce((n, node) => n + node.disk.tornRecords, 0);
  const clockSlackMs = clockSlackOf(nemesis.schedule, options, world.nowMs);
  const check = checkHistory(history.records, { stepsMax: checkStepsMax, clockSlackMs });
  if (failure === undefined && check.verdict.valid === false)
    failure = `history check failed:\n${textVerdict(check.verdict, check.ops)}`;
  const recipeVerdict =
    recipe === undefined
      ? undefined
      : { ...recipe.check(), ops: recipe.ops(), records: recipe.records };
  failure = withRecipeFailure(failure, recipeVerdict);
  return {
    seed: options.seed,
    ok: failure === undefined,
    failure,
    virtualMs: world.nowMs,
    events: world.events,
    traceHash: trace.hash(),
    traceLines: trace.lines,
    history,
    faults: nemesis.counts,
    leaderChanges,
    messages: world.network.messagesSent,
    tornRecords,
    check,
    recipe: recipeVerdict,
    liveness,
    expiriesChecked: world.sessionChecker.expiriesChecked,
    schedule: nemesis.schedule,
    faultSpans: world.faultLog.all(Math.min(healedAtMs, world.nowMs), world.nowMs),
  };
}

/**
 * How far a server's clock may be off the simulated time the history is dated in: every jump so
 * far adds up, and a drift of up to maxDrift (set or lifted at once) moves a clock by up to
 * maxDrift of the time elapsed; rounding to whole ms adds one more.
 */
function clockSlackOf(schedule: readonly Fault[], options: SimOptions, endMs: number): number {
  let jumps = 0;
  let drifts = false;
  for (const fault of schedule) {
    if (fault.kind !== "clock") continue;
    if ("jumpMs" in fault) jumps += Math.abs(fault.jumpMs);
    else drifts = true;
  }
  // Two clocks, each off by as much the other way.
  const driftMs = drifts ? 2 * options.nemesis.maxDrift * endMs : 0;
  return 2 * jumps + driftMs + 2;
}

/**
 * A recipe checker's safety findings outrank a liveness failure (a lock handed to two clients can
 * also stall the rest); its liveness finding only repeats the runner's, so it comes last.
 */
function withRecipeFailure(
  failure: string | undefined,
  verdict: RecipeVerdict | undefined,
): string | undefined {
  if (verdict === undefined || verdict.violations.length === 0) return failure;
  const unsafe = verdict.violations.filter((v) => !v.startsWith("liveness"));
  const found = (list: string[]) =>
    `recipe check failed (${verdict.kind}):\n  ${list.join("\n  ")}`;
  if (unsafe.length > 0 && (failure === undefined || failure.startsWith("liveness")))
    return found(unsafe);
  return failure ?? found(verdict.violations);
}

/** Runs the world for `ms`, counting leader changes (sampled once per tick). */
function runPhase(world: World, ms: number): number {
  let changes = 0;
  let last: string | undefined;
  const end = world.nowMs + ms;
  while (world.nowMs < end) {
    world.runUntil(Math.min(end, world.nowMs + 100));
    const leader = servingLeader(world);
    const now = leader === undefined ? undefined : `${leader.id}@${leader.replica.status()!.epoch}`;
    if (now !== undefined && now !== last) {
      changes++;
      last = now;
    }
  }
  return changes;
}

/**
 * With faults healed, a majority must elect a leader, every server must catch up to the same state
 * and every client must finish its pending op, within livenessMs; else the run fails and says why.
 */
function runLiveness(
  world: World,
  clients: SimClient[],
  liveness: Liveness,
  recipe: RecipeWorkload | undefined,
): string | undefined {
  const budgetMs = liveness.boundMs;
  const healedAtMs = world.nowMs;
  const deadline = world.nowMs + budgetMs;
  const done = () => clients.every((c) => !c.busy) && (recipe?.satisfied() ?? true);
  while (world.nowMs < deadline) {
    world.runUntil(world.nowMs + 500);
    if (converged(world) && done()) {
      liveness.convergedAfterMs = world.nowMs - healedAtMs;
      return undefined;
    }
  }
  const busy = clients.filter((c) => c.busy).map((c) => `client ${c.process} ${c.waitingFor()}`);
  const recipes = recipe === undefined || recipe.satisfied() ? [] : recipe.waiting();
  const waiting = [...explainServers(world), ...busy, ...recipes].join("; ");
  const within = `within ${budgetMs} ms after healing (from ${liveness.basis})`;
  return `liveness: no convergence ${within}: ${waiting || "nothing pending"}`;
}

/** Who is waiting for what, server by server: the first thing to read when liveness fails. */
function explainServers(world: World): string[] {
  const leader = servingLeader(world)?.replica.inspect();
  return [...world.nodes.values()].map((n) => {
    const view = n.replica.inspect();
    if (view === undefined) return `${n.id} down`;
    const { role, phase, epoch, leader: following } = view.status;
    const zxids = `applied ${hex(view.appliedZxid)}, logged ${hex(view.loggedZxid)}`;
    if (role === "looking") return `${n.id} looking (no leader elected), ${zxids}`;
    if (role === "leading") {
      const learners = view.learners.map((l) => `${l.id}:${l.phase}`).join(" ") || "none";
      const what =
        phase === "broadcast" ? "serving" : `in ${phase}, waiting for a quorum of learners`;
      return `${n.id} leads epoch ${epoch} ${what} (learners ${learners}), ${zxids}`;
    }
    const behind =
      leader !== undefined && view.appliedZxid < leader.appliedZxid ? ", behind the leader" : "";
    return `${n.id} follows ${following} in ${phase} (epoch ${epoch})${behind}, ${zxids}`;
  });
}

function converged(world: World): boolean {
  const leader = servingLeader(world)?.replica.inspect();
  if (leader === undefined) return false;
  const digest = leader.tree.digest();
  return [...world.nodes.values()].every((n) => {
    const view = n.replica.inspect();
    return (
      view !== undefined &&
      view.status.role !== "looking" &&
      view.appliedZxid === leader.appliedZxid &&
      view.tree.digest() === digest
    );
  });
}

/** The leader that finished synchronizing a quorum, if any. */
function servingLeader(world: World): SimNode | undefined {
  return [...world.nodes.values()].find((n) => {
    const status = n.replica.status();
    return status?.role === "leading" && status.phase === "broadcast";
  });
}
