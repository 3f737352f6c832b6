// The simulated world: servers running the core's step function unchanged, their disks and clocks,
// the network between them and the client connections. One deliver(input) path into the core, one
// interpret(effect) switch out of it; no protocol rules live here.

import { assert, InvariantViolation } from "../core/assert.ts";
import type {
  ConnId,
  Effect,
  EffectHandlers,
  Input,
  NodeId,
  PeerMessage,
  ReplicaConfig,
  StepFunction,
} from "../core/replica/index.ts";
import { dispatchEffects, ReplicaDriver } from "../core/replica/index.ts";
import { Agenda } from "./events.ts";
import type { DiskFaults } from "./disk.ts";
import { SimDisk } from "./disk.ts";
import type { NetworkOptions } from "./network.ts";
import { SimNetwork } from "./network.ts";
import type { Rng } from "./rng.ts";
import type { Trace } from "./trace.ts";
import { StateChecker } from "./state-checker.ts";
import { SessionChecker } from "./session-checker.ts";
import { FaultLog } from "./fault-log.ts";

export type WorldEvent =
  | { kind: "tick"; node: NodeId; incarnation: number }
  | { kind: "deliver"; from: NodeId; to: NodeId; generation: number; message: PeerMessage }
  | { kind: "fsync"; node: NodeId; incarnation: number }
  | { kind: "reconnect"; a: NodeId; b: NodeId }
  | { kind: "toServer"; node: NodeId; incarnation: number; input: Input }
  | { kind: "toClient"; connId: ConnId; effect: Effect }
  | { kind: "call"; run: () => void }
  | { kind: "unclog"; from: NodeId; to: NodeId };

/**
 * Where an aimed crash lands: between a persist's write and its fsync (the write is lost, or partly
 * flushed), between an fsync and the step that learns of it (durable, never acknowledged), or
 * soon after a restart (during recovery).
 */
export type CrashWindow = "write-fsync" | "fsync-ack" | "recovery";

interface ArmedCrash {
  window: CrashWindow;
  /** How far into the fsync latency a write-fsync crash lands, in [0, 1). */
  fraction: number;
  /** Called once the crash happened (the nemesis schedules the restart). */
  crashed: () => void;
}

export interface ClockState {
  offsetMs: number;
  drift: number;
}

export interface SimNode {
  id: NodeId;
  replica: ReplicaDriver;
  incarnation: number;
  disk: SimDisk;
  clock: ClockState;
  /** When this node's pending fsyncs complete, for in-order group commit. */
  lastFsyncAtMs: number;
  /** A stalled disk (the nemesis's): no fsync completes before this time. */
  stalledUntilMs: number;
}

/** What a client sees of its connection: the world calls it with effects addressed to it. */
export interface ClientEndpoint {
  onEffect(effect: Effect): void;
}

export interface WorldOptions {
  network: NetworkOptions;
  disk: DiskFaults;
  /** Check cluster-wide invariants every this many events (they compare all nodes' logs). */
  clusterCheckEvery: number;
  /** Replaces the core's step only in tests of the simulator's teeth (sim/test/). */
  step?: StepFunction;
}

export class World {
  readonly agenda = new Agenda<WorldEvent>();
  readonly nodes = new Map<NodeId, SimNode>();
  readonly network: SimNetwork;
  readonly stateChecker = new StateChecker();
  readonly sessionChecker = new SessionChecker();
  /** When servers were down and disks damaged, for the report's fault lanes. */
  readonly faultLog = new FaultLog();
  readonly conns = new Map<ConnId, { node: NodeId; incarnation: number; client: ClientEndpoint }>();
  /** Every client endpoint by connection, kept after close so the close itself can be delivered. */
  readonly endpoints = new Map<ConnId, ClientEndpoint>();
  nowMs = 0;
  events = 0;
  /** Told of every session expiry a leader proposes (the recipe checkers' only server fact). */
  onSessionExpired: ((sessionId: bigint, atMs: number) => void) | undefined;
  private nextConnId = 1;
  /** Messages held on a clogged direction, in send order, with the link generation they used. */
  private readonly held = new Map<string, { generation: number; message: PeerMessage }[]>();
  /** Crashes waiting for their window on a node (the nemesis arms them). */
  private readonly armed = new Map<NodeId, ArmedCrash>();
  /** Each node's effect handlers, built once: a fresh table of closures per step cost a sixth. */
  private readonly handlers = new Map<NodeId, EffectHandlers>();

