// The nemesis: injects the faults of the written model (network.ts, disk.ts, clocks) during the
// safety phase. Each fault kind has its own rate, drawn per seed (swarm testing), and every fault
// undoes itself after a while; transitionToLiveness undoes everything at once.

import type { NodeId } from "../core/replica/index.ts";
import type { Rng } from "./rng.ts";
import type { World } from "./world.ts";

export interface NemesisOptions {
  /** Mean time between faults of each kind (ms); Infinity turns a kind off. */
  crashEveryMs: number;
  /** Several servers losing power at once (a rack), each coming back on its own time. */
  powerLossEveryMs: number;
  partitionEveryMs: number;
  clogEveryMs: number;
  clockEveryMs: number;
  /** How long a fault lasts, on average. */
  faultMeanMs: number;
  maxClockJumpMs: number;
  maxDrift: number;
}

export type PartitionKind = "halves" | "isolate-leader" | "majority-minority" | "bridge" | "one-way";

export class Nemesis {
  active = true;
  readonly counts: Record<string, number> = {};

  constructor(private readonly world: World, private readonly rng: Rng, private readonly options: NemesisOptions) {}

  private count(kind: string): void {
    this.counts[kind] = (this.counts[kind] ?? 0) + 1;
  }

  start(): void {
    this.every(this.options.crashEveryMs, () => this.crash());
    this.every(this.options.powerLossEveryMs, () => this.powerLoss());
    this.every(this.options.partitionEveryMs, () => this.partition());
    this.every(this.options.clogEveryMs, () => this.clog());
    this.every(this.options.clockEveryMs, () => this.clock());
  }

  private every(meanMs: number, fault: () => void): void {
    if (!Number.isFinite(meanMs)) return;
    const next = () => {
      if (!this.active) return;
      fault();
      this.world.at(this.rng.exponential(meanMs), next);
    };
    this.world.at(this.rng.exponential(meanMs), next);
  }

  private ids(): NodeId[] {
    return [...this.world.nodes.keys()];
  }

  private crash(): void {
    const up = this.ids().filter((id) => this.world.isUp(id));
    if (up.length === 0) return;
    const victim = this.rng.pick(up);
    this.count("crash");
    this.world.crash(victim);
    this.world.at(this.rng.exponential(this.options.faultMeanMs), () => {
      if (!this.world.isUp(victim)) this.world.start(victim);
    });
  }

  private powerLoss(): void {
    const up = this.ids().filter((id) => this.world.isUp(id));
    if (up.length < 2) return;
    const victims = this.rng.shuffle(up).slice(0, this.rng.int(2, up.length));
    this.count("power-loss");
    for (const victim of victims) {
      this.world.crash(victim);
      this.world.at(this.rng.exponential(this.options.faultMeanMs), () => {
        if (!this.world.isUp(victim)) this.world.start(victim);
      });
    }
  }

  private leader(): NodeId | undefined {
    for (const [id, node] of this.world.nodes) if (node.replica.status()?.role === "leading") return id;
    return undefined;
  }

  /** Cuts links as one partition shape, and heals them after a while. */
  private partition(): void {
    const ids = this.ids();
    const kind = this.rng.pick<PartitionKind>(["halves", "isolate-leader", "majority-minority", "bridge", "one-way"]);
    const shuffled = this.rng.shuffle(ids);
    const cuts: [NodeId, NodeId][] = [];
    const cutBetween = (left: NodeId[], right: NodeId[]) => {
      for (const a of left) for (const b of right) cuts.push([a, b]);
    };
    if (kind === "isolate-leader") {
      const leader = this.leader() ?? shuffled[0]!;
      cutBetween([leader], ids.filter((id) => id !== leader));
    } else if (kind === "bridge") {
      // Two sides that only the bridge node reaches: connectivity is not transitive.
      const [bridge, ...rest] = shuffled;
      const half = Math.floor(rest.length / 2);
      cutBetween(rest.slice(0, half), rest.slice(half));
      void bridge;
    } else if (kind === "one-way") {
      // A link that drops one direction: TCP cannot work over it, so it breaks and stays down.
      cuts.push([shuffled[0]!, shuffled[1]!]);
    } else {
      const size = kind === "halves" ? this.rng.int(1, ids.length - 1) : Math.floor((ids.length - 1) / 2);
      cutBetween(shuffled.slice(0, size), shuffled.slice(size));
    }
    this.count(`partition:${kind}`);
    for (const [a, b] of cuts) this.world.setCut(a, b, true);
    this.world.at(this.rng.exponential(this.options.faultMeanMs), () => {
      for (const [a, b] of cuts) this.world.setCut(a, b, false);
    });
  }

  /** Swizzle-clogging (FoundationDB): clog a few nodes' links one by one, unclog in random order. */
  private clog(): void {
    const ids = this.ids();
    const victims = this.rng.shuffle(ids).slice(0, this.rng.int(1, ids.length));
    this.count("clog");
    let at = 0;
    for (const victim of victims) {
      at += this.rng.exponential(this.options.faultMeanMs / 4);
      const until = this.world.nowMs + at + this.rng.exponential(this.options.faultMeanMs);
      this.world.at(at, () => {
        if (!this.active) return; // the liveness phase began meanwhile: it must run unclogged
        for (const other of ids) if (other !== victim) this.world.network.clog(victim, other, until);
      });
    }
  }

  private clock(): void {
    const node = this.world.node(this.rng.pick(this.ids()));
    this.count("clock");
    if (this.rng.chance(0.5)) node.clock.offsetMs += this.rng.int(-this.options.maxClockJumpMs, this.options.maxClockJumpMs);
    else node.clock.drift = (this.rng.float() * 2 - 1) * this.options.maxDrift;
  }

  /** Ends the safety phase: heal every cut, unclog, restart crashed nodes, stop clock trouble. */
  transitionToLiveness(): void {
    this.active = false;
    for (const a of this.ids()) for (const b of this.ids()) if (a < b && this.world.network.isCut(a, b)) this.world.setCut(a, b, false);
    this.world.unclogAll();
    for (const [, node] of this.world.nodes) node.clock.drift = 0;
    for (const id of this.ids()) if (!this.world.isUp(id)) this.world.start(id);
  }
}
