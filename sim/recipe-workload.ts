// The recipe workloads: model clients running the lock, election and queue recipes' machines
// (core/recipes/) against the simulated ensemble, and a guarded resource outside the ensemble
// that checks fencing tokens. Everything they see is recorded for jepsen-like/recipes.ts.
//
// lock:     contenders take the lock, use the resource a few times with their token, release it.
// election: candidates join; a leader gives orders to the resource with its term, then resigns
//           (leadership ends on a connection loss, as a leader latch's does).
// queue:    clients put unique items and take them; after healing they only take, until a
//           linearizable listing finds the queue empty with every put settled.

import { fromUtf8, utf8 } from "../core/bytes.ts";
import type { LockNotice, LockRules, RecipeStep } from "../core/recipes/lock.ts";
import { LockMachine, lockRules } from "../core/recipes/lock.ts";
import type { QueueNotice } from "../core/recipes/queue.ts";
import { QueueMachine } from "../core/recipes/queue.ts";
import type { Reply } from "../core/requests.ts";
import { hex } from "../core/types.ts";
import type { RecipeKind, RecipeRecord, RecipeVerdict } from "../jepsen-like/recipes.ts";
import { checkRecipe } from "../jepsen-like/recipes.ts";
import { RecipeSession } from "./recipe-client.ts";
import type { SessionActor } from "./recipe-client.ts";
import type { Rng } from "./rng.ts";
import type { WorkloadOptions } from "./workload.ts";
import type { World } from "./world.ts";

/** A service outside the ensemble that refuses any token below the highest it has accepted. */
export class FencedResource {
  private highest = -1n;

  constructor(private readonly records: RecipeRecord[]) {}

  access(use: { process: number; session: string; token: bigint; sentAtMs: number }, atMs: number) {
    const accepted = use.token >= this.highest;
    if (accepted) this.highest = use.token;
    this.records.push({ type: "access", ...use, atMs, accepted });
    return accepted;
  }
}

interface Shared {
  world: World;
  records: RecipeRecord[];
  resource: FencedResource;
  options: WorkloadOptions;
  healed: boolean;
  drained: boolean;
}

/** One client of the lock or election workload. */
class HolderWorker implements SessionActor {
  private readonly session: RecipeSession;
  private readonly machine: LockMachine;
  private attempts = 0;
  private wantAcquire = true;
  private tenure: { token: bigint; session: string; usesLeft: number } | undefined;
  private suspended = false;
  private useInFlight = false;
  heldAfterHeal = false;
  ops = 0;

  constructor(
    readonly process: number,
    private readonly role: "lock" | "election",
    private readonly rng: Rng,
    private readonly shared: Shared,
    rules: LockRules,
  ) {
    this.session = new RecipeSession(process, shared.world, rng.fork("session"), shared.options);
    this.session.actor = this;
    const path = role === "lock" ? "/lock" : "/election";
    this.machine = new LockMachine({ path, data: utf8(`p${process}`), rules });
  }

  start(): void {
    this.session.start();
  }

  describe(): string {
    return `process ${this.process} ${this.machine.phase} (${this.session.describe()})`;
  }

  connected(): void {
    this.apply(this.machine.connected());
    this.tryAcquire();
  }

  disconnected(): void {
    this.apply(this.machine.disconnected());
  }

  expired(session: string): void {
    const atMs = this.shared.world.nowMs;
    this.shared.records.push({ type: "learnedExpired", atMs, process: this.process, session });
    this.apply(this.machine.expired());
  }

  reply(tag: number, reply: Reply): void {
    this.ops++;
    this.apply(this.machine.reply(tag, reply));
  }

  watch(path: string): void {
    this.apply(this.machine.watch(path));
  }

  private apply(step: RecipeStep<LockNotice>): void {
    this.session.send(step.requests);
    for (const notice of step.notices) this.onNotice(notice);
  }

  private record(type: "acquired" | "unheld", why = ""): void {
    const { token, session } = this.tenure!;
    const base = { atMs: this.shared.world.nowMs, process: this.process, session, token };
    // Liveness counts what the checker will count: an acquisition recorded after healing.
    if (type === "acquired" && this.shared.healed) this.heldAfterHeal = true;
    this.shared.records.push(type === "acquired" ? { type, ...base } : { type, ...base, why });
  }

