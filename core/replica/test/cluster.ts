// A manual, deterministic driver of replicas for tests: FIFO links that lose messages only when
// cut, disks that hold what was persisted (and lose what was not, on crash), and a clock moved by
// hand. It contains no protocol rules: it delivers inputs and carries out effects, as the simulator
// does.

import { assert } from "../../assert.ts";
import type { Reply } from "../../requests.ts";
import type { SessionId, Zxid } from "../../types.ts";
import { sessionId, zxid } from "../../types.ts";
import type { WatchEvent } from "../../watches.ts";
import type { DiskImage, EffectHandlers } from "../driver.ts";
import {
  applyDiskWrite,
  dispatchEffects,
  emptyDiskImage,
  recoverDiskImage,
  ReplicaDriver,
} from "../driver.ts";
import type { ClientOp, ConnId, DiskWrite, Input } from "../io.ts";
import type { NodeId, PeerMessage } from "../messages.ts";
import type { ReplicaConfig } from "../state.ts";
import { replicaConfig } from "../state.ts";
import type { ReplicaView } from "../status.ts";

interface Node {
  id: NodeId;
  driver: ReplicaDriver;
  disk: DiskImage;
  /** Persist effects issued and not yet durable, oldest first. */
  unsynced: { id: number; writes: readonly DiskWrite[] }[];
}

export interface ClientView {
  connId: ConnId;
  node: NodeId;
  sessionId: SessionId | undefined;
  password: Uint8Array;
  replies: Map<number, Reply>;
  events: WatchEvent[];
  closed: string | undefined;
  lastZxid: Zxid;
}

export class Cluster {
  readonly nodes = new Map<NodeId, Node>();
  readonly inFlight = new Map<string, PeerMessage[]>();
  readonly cut = new Set<string>();
  /** Directions whose messages wait (in order) until unclogged; stabilize leaves them alone. */
  readonly clogged = new Set<string>();
  readonly clients = new Map<ConnId, ClientView>();
  readonly transcript: string[] = [];
  nowMs = 0;
  autoPersist = true;
  private nextConnId = 1;

  constructor(ids: NodeId[], overrides: Partial<ReplicaConfig> = {}) {
    for (const id of ids) {
      const config = replicaConfig({
        id,
        peers: ids,
        tickMs: 100,
        maxSessionTimeoutMs: 60_000,
        ...overrides,
      });
      const driver = new ReplicaDriver(id, config, {
        trace: (line, of) => this.transcript.push(of === "effect" ? `  ${line}` : line),
        checkInvariants: true,
      });
      this.nodes.set(id, { id, driver, disk: emptyDiskImage(), unsynced: [] });
    }
    for (const id of ids) this.start(id);
  }

  node(id: NodeId): Node {
    const node = this.nodes.get(id);
    assert(node !== undefined, `node ${id} exists`);
    return node;
  }

  /** What a test may read of a running node. */
  view(id: NodeId): ReplicaView {
    const view = this.node(id).driver.inspect();
    assert(view !== undefined, `node ${id} is up`);
    return view;
  }

  isUp(id: NodeId): boolean {
    return this.node(id).driver.isUp;
  }

  private linkKey = (a: NodeId, b: NodeId) => `${a}->${b}`;
  linked = (a: NodeId, b: NodeId) =>
    !this.cut.has(this.linkKey(a, b)) && this.isUp(a) && this.isUp(b);

  start(id: NodeId): void {
    const node = this.node(id);
    this.transcript.push(`${id} start`);
    this.carryOut(node, node.driver.start(recoverDiskImage(node.disk), this.nowMs));
    for (const [other] of this.nodes)
      if (other !== id && this.linked(id, other)) this.linkUp(id, other);
  }

  /** Crash: unsynced writes are lost, in-flight messages to and from it too, and peers notice. */
  crash(id: NodeId): void {
    const node = this.node(id);
    node.driver.crash();
    node.unsynced = [];
    this.transcript.push(`${id} crash`);
    for (const [other] of this.nodes) if (other !== id) this.linkDown(id, other, false);
    for (const [connId, c] of this.clients)
      if (c.node === id && c.closed === undefined) c.closed = "server crashed";
  }

  private linkUp(a: NodeId, b: NodeId): void {
    this.input(a, { type: "peerUp", peer: b });
    this.input(b, { type: "peerUp", peer: a });
  }

  private linkDown(a: NodeId, b: NodeId, notifyA = true): void {
    this.inFlight.delete(this.linkKey(a, b));
    this.inFlight.delete(this.linkKey(b, a));
    if (notifyA && this.isUp(a)) this.input(a, { type: "peerDown", peer: b });
    if (this.isUp(b)) this.input(b, { type: "peerDown", peer: a });
  }

  /** Cuts every link between the two groups (a partition), both ways. */
  partition(group: NodeId[]): void {
    for (const [a] of this.nodes) {
      for (const [b] of this.nodes) {
        if (a < b && group.includes(a) !== group.includes(b) && !this.cut.has(this.linkKey(a, b))) {
          this.cut.add(this.linkKey(a, b));
          this.cut.add(this.linkKey(b, a));
          this.transcript.push(`cut ${a}<->${b}`);
          this.linkDown(a, b);
        }
      }
    }
  }

  /** Cuts the link between two servers, both ways. */
  cutLink(a: NodeId, b: NodeId): void {
    if (this.cut.has(this.linkKey(a, b))) return;
    this.cut.add(this.linkKey(a, b));
    this.cut.add(this.linkKey(b, a));
    this.transcript.push(`cut ${a}<->${b}`);
    this.linkDown(a, b);
  }