  constructor(
    configs: ReplicaConfig[],
    private readonly rng: Rng,
    readonly options: WorldOptions,
    private readonly trace: Trace,
  ) {
    this.network = new SimNetwork(rng.fork("network"), options.network);
    for (const config of configs) {
      const disk = new SimDisk(rng.fork(`disk-${config.id}`), options.disk);
      const replica = new ReplicaDriver(config.id, config, {
        ...(trace.enabled ? { trace: (line: string) => trace.add(line) } : {}),
        checkInvariants: true,
        step: options.step,
      });
      const node: SimNode = {
        id: config.id,
        replica,
        incarnation: 0,
        disk,
        clock: { offsetMs: 0, drift: 0 },
        lastFsyncAtMs: 0,
        stalledUntilMs: 0,
      };
      this.nodes.set(config.id, node);
      this.handlers.set(config.id, this.handlersFor(node));
    }
  }

  localTime(node: SimNode, globalMs = this.nowMs): number {
    return Math.floor(globalMs * (1 + node.clock.drift) + node.clock.offsetMs);
  }

  private globalTime(node: SimNode, localMs: number): number {
    return (localMs - node.clock.offsetMs) / (1 + node.clock.drift);
  }

  node(id: NodeId): SimNode {
    const node = this.nodes.get(id);
    if (node === undefined) throw new InvariantViolation(`node ${id} exists`); // built on failure
    return node;
  }

  isUp(id: NodeId): boolean {
    return this.node(id).replica.isUp;
  }

  start(id: NodeId): void {
    const node = this.node(id);
    assert(!node.replica.isUp, "start a node that is down");
    node.incarnation++;
    this.faultLog.up(id, this.nowMs);
    const durable = node.disk.recover();
    this.trace.add(`${id} start (log ${durable.log.length} txns)`);
    this.interpret(node, node.replica.start(durable, this.localTime(node)));
    for (const [other] of this.nodes) if (other !== id) this.scheduleReconnect(id, other);
  }

  /** `why` only labels the report's fault lane (an aimed crash names its window). */
  crash(id: NodeId, why?: string): void {
    const node = this.node(id);
    if (!node.replica.isUp) return;
    this.trace.add(`${id} crash`);
    node.replica.crash();
    this.sessionChecker.crashed(id);
    this.faultLog.down(id, this.nowMs, why);
    const damage = node.disk.crash();
    if (damage !== undefined) this.faultLog.disk(id, this.nowMs, damage);
    node.lastFsyncAtMs = this.nowMs;
    for (const [other] of this.nodes)
      if (other !== id && this.network.breakLink(id, other))
        this.deliver(other, { type: "peerDown", peer: id });
    for (const [connId, conn] of [...this.conns]) {
      if (conn.node === id) this.closeClientConn(connId, "server crashed");
    }
  }

  /** Crashes `id` inside `window` of its next persist; `crashed` runs after the crash. */
  armCrash(id: NodeId, window: CrashWindow, fraction: number, crashed: () => void): void {
    this.armed.set(id, { window, fraction, crashed });
  }

  disarmCrashes(): void {
    this.armed.clear();
  }

  /** Takes the crash armed on `node` for `window`, if any. */
  private takeArmed(node: NodeId, window: CrashWindow): ArmedCrash | undefined {
    const armed = this.armed.get(node);
    if (armed?.window !== window) return undefined;
    this.armed.delete(node);
    return armed;
  }

  /** Connections come back after a delay, if neither end is down and the link is not cut. */
  scheduleReconnect(a: NodeId, b: NodeId): void {
    this.agenda.push(this.nowMs + this.network.options.reconnectDelayMs, {
      kind: "reconnect",
      a,
      b,
    });
  }

  private reconnect(a: NodeId, b: NodeId): void {
    if (!this.isUp(a) || !this.isUp(b) || this.network.isCut(a, b) || this.network.isUp(a, b))
      return;
    this.network.bringUp(a, b);
    this.deliver(a, { type: "peerUp", peer: b });
    this.deliver(b, { type: "peerUp", peer: a });
  }

  /** Cuts or restores the link between two servers. */
  setCut(a: NodeId, b: NodeId, cut: boolean): void {
    this.network.setCut(a, b, cut);
    if (cut && this.network.breakLink(a, b)) {
      this.deliver(a, { type: "peerDown", peer: b });
      this.deliver(b, { type: "peerDown", peer: a });
    } else if (!cut) {
      this.scheduleReconnect(a, b);
    }
  }

