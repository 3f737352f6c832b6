// The nemesis: injects the faults of the written model (network.ts, disk.ts, clocks) during the
// safety phase. Each fault kind has its own rate, drawn per seed (swarm testing), and every fault
// undoes itself after a while; transitionToLiveness undoes everything at once.
//
// A fault is data (`Fault`): drawn as the run goes, each is recorded with everything its effect
// depends on (the nodes it hit, the links it cut, when it heals), so a run's schedule can be saved
// and replayed without drawing (`replay`), and cut down by the shrinker (sim/shrink.ts).

import type { NodeId } from "../core/replica/index.ts";
import type { Rng } from "./rng.ts";
import type { CrashWindow, World } from "./world.ts";

export interface NemesisOptions {
  /** Mean time between faults of each kind (ms); Infinity turns a kind off. */
  crashEveryMs: number;
  /** Several servers losing power at once (a rack), each coming back on its own time. */
  powerLossEveryMs: number;
  partitionEveryMs: number;
  clogEveryMs: number;
  clockEveryMs: number;
  /**
   * Crashes aimed at the windows that matter: between a write and its fsync, between an fsync and
   * the step that learns of it, and again soon after a restart (during recovery). Optional: older
   * scenario files have none.
   */
  windowCrashEveryMs?: number;
  /** Disk stalls, the followers' most often, often ending in a power loss (optional, as above). */
  diskStallEveryMs?: number;
  /** How long a fault lasts, on average. */
  faultMeanMs: number;
  maxClockJumpMs: number;
  maxDrift: number;
}

export type PartitionKind =
  | "halves"
  | "isolate-leader"
  | "majority-minority"
  | "bridge"
  | "one-way";

/** One fault of a schedule, at `atMs` of virtual time, with its own undoing. */
export type Fault =
  /** Each node goes down, back after its own downtime (one node: a crash; more: power loss). */
  | {
      atMs: number;
      kind: "crash";
      label: "crash" | "power-loss";
      nodes: NodeId[];
      downMs: number[];
    }
  | {
      atMs: number;
      kind: "partition";
      shape: PartitionKind;
      cuts: [NodeId, NodeId][];
      healMs: number;
    }
  /** Each victim's links clog `afterMs` after the fault, for `forMs`. */
  | { atMs: number; kind: "clog"; links: { node: NodeId; afterMs: number; forMs: number }[] }
  | { atMs: number; kind: "clock"; node: NodeId; jumpMs: number }
  | { atMs: number; kind: "clock"; node: NodeId; drift: number }
  /**
   * The node crashes inside a window of its next persist (`fraction` of the way to its fsync, for
   * write-fsync), or `upMs[i]` after each restart (recovery: a crash loop); down `downMs[i]` each
   * time. `others` lose power at the same instant (a rack), each down for its own time: a write
   * acknowledged too early is lost only if the servers holding it go down together.
   */
  /**
   * The disks of `nodes` stall for `forMs` (no fsync completes), and `crash` (if any) lose power
   * together `crashAfterMs` into the stall, each down for its own time: writes pile up unsynced on
   * the stalled disks, where only a protocol that acknowledges before fsync can lose them.
   */
  | {
      atMs: number;
      kind: "stall";
      nodes: NodeId[];
      forMs: number;
      crashAfterMs: number;
      crash: { node: NodeId; downMs: number }[];
    }
  | {
      atMs: number;
      kind: "window";
      window: CrashWindow;
      node: NodeId;
      fraction: number;
      downMs: number[];
      upMs: number[];
      others: { node: NodeId; downMs: number }[];
    };

/** The label a fault is counted and drawn under. */
export function faultLabel(fault: Fault): string {
  switch (fault.kind) {
    case "crash":
      return fault.label;
    case "partition":
      return `partition:${fault.shape}`;
    case "window":
      return `crash:${fault.window}`;
    case "stall":
      return fault.crash.length > 0 ? "disk-stall+power-loss" : "disk-stall";
    default:
      return fault.kind;
  }
}

export class Nemesis {
  active = true;
  readonly counts: Record<string, number> = {};
  /** Every fault injected so far, in time order: the schedule a scenario file saves. */
  readonly schedule: Fault[] = [];