  heal(): void {
    const pairs = [...this.cut]
      .map((k) => k.split("->").map(Number) as [number, number])
      .filter(([a, b]) => a < b);
    this.cut.clear();
    for (const [a, b] of pairs) {
      this.transcript.push(`heal ${a}<->${b}`);
      if (this.linked(a, b)) this.linkUp(a, b);
    }
  }

  input(id: NodeId, input: Input): void {
    const node = this.node(id);
    if (!node.driver.isUp) return;
    this.carryOut(node, node.driver.deliver(input, this.nowMs));
  }

  private carryOut(
    node: Node,
    effects: readonly Parameters<typeof dispatchEffects>[0][number][],
  ): void {
    dispatchEffects(effects, this.handlersFor(node));
  }

  private handlersFor(node: Node): EffectHandlers {
    const client = (connId: ConnId) => this.clients.get(connId)!;
    return {
      send: (effect) => {
        if (!this.linked(node.id, effect.to)) return;
        const key = this.linkKey(node.id, effect.to);
        if (!this.inFlight.has(key)) this.inFlight.set(key, []);
        this.inFlight.get(key)!.push(node.driver.encodeSnapshotFor(effect.message));
      },
      persist: (effect) => void node.unsynced.push({ id: effect.id, writes: effect.writes }),
      connectResponse: (effect) => {
        const c = client(effect.connId);
        if (effect.timeoutMs === 0) c.closed = "session expired";
        else Object.assign(c, { sessionId: effect.sessionId, password: effect.password });
      },
      reply: (effect) => {
        const c = client(effect.connId);
        c.replies.set(effect.xid, effect.reply);
        if (effect.reply.zxid > c.lastZxid) c.lastZxid = effect.reply.zxid;
      },
      watchEvent: (effect) => void client(effect.connId).events.push(effect.event),
      closeConnection: (effect) => void (client(effect.connId).closed = effect.reason),
      setTimer: () => {},
      applied: () => {},
      treeReplaced: () => {},
      status: () => {},
      sessionExpired: () => {},
    };
  }

  /** Makes the oldest unsynced persist of a node durable and reports it. */
  persistOne(id: NodeId): boolean {
    const node = this.node(id);
    const next = node.unsynced.shift();
    if (next === undefined) return false;
    for (const write of next.writes) applyDiskWrite(node.disk, write);
    this.input(id, { type: "persistDone", id: next.id });
    return true;
  }

  /** Delivers the oldest in-flight message on one link. */
  deliverOne(from: NodeId, to: NodeId): boolean {
    const queue = this.inFlight.get(this.linkKey(from, to));
    const message = queue?.shift();
    if (message === undefined) return false;
    this.input(to, { type: "peerMessage", from, message });
    return true;
  }

  /**
   * Delivers messages and (if autoPersist) persists until nothing moves; checks cluster invariants.
   */
  stabilize(limit = 100_000): void {
    for (let rounds = 0; rounds < limit; rounds++) {
      let moved = false;
      for (const key of [...this.inFlight.keys()].sort()) {
        if (this.clogged.has(key)) continue;
        const [from, to] = key.split("->").map(Number) as [number, number];
        while (this.deliverOne(from, to)) moved = true;
      }
      if (this.autoPersist) for (const [id] of this.nodes) while (this.persistOne(id)) moved = true;
      this.checkInvariants();
      if (!moved) return;
    }
    throw new Error("cluster did not stabilize");
  }

  tick(ms: number): void {
    this.nowMs += ms;
    for (const [id, node] of this.nodes) if (node.driver.isUp) this.input(id, { type: "tick" });
  }

  /** Ticks and stabilizes for `ms` of virtual time in tick-sized steps. */
  run(ms: number): void {
    const tickMs = [...this.nodes.values()][0]!.driver.config.tickMs;
    for (let t = 0; t < ms; t += tickMs / 2) {
      this.tick(tickMs / 2);
      this.stabilize();
    }
  }

  checkInvariants(): void {
    ReplicaDriver.checkCluster([...this.nodes.values()].map((node) => node.driver));
  }

  leader(): NodeId | undefined {
    for (const [id, node] of this.nodes) {
      const status = node.driver.status();
      if (status?.role === "leading" && status.phase === "broadcast") return id;
    }
    return undefined;
  }

  connect(
    node: NodeId,
    options: {
      sessionId?: SessionId;
      password?: Uint8Array;
      timeoutMs?: number;
      lastZxidSeen?: Zxid;
    } = {},
  ): ClientView {
    const connId = this.nextConnId++;
    const view: ClientView = {
      connId,
      node,
      sessionId: options.sessionId,
      password: options.password ?? new Uint8Array(16),
      replies: new Map(),
      events: [],
      closed: undefined,
      lastZxid: options.lastZxidSeen ?? zxid(0n),
    };
    this.clients.set(connId, view);
    this.input(node, {
      type: "clientConnect",
      connId,
      clientAddr: "127.0.0.1",
      sessionId: options.sessionId ?? sessionId(0n),
      password: view.password,
      timeoutMs: options.timeoutMs ?? 30_000,
      lastZxidSeen: view.lastZxid,
    });
    return view;
  }

  request(client: ClientView, xid: number, op: ClientOp): void {
    this.input(client.node, { type: "clientRequest", connId: client.connId, xid, request: op });
  }
}