  /** Hands one input to a server's step function and carries out what comes back. */
  deliver(id: NodeId, input: Input): void {
    const node = this.node(id);
    if (!node.replica.isUp) return;
    const nowMs = this.localTime(node);
    this.sessionChecker.beforeStep(id, input, nowMs, node.replica.status());
    const effects = node.replica.deliver(input, nowMs);
    this.sessionChecker.afterStep(id, effects, nowMs, node.replica.status()!);
    this.interpret(node, effects);
  }

  private interpret(node: SimNode, effects: readonly Effect[]): void {
    dispatchEffects(effects, this.handlers.get(node.id)!);
  }

  private handlersFor(node: SimNode): EffectHandlers {
    const toClient = (effect: Extract<Effect, { connId: ConnId }>) => this.toClient(effect);
    return {
      send: (effect) => {
        // Encoded now, from the state the step left: the sim has no event loop to stall.
        if (this.network.isUp(node.id, effect.to))
          this.transmit(node.id, effect.to, node.replica.encodeSnapshotFor(effect.message));
      },
      persist: (effect) => {
        const latency = node.disk.submit(effect.id, effect.writes);
        const durableAtMs = Math.max(this.nowMs + latency, node.stalledUntilMs);
        node.lastFsyncAtMs = Math.max(node.lastFsyncAtMs, durableAtMs);
        node.disk.durableAt(node.lastFsyncAtMs);
        this.agenda.push(node.lastFsyncAtMs, {
          kind: "fsync",
          node: node.id,
          incarnation: node.incarnation,
        });
        // Aimed at log writes: an epoch file alone carries no client's write.
        const logs = effect.writes.some((w) => w.kind === "append" && w.txns.length > 0);
        const armed = logs ? this.takeArmed(node.id, "write-fsync") : undefined;
        if (armed !== undefined) {
          // Strictly before the fsync completes: the write is on its way but not yet durable.
          const incarnation = node.incarnation;
          this.at((node.lastFsyncAtMs - this.nowMs) * armed.fraction, () => {
            if (node.incarnation !== incarnation || !node.replica.isUp) return; // crashed meanwhile
            this.crash(node.id, "between write and fsync");
            armed.crashed();
          });
        }
      },
      setTimer: (effect) => {
        // Round up: the tick must find the node's clock at or past the time it asked for.
        this.agenda.push(Math.max(this.nowMs, Math.ceil(this.globalTime(node, effect.atMs + 1))), {
          kind: "tick",
          node: node.id,
          incarnation: node.incarnation,
        });
      },
      connectResponse: toClient,
      reply: toClient,
      watchEvent: toClient,
      closeConnection: toClient,
      applied: (effect) => this.stateChecker.applied(node.id, effect.txns),
      treeReplaced: (effect) => this.stateChecker.treeReplaced(node.id, effect.zxid),
      status: () => {},
      // The session checker holds it to the timeout (afterStep); recipe workloads record it.
      sessionExpired: (effect) => this.onSessionExpired?.(effect.sessionId, this.nowMs),
    };
  }

  /** Sends over the link, or holds the message while the direction is clogged (FIFO either way). */
  private transmit(from: NodeId, to: NodeId, message: PeerMessage): void {
    const generation = this.network.generationOf(from, to);
    const until = this.network.cloggedUntil(from, to, this.nowMs);
    // Most of the time nothing is held anywhere: no key to build for every message.
    const queue = this.held.size === 0 ? undefined : this.held.get(`${from}>${to}`);
    if (until !== undefined || queue !== undefined) {
      const key = `${from}>${to}`;
      if (queue === undefined) {
        this.held.set(key, [{ generation, message }]);
        this.agenda.push(until ?? this.nowMs, { kind: "unclog", from, to });
      } else {
        queue.push({ generation, message });
      }
      return;
    }
    this.agenda.push(this.network.arrivalTime(from, to, this.nowMs), {
      kind: "deliver",
      from,
      to,
      generation,
      message,
    });
  }

  /** A clog ended (or was lifted): what it held goes out now, in order. */
  releaseHeld(from: NodeId, to: NodeId): void {
    const key = `${from}>${to}`;
    const until = this.network.cloggedUntil(from, to, this.nowMs);
    if (until !== undefined) return void this.agenda.push(until, { kind: "unclog", from, to });
    const queue = this.held.get(key) ?? [];
    this.held.delete(key);
    for (const { generation, message } of queue) {
      this.agenda.push(this.network.arrivalTime(from, to, this.nowMs), {
        kind: "deliver",
        from,
        to,
        generation,
        message,
      });
    }
  }

  /** Lifts every clog at once (the end of the safety phase). */
  unclogAll(): void {
    this.network.unclogAll();
    for (const key of [...this.held.keys()]) {
      const [from, to] = key.split(">").map(Number) as [number, number];
      this.releaseHeld(from, to);
    }
  }