  /** With `replay`, the nemesis injects exactly those faults and draws nothing. */
  constructor(
    private readonly world: World,
    private readonly rng: Rng,
    private readonly options: NemesisOptions,
    private readonly replay?: readonly Fault[],
  ) {}

  start(): void {
    if (this.replay !== undefined) {
      for (const fault of this.replay) {
        this.world.at(fault.atMs - this.world.nowMs, () => {
          if (this.active) this.inject(fault);
        });
      }
      return;
    }
    this.every(this.options.crashEveryMs, () => this.crash());
    this.every(this.options.powerLossEveryMs, () => this.powerLoss());
    this.every(this.options.partitionEveryMs, () => this.partition());
    this.every(this.options.clogEveryMs, () => this.clog());
    this.every(this.options.clockEveryMs, () => this.clock());
    // Its own stream: seeds without window crashes draw exactly what they drew before.
    const windows = this.rng.fork("windows");
    this.every(
      this.options.windowCrashEveryMs ?? Infinity,
      () => this.windowCrash(windows),
      windows,
    );
    const stalls = this.rng.fork("stalls");
    this.every(this.options.diskStallEveryMs ?? Infinity, () => this.diskStall(stalls), stalls);
  }

  private every(meanMs: number, draw: () => Fault | undefined, rng = this.rng): void {
    if (!Number.isFinite(meanMs)) return;
    const next = () => {
      if (!this.active) return;
      const fault = draw();
      if (fault !== undefined) this.inject(fault);
      this.world.at(rng.exponential(meanMs), next);
    };
    this.world.at(rng.exponential(meanMs), next);
  }

  private ids(): NodeId[] {
    return [...this.world.nodes.keys()];
  }

  private up(): NodeId[] {
    return this.ids().filter((id) => this.world.isUp(id));
  }

  private crash(): Fault | undefined {
    const up = this.up();
    if (up.length === 0) return undefined;
    const node = this.rng.pick(up);
    return {
      atMs: this.world.nowMs,
      kind: "crash",
      label: "crash",
      nodes: [node],
      downMs: [this.rng.exponential(this.options.faultMeanMs)],
    };
  }

  private powerLoss(): Fault | undefined {
    const up = this.up();
    if (up.length < 2) return undefined;
    const nodes = this.rng.shuffle(up).slice(0, this.rng.int(2, up.length));
    const downMs = nodes.map(() => this.rng.exponential(this.options.faultMeanMs));
    return { atMs: this.world.nowMs, kind: "crash", label: "power-loss", nodes, downMs };
  }

  private leader(): NodeId | undefined {
    for (const [id, node] of this.world.nodes)
      if (node.replica.status()?.role === "leading") return id;
    return undefined;
  }

  /** Cuts links as one partition shape, healed after a while. */
  private partition(): Fault {
    const ids = this.ids();
    const shape = this.rng.pick<PartitionKind>([
      "halves",
      "isolate-leader",
      "majority-minority",
      "bridge",
      "one-way",
    ]);
    const shuffled = this.rng.shuffle(ids);
    const cuts: [NodeId, NodeId][] = [];
    const cutBetween = (left: NodeId[], right: NodeId[]) => {
      for (const a of left) for (const b of right) cuts.push([a, b]);
    };
    if (shape === "isolate-leader") {
      const leader = this.leader() ?? shuffled[0]!;
      cutBetween(
        [leader],
        ids.filter((id) => id !== leader),
      );
    } else if (shape === "bridge") {
      // Two sides that only the bridge node (shuffled[0]) reaches: connectivity is not transitive.
      const rest = shuffled.slice(1);
      const half = Math.floor(rest.length / 2);
      cutBetween(rest.slice(0, half), rest.slice(half));
    } else if (shape === "one-way") {
      // A link that drops one direction: TCP cannot work over it, so it breaks and stays down.
      cuts.push([shuffled[0]!, shuffled[1]!]);
    } else {
      const size =
        shape === "halves" ? this.rng.int(1, ids.length - 1) : Math.floor((ids.length - 1) / 2);
      cutBetween(shuffled.slice(0, size), shuffled.slice(size));
    }
    return {
      atMs: this.world.nowMs,
      kind: "partition",
      shape,
      cuts,
      healMs: this.rng.exponential(this.options.faultMeanMs),
    };
  }

