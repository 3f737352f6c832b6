// A model client's session for the recipe workloads: it connects to a random server, moves its
// session to another one when the connection dies, pings while idle, hangs up on a silent server,
// and learns of its session's expiry when a server refuses it. What it sends and what it hears go
// to a recipe's sans-I/O machine (core/recipes/) through the actor it serves; this file is only
// the simulated I/O around the recipes, as sim/workload.ts is for the register workload.

import type { Effect, NodeId } from "../core/replica/index.ts";
import type { Reply, Request } from "../core/requests.ts";
import type { TaggedRequest } from "../core/recipes/lock.ts";
import type { SessionId, Zxid } from "../core/types.ts";
import { hex, sessionId, zxid } from "../core/types.ts";
import type { Rng } from "./rng.ts";
import type { ClientEndpoint, World } from "./world.ts";

/** What a recipe workload hears from its session. */
export interface SessionActor {
  /** A connection is up; `fresh`: on a new session (the first, or after an expiry). */
  connected(fresh: boolean): void;
  disconnected(): void;
  /** The session is gone (the client reconnects with a new one next). */
  expired(session: string): void;
  reply(tag: number, reply: Reply): void;
  watch(path: string): void;
}

export interface SessionOptions {
  sessionTimeoutMs: number;
  /** A request unanswered this long, or a connect, gives the connection up. */
  opTimeoutMs: number;
}

export class RecipeSession implements ClientEndpoint {
  private connId: number | undefined;
  private session: { id: SessionId; password: Uint8Array } | undefined;
  private lastZxid: Zxid = zxid(0n);
  private isConnected = false;
  private xid = 0;
  /** Request xids in flight on this connection, to the machine's tags. */
  private readonly tags = new Map<number, number>();
  private lastHeardMs = 0;
  actor: SessionActor | undefined;

  constructor(
    readonly process: number,
    private readonly world: World,
    private readonly rng: Rng,
    private readonly options: SessionOptions,
  ) {}

  get connected(): boolean {
    return this.isConnected;
  }

  get sessionHex(): string {
    return this.session === undefined ? "0x0" : hex(this.session.id);
  }

  start(): void {
    this.world.at(this.rng.exponential(50), () => this.connect());
  }

  describe(): string {
    const where =
      this.connId === undefined ? "no connection" : this.isConnected ? "connected" : "connecting";
    return `${where}, session ${this.sessionHex}`;
  }

  send(requests: readonly TaggedRequest[]): void {
    for (const { tag, request } of requests) this.sendOne(tag, request);
  }

  private sendOne(tag: number, request: Request): void {
    if (this.connId === undefined || !this.isConnected) return;
    const xid = ++this.xid;
    const connId = this.connId;
    this.tags.set(xid, tag);
    this.world.sendToServer(connId, { type: "clientRequest", connId, xid, request });
    this.world.at(this.options.opTimeoutMs, () => {
      if (this.connId === connId && this.tags.has(xid)) this.hangUp("request timed out");
    });
  }

  private connect(): void {
    if (this.connId !== undefined) return;
    const node: NodeId = this.rng.pick([...this.world.nodes.keys()]);
    const connId = this.world.openConnection(node, this);
    this.connId = connId;
    this.isConnected = false;
    this.world.sendToServer(connId, {
      type: "clientConnect",
      connId,
      clientAddr: `10.0.1.${this.process}`,
      sessionId: this.session?.id ?? sessionId(0n),
      password: this.session?.password ?? new Uint8Array(16),
      timeoutMs: this.options.sessionTimeoutMs,
      lastZxidSeen: this.lastZxid,
    });
    this.world.at(this.options.opTimeoutMs, () => {
      if (this.connId === connId && !this.isConnected) this.hangUp("connect timed out");
    });
  }

  private hangUp(_reason: string): void {
    if (this.connId !== undefined) this.world.closeFromClient(this.connId);
    this.lostConnection();
  }

  private lostConnection(): void {
    const wasConnected = this.isConnected;
    this.connId = undefined;
    this.isConnected = false;
    this.tags.clear();
    if (wasConnected) this.actor?.disconnected();
    this.world.at(10 + this.rng.exponential(100), () => this.connect());
  }

  onEffect(effect: Effect): void {
    if (!("connId" in effect) || effect.connId !== this.connId) return;
    this.lastHeardMs = this.world.nowMs;
    switch (effect.type) {
      case "connectResponse": {
        if (effect.timeoutMs === 0) {
          const gone = this.sessionHex;
          this.session = undefined;
          this.actor?.expired(gone);
          return this.hangUp("session expired");
        }
        const fresh = this.session === undefined;
        this.session = { id: effect.sessionId, password: effect.password };
        this.isConnected = true;
        this.heartbeat(effect.connId);
        return this.actor?.connected(fresh);
      }
      case "reply": {
        if (effect.reply.zxid > this.lastZxid) this.lastZxid = effect.reply.zxid;
        const tag = this.tags.get(effect.xid);
        if (tag === undefined) return;
        this.tags.delete(effect.xid);
        return this.actor?.reply(tag, effect.reply);
      }
      case "watchEvent":
        return this.actor?.watch(effect.event.path);
      case "closeConnection":
        return this.lostConnection();
      default:
        return;
    }
  }

  /**
   * Pings a third of the session timeout apart, as ZooKeeper clients do, and gives up on a server
   * silent for two thirds of it (their read timeout).
   */
  private heartbeat(connId: number): void {
    const everyMs = this.options.sessionTimeoutMs / 3;
    this.world.at(everyMs, () => {
      if (this.connId !== connId || !this.isConnected) return;
      if (this.world.nowMs - this.lastHeardMs > 2 * everyMs) return this.hangUp("server silent");
      const request = { op: "ping" } as const;
      this.world.sendToServer(connId, { type: "clientRequest", connId, xid: -2, request });
      this.heartbeat(connId);
    });
  }
}