  private onNotice(notice: LockNotice): void {
    switch (notice.type) {
      case "acquired": {
        this.suspended = false;
        if (!notice.again) {
          const usesLeft = this.rng.int(1, 4);
          this.tenure = { token: notice.token, session: this.session.sessionHex, usesLeft };
          this.record("acquired");
        } else if (this.role === "election") this.record("acquired"); // leads again, same term
        return this.nextUse();
      }
      case "suspended":
        this.suspended = true;
        // A leader latch gives leadership up on a connection loss; a mutex holder only pauses.
        if (this.role === "election") this.record("unheld", "suspended");
        return;
      case "lost":
        if (this.tenure !== undefined) this.record("unheld", `lost (${notice.why})`);
        this.tenure = undefined;
        return this.later();
      case "failed":
      case "released":
        return this.later();
    }
  }

  /** Uses the resource with the token, one use at a time; releases after the last one. */
  private nextUse(): void {
    const tenure = this.tenure;
    if (tenure === undefined || this.suspended || this.useInFlight) return;
    if (tenure.usesLeft === 0) {
      if (this.machine.phase !== "holding" || !this.session.connected) return;
      this.record("unheld", this.role === "lock" ? "released" : "resigned");
      this.tenure = undefined;
      return this.apply(this.machine.release());
    }
    this.useInFlight = true;
    const world = this.shared.world;
    const use = { process: this.process, session: tenure.session, token: tenure.token };
    const sent = { ...use, sentAtMs: world.nowMs };
    // Now and then the holder stalls between deciding and using (a long pause, a slow link):
    // exactly what fencing tokens are for.
    const stall = this.rng.chance(0.03)
      ? this.rng.float() * 2 * this.shared.options.sessionTimeoutMs
      : 0;
    world.at(this.rng.exponential(3) + stall, () => {
      this.shared.resource.access(sent, world.nowMs);
      world.at(
        this.rng.exponential(3) + this.rng.exponential(this.shared.options.thinkMeanMs / 4),
        () => {
          this.useInFlight = false;
          if (this.tenure === tenure) tenure.usesLeft--;
          this.nextUse();
        },
      );
    });
  }

  private later(): void {
    this.wantAcquire = true;
    this.shared.world.at(this.rng.exponential(this.shared.options.thinkMeanMs), () =>
      this.tryAcquire(),
    );
  }

  private tryAcquire(): void {
    if (!this.wantAcquire || !this.session.connected || this.machine.phase !== "idle") return;
    if (this.machine.holding) return; // a planted zombie still thinks it holds
    this.wantAcquire = false;
    this.apply(this.machine.acquire(`p${this.process}a${++this.attempts}`));
  }
}

/** One client of the queue workload: a producer before healing, a consumer throughout. */
class QueueWorker implements SessionActor {
  private readonly session: RecipeSession;
  private readonly machine = new QueueMachine("/queue");
  private puts = 0;
  private current: { op: "put"; item: string } | { op: "take"; linearizable: boolean } | undefined;
  ops = 0;

  constructor(
    readonly process: number,
    private readonly rng: Rng,
    private readonly shared: Shared,
    private readonly workers: () => readonly QueueWorker[],
  ) {
    this.session = new RecipeSession(process, shared.world, rng.fork("session"), shared.options);
    this.session.actor = this;
  }

  get putting(): boolean {
    return this.current?.op === "put";
  }

  get idle(): boolean {
    return this.current === undefined;
  }

  start(): void {
    this.session.start();
  }

  describe(): string {
    return `process ${this.process} ${this.machine.phase} (${this.session.describe()})`;
  }

  connected(): void {
    this.apply(this.machine.connected());
    this.schedule();
  }

  disconnected(): void {
    this.apply(this.machine.disconnected());
  }

  expired(): void {
    this.apply(this.machine.disconnected());
  }

  reply(tag: number, reply: Reply): void {
    this.ops++;
    this.apply(this.machine.reply(tag, reply));
  }

  watch(): void {}

  private schedule(): void {
    this.shared.world.at(this.rng.exponential(this.shared.options.thinkMeanMs), () => this.next());
  }

  private next(): void {
    if (this.current !== undefined || !this.session.connected || this.shared.drained) return;
    if (!this.shared.healed && this.rng.chance(0.5)) {
      const item = `p${this.process}-${++this.puts}`;
      this.current = { op: "put", item };
      return this.apply(this.machine.put(utf8(item)));
    }
    this.current = { op: "take", linearizable: this.shared.healed };
    this.apply(this.machine.take(this.shared.healed));
  }