  /** Swizzle-clogging (FoundationDB): clog some nodes' links one by one, unclog in random order. */
  private clog(): Fault {
    const victims = this.rng.shuffle(this.ids()).slice(0, this.rng.int(1, this.ids().length));
    let afterMs = 0;
    const links = victims.map((node) => {
      afterMs += this.rng.exponential(this.options.faultMeanMs / 4);
      return { node, afterMs, forMs: this.rng.exponential(this.options.faultMeanMs) };
    });
    return { atMs: this.world.nowMs, kind: "clog", links };
  }

  private clock(): Fault {
    const node = this.rng.pick(this.ids());
    const atMs = this.world.nowMs;
    if (this.rng.chance(0.5)) {
      return {
        atMs,
        kind: "clock",
        node,
        jumpMs: this.rng.int(-this.options.maxClockJumpMs, this.options.maxClockJumpMs),
      };
    }
    return { atMs, kind: "clock", node, drift: (this.rng.float() * 2 - 1) * this.options.maxDrift };
  }

  private windowCrash(rng: Rng): Fault | undefined {
    const up = this.up();
    if (up.length === 0) return undefined;
    const node = rng.pick(up);
    const window = rng.pick<CrashWindow>(["write-fsync", "fsync-ack", "recovery"]);
    // Downtimes short enough that the node is back while its peers still hold what it missed.
    const downMs = [rng.exponential(this.options.faultMeanMs / 4)];
    const upMs: number[] = [];
    if (window === "recovery") {
      for (let i = rng.int(1, 3); i > 0; i--) {
        upMs.push(rng.exponential(50)); // soon after start: its first persists are in flight
        downMs.push(rng.exponential(this.options.faultMeanMs / 4));
      }
    }
    const rest = rng.shuffle(up.filter((id) => id !== node));
    const together = window === "recovery" || rng.chance(0.5) ? 0 : rest.length;
    const others = rest
      .slice(0, together)
      .map((id) => ({ id, downMs: rng.exponential(this.options.faultMeanMs) }));
    // Late in the window more often than not: the write has gone out to peers, the fsync not yet.
    const fraction = 1 - rng.float() ** 2;
    return {
      atMs: this.world.nowMs,
      kind: "window",
      window,
      node,
      fraction,
      downMs,
      upMs,
      others: others.map(({ id, downMs }) => ({ node: id, downMs })),
    };
  }

  private diskStall(rng: Rng): Fault | undefined {
    const ids = this.ids();
    const leader = this.leader();
    const shape = rng.pick(["followers", "followers", "one", "all"]);
    const nodes =
      shape === "all"
        ? ids
        : shape === "one"
          ? [rng.pick(ids)]
          : ids.filter((id) => id !== (leader ?? ids[0]));
    const forMs = rng.exponential(this.options.faultMeanMs / 2);
    // Usually the whole cluster (a rack or a building), each server back on its own time.
    const victims = rng.chance(0.3)
      ? []
      : rng.chance(0.7)
        ? ids
        : rng.shuffle(ids).slice(0, rng.int(1, ids.length));
    const crash = victims.map((node) => ({
      node,
      downMs: rng.exponential(this.options.faultMeanMs),
    }));
    return {
      atMs: this.world.nowMs,
      kind: "stall",
      nodes,
      forMs,
      crashAfterMs: rng.float() * forMs,
      crash,
    };
  }