  private toClient(effect: Extract<Effect, { connId: ConnId }>): void {
    const conn = this.conns.get(effect.connId);
    if (conn === undefined) return;
    const at = this.network.arrivalTime(conn.node, -effect.connId, this.nowMs);
    this.agenda.push(at, { kind: "toClient", connId: effect.connId, effect });
    if (effect.type === "closeConnection") this.conns.delete(effect.connId);
  }

  /** A client opens a connection to a server; returns its id. */
  openConnection(node: NodeId, client: ClientEndpoint): ConnId {
    const connId = this.nextConnId++;
    assert(connId < 1 << 20, "connection ids stay within the network's link keys");
    this.conns.set(connId, { node, incarnation: this.node(node).incarnation, client });
    this.endpoints.set(connId, client);
    return connId;
  }

  /** Client-to-server traffic, FIFO per connection like everything else. */
  sendToServer(connId: ConnId, input: Input): void {
    const conn = this.conns.get(connId);
    if (conn === undefined) return;
    const at = this.network.arrivalTime(-connId, conn.node, this.nowMs);
    this.agenda.push(at, {
      kind: "toServer",
      node: conn.node,
      incarnation: conn.incarnation,
      input,
    });
  }

  /** The client hangs up (or gives up on) a connection. */
  closeFromClient(connId: ConnId): void {
    const conn = this.conns.get(connId);
    if (conn === undefined) return;
    this.conns.delete(connId);
    this.agenda.push(this.nowMs + 1, {
      kind: "toServer",
      node: conn.node,
      incarnation: conn.incarnation,
      input: { type: "clientDisconnect", connId },
    });
  }

  private closeClientConn(connId: ConnId, reason: string): void {
    const conn = this.conns.get(connId);
    if (conn === undefined) return;
    this.conns.delete(connId);
    this.agenda.push(this.nowMs + 1, {
      kind: "toClient",
      connId,
      effect: { type: "closeConnection", connId, reason },
    });
  }

  /** Runs events until `untilMs` of virtual time. */
  runUntil(untilMs: number): void {
    for (;;) {
      const next = this.agenda.peekTime();
      if (next === undefined || next > untilMs) break;
      const item = this.agenda.pop()!;
      this.nowMs = Math.max(this.nowMs, item.atMs);
      this.handle(item.event);
      this.events++;
      if (this.events % this.options.clusterCheckEvery === 0) this.checkCluster();
    }
    this.nowMs = Math.max(this.nowMs, untilMs);
  }

  private handle(event: WorldEvent): void {
    switch (event.kind) {
      case "tick": {
        const node = this.node(event.node);
        if (node.incarnation === event.incarnation) this.deliver(event.node, { type: "tick" });
        return;
      }
      case "deliver":
        if (
          this.network.isUp(event.from, event.to) &&
          this.network.generationOf(event.from, event.to) === event.generation
        ) {
          this.deliver(event.to, { type: "peerMessage", from: event.from, message: event.message });
        }
        return;
      case "fsync": {
        const node = this.node(event.node);
        if (node.incarnation !== event.incarnation || !node.replica.isUp) return;
        const id = node.disk.completeDue(this.nowMs);
        if (id === undefined) return;
        const armed = this.takeArmed(node.id, "fsync-ack");
        if (armed === undefined) return this.deliver(event.node, { type: "persistDone", id });
        // Durable, but the replica never hears of it: whatever it would have acknowledged is not.
        this.crash(node.id, "between fsync and its step");
        armed.crashed();
        return;
      }
      case "reconnect":
        return this.reconnect(event.a, event.b);
      case "toServer": {
        const node = this.node(event.node);
        if (node.incarnation === event.incarnation) this.deliver(event.node, event.input);
        return;
      }
      case "toClient":
        this.endpoints.get(event.connId)?.onEffect(event.effect);
        return;
      case "call":
        return event.run();
      case "unclog":
        return this.releaseHeld(event.from, event.to);
    }
  }

  checkCluster(): void {
    ReplicaDriver.checkCluster([...this.nodes.values()].map((node) => node.replica));
  }

  at(delayMs: number, run: () => void): void {
    this.agenda.push(this.nowMs + delayMs, { kind: "call", run });
  }

  /** Runs `run` at virtual time `atMs` (not before now). */
  atTime(atMs: number, run: () => void): void {
    this.agenda.push(Math.max(atMs, this.nowMs), { kind: "call", run });
  }
}