  private apply(step: RecipeStep<QueueNotice>): void {
    this.session.send(step.requests);
    for (const notice of step.notices) this.onNotice(notice);
  }

  private onNotice(notice: QueueNotice): void {
    const current = this.current;
    this.current = undefined;
    const base = { atMs: this.shared.world.nowMs, process: this.process };
    const records = this.shared.records;
    if (current?.op === "put") {
      const outcome =
        notice.type === "put" ? "ok" : notice.type === "putAmbiguous" ? "info" : "fail";
      const node = notice.type === "put" ? { node: notice.node } : {};
      records.push({ type: "put", ...base, item: current.item, outcome, ...node });
    } else if (notice.type === "taken" || notice.type === "takeAmbiguous") {
      const item = notice.data === null ? "" : fromUtf8(notice.data);
      records.push({
        type: "take",
        ...base,
        item,
        outcome: notice.type === "taken" ? "ok" : "info",
        node: notice.node,
      });
    } else if (notice.type === "empty" && current?.op === "take" && current.linearizable) {
      // Drained only if no put is still out: a put in flight could yet add an item.
      if (this.workers().every((w) => !w.putting)) {
        this.shared.drained = true;
        records.push({ type: "drained", ...base });
      }
    }
    this.schedule();
  }
}

export interface RecipeWorkload {
  readonly kind: RecipeKind;
  readonly records: RecipeRecord[];
  start(): void;
  /** Faults stopped: from now on producers stop putting, and liveness is judged. */
  heal(): void;
  /** The liveness phase's goal is reached. */
  satisfied(): boolean;
  /**
   * What reaching it may take beyond the cluster's own convergence, judged at healing: every
   * holder in turn (a tenure is up to four uses and a pause, one use in 33 may stall up to twice
   * the session timeout) or every item left in the queue, with exponential tails thrice the mean.
   */
  settleMs(): number;
  /** Who waits for what, for a liveness failure's message. */
  waiting(): string[];
  /** Replies the clients received (the recipe ops of the run). */
  ops(): number;
  check(): RecipeVerdict;
}

export function recipeWorkload(
  kind: RecipeKind,
  world: World,
  rng: Rng,
  options: WorkloadOptions,
  rules: LockRules = lockRules,
): RecipeWorkload {
  const records: RecipeRecord[] = [];
  const shared: Shared = {
    world,
    records,
    resource: new FencedResource(records),
    options,
    healed: false,
    drained: false,
  };
  world.onSessionExpired = (id, atMs) => records.push({ type: "expired", atMs, session: hex(id) });
  const count = options.clients;
  const ids = Array.from({ length: count }, (_, i) => i + 1);
  const queueWorkers: QueueWorker[] = [];
  const workers =
    kind === "queue"
      ? ids.map((p) => new QueueWorker(p, rng.fork(`client-${p}`), shared, () => queueWorkers))
      : ids.map((p) => new HolderWorker(p, kind, rng.fork(`client-${p}`), shared, rules));
  if (kind === "queue") queueWorkers.push(...(workers as QueueWorker[]));
  return {
    kind,
    records,
    start: () => {
      for (const w of workers) w.start();
    },
    heal: () => {
      shared.healed = true;
      records.push({ type: "healed", atMs: world.nowMs });
    },
    // A drained queue's takes still in flight must settle first: they may have taken an item.
    satisfied: () =>
      kind === "queue"
        ? shared.drained && queueWorkers.every((w) => w.idle)
        : (workers as HolderWorker[]).every((w) => w.heldAfterHeal),
    settleMs: () => {
      const { thinkMeanMs, sessionTimeoutMs, opTimeoutMs } = options;
      const stallMs = 2 * sessionTimeoutMs;
      if (kind !== "queue") return stallMs + 3 * count * (4 * (6 + thinkMeanMs / 4) + thinkMeanMs);
      const items = records.filter((r) => r.type === "put").length;
      return stallMs + 3 * (items / count + 1) * (thinkMeanMs + opTimeoutMs);
    },
    waiting: () => workers.map((w) => w.describe()),
    ops: () => workers.reduce((n, w) => n + w.ops, 0),
    check: () => checkRecipe(kind, records, count),
  };
}