  /** Carries out one fault (drawn or replayed) and schedules its undoing. */
  private inject(fault: Fault): void {
    const label = faultLabel(fault);
    const world = this.world;
    const restartAfter = (node: NodeId, ms: number) =>
      world.at(ms, () => {
        if (!world.isUp(node)) world.start(node);
      });
    switch (fault.kind) {
      case "crash": {
        const hit = fault.nodes
          .map((node, i) => ({ node, downMs: fault.downMs[i]! }))
          .filter((v) => world.isUp(v.node));
        if (hit.length === 0) return; // a replayed schedule whose victims are already down
        for (const { node, downMs } of hit) {
          world.crash(node);
          restartAfter(node, downMs);
        }
        break;
      }
      case "partition":
        world.faultLog.network(
          "partition",
          world.nowMs,
          world.nowMs + fault.healMs,
          partitionLabel(fault),
        );
        for (const [a, b] of fault.cuts) world.setCut(a, b, true);
        world.at(fault.healMs, () => {
          for (const [a, b] of fault.cuts) world.setCut(a, b, false);
        });
        break;
      case "clog": {
        const others = this.ids();
        for (const { node, afterMs, forMs } of fault.links) {
          const until = world.nowMs + afterMs + forMs;
          world.faultLog.network("clog", world.nowMs + afterMs, until, `n${node}'s links clogged`);
          world.at(afterMs, () => {
            if (!this.active) return; // the liveness phase began meanwhile: it must run unclogged
            for (const other of others) if (other !== node) world.network.clog(node, other, until);
          });
        }
        break;
      }
      case "clock": {
        const clock = world.node(fault.node).clock;
        if ("jumpMs" in fault) clock.offsetMs += fault.jumpMs;
        else clock.drift = fault.drift;
        const what =
          "jumpMs" in fault
            ? `clock jumps ${fault.jumpMs} ms`
            : `clock drifts ${(fault.drift * 100).toFixed(2)}%`;
        world.faultLog.clock(fault.node, world.nowMs, what);
        break;
      }
      case "stall": {
        const until = world.nowMs + fault.forMs;
        for (const node of fault.nodes) {
          const n = world.node(node);
          n.stalledUntilMs = Math.max(n.stalledUntilMs, until);
        }
        world.faultLog.stall(fault.nodes, world.nowMs, until);
        if (fault.crash.length > 0) {
          world.at(fault.crashAfterMs, () => {
            if (!this.active) return;
            for (const { node, downMs } of fault.crash) {
              if (!world.isUp(node)) continue;
              world.crash(node, "in a disk stall");
              restartAfter(node, downMs);
            }
          });
        }
        break;
      }
      case "window": {
        if (!world.isUp(fault.node)) return;
        this.crashInWindow(fault);
        break;
      }
    }
    this.counts[label] = (this.counts[label] ?? 0) + 1;
    this.schedule.push(fault);
  }

  private crashInWindow(fault: Extract<Fault, { kind: "window" }>): void {
    const world = this.world;
    const { node } = fault;
    // The i-th restart, then (in a crash loop) the crash that follows it.
    const restart = (i: number) =>
      world.at(fault.downMs[i]!, () => {
        if (world.isUp(node)) return;
        world.start(node);
        const upMs = fault.upMs[i];
        if (upMs === undefined) return;
        world.at(upMs, () => {
          if (!this.active || !world.isUp(node)) return;
          world.crash(node, "during recovery");
          restart(i + 1);
        });
      });
    if (fault.window === "recovery") {
      world.crash(node);
      restart(0);
    } else {
      // Armed: the crash comes at the node's next persist (or fsync), whenever that is.
      world.armCrash(node, fault.window, fault.fraction, () => {
        restart(0);
        for (const other of fault.others) {
          if (!world.isUp(other.node)) continue;
          world.crash(other.node, `with n${node}`);
          world.at(other.downMs, () => {
            if (!world.isUp(other.node)) world.start(other.node);
          });
        }
      });
    }
  }

  /** Ends the safety phase: heal every cut, unclog, restart crashed nodes, stop clock trouble. */
  transitionToLiveness(): void {
    this.active = false;
    this.world.disarmCrashes();
    for (const [, node] of this.world.nodes) node.stalledUntilMs = 0;
    for (const a of this.ids())
      for (const b of this.ids())
        if (a < b && this.world.network.isCut(a, b)) this.world.setCut(a, b, false);
    this.world.unclogAll();
    for (const [, node] of this.world.nodes) node.clock.drift = 0;
    for (const id of this.ids()) if (!this.world.isUp(id)) this.world.start(id);
  }
}

/** "partition halves: 1 2 | 3 4 5": the nodes on either end of the cut links. */
function partitionLabel(fault: Extract<Fault, { kind: "partition" }>): string {
  const left = [...new Set(fault.cuts.map(([a]) => a))].sort((a, b) => a - b);
  const right = [...new Set(fault.cuts.map(([, b]) => b))].sort((a, b) => a - b);
  return `partition ${fault.shape}: ${left.join(" ")} | ${right.join(" ")}`;
}
