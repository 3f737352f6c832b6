// Model clients: each one a ZooKeeper session doing one operation at a time, with a timeout,
// through a client that reconnects to another server and moves its session there as real clients
// do. What they do and how it is recorded is the shared workload (jepsen-like/workload.ts); this
// file is the simulated client's I/O around it.

import { Err } from "../core/errors.ts";
import type { ClientOp, ConnId, Effect, NodeId } from "../core/replica/index.ts";
import type { Reply } from "../core/requests.ts";
import type { SessionId, Zxid } from "../core/types.ts";
import { hex, sessionId, zxid } from "../core/types.ts";
import { eventTypeName } from "../core/watches.ts";
import type { HistoryRecorder } from "../jepsen-like/recorder.ts";
import type { OpKind, PlannedOp } from "../jepsen-like/workload.ts";
import { acknowledgedWrite, completionOf, WorkloadClient } from "../jepsen-like/workload.ts";
import type { Rng } from "./rng.ts";
import type { ClientEndpoint, World } from "./world.ts";

export type { OpKind };

export interface WorkloadOptions {
  clients: number;
  keys: number;
  thinkMeanMs: number;
  opTimeoutMs: number;
  sessionTimeoutMs: number;
  /** Relative weights of the op kinds. */
  mix: Partial<Record<OpKind, number>>;
}

interface Current {
  xid: number;
  planned: PlannedOp;
  /** For sync-then-read: the read's xid; the op completes with the read's reply. */
  finalXid: number;
}

export class SimClient implements ClientEndpoint {
  private connId: ConnId | undefined;
  private session: { id: SessionId; password: Uint8Array } | undefined;
  private lastZxid: Zxid = zxid(0n);
  private connected = false;
  private xid = 0;
  private current: Current | undefined;
  private readonly planner: WorkloadClient;
  /**
   * Paths with a data watch this session set and that has not fired: re-registered on reconnect.
   */
  private dataWatches = new Set<string>();
  stopped = false;
  completed = 0;

  constructor(
    readonly process: number,
    private readonly world: World,
    private readonly rng: Rng,
    private readonly history: HistoryRecorder,
    private readonly options: WorkloadOptions,
  ) {
    this.planner = new WorkloadClient(process, rng, {
      keys: options.keys,
      clients: options.clients,
      mix: options.mix,
    });
  }

  get busy(): boolean {
    return this.current !== undefined;
  }

  /** What this client is stuck on (for a liveness failure's message). */
  waitingFor(): string {
    const op = this.current?.planned.record;
    const what = op === undefined ? "nothing" : `${op.op} ${op.path ?? ""}`.trim();
    const where =
      this.connId === undefined ? "no connection" : this.connected ? "connected" : "connecting";
    return `waits for ${what} (${where}, session ${this.sessionHex()})`;
  }

  start(): void {
    this.world.at(this.rng.exponential(50), () => this.connect());
  }

  private sessionHex(): string {
    return this.session === undefined ? "0x0" : hex(this.session.id);
  }

  private connect(): void {
    if (this.connId !== undefined) return;
    const nodes = [...this.world.nodes.keys()];
    const node: NodeId = this.rng.pick(nodes);
    const connId = this.world.openConnection(node, this);
    this.connId = connId;
    this.connected = false;
    this.world.sendToServer(connId, {
      type: "clientConnect",
      connId,
      clientAddr: `10.0.0.${this.process}`,
      sessionId: this.session?.id ?? sessionId(0n),
      password: this.session?.password ?? new Uint8Array(16),
      timeoutMs: this.options.sessionTimeoutMs,
      lastZxidSeen: this.lastZxid,
    });
    this.world.at(this.options.opTimeoutMs, () => {
      if (this.connId === connId && !this.connected) this.hangUp("connect timed out");
    });
  }

  /** Gives up on the connection: the current op becomes indeterminate; reconnect soon. */
  private hangUp(reason: string): void {
    if (this.connId !== undefined) this.world.closeFromClient(this.connId);
    this.lostConnection(reason);
  }

  private lostConnection(reason: string): void {
    this.connId = undefined;
    this.connected = false;
    if (this.current !== undefined) {
      this.history.add({
        type: "info",
        process: this.process,
        session: this.sessionHex(),
        ...this.current.planned.record,
        result: { reason },
      });
      this.current = undefined;
    }
    if (!this.stopped || this.session !== undefined)
      this.world.at(10 + this.rng.exponential(100), () => this.connect());
  }

  onEffect(effect: Effect): void {
    if (!("connId" in effect) || effect.connId !== this.connId) return;
    switch (effect.type) {
      case "connectResponse":
        if (effect.timeoutMs === 0) {
          this.history.add({
            type: "event",
            process: this.process,
            session: this.sessionHex(),
            op: "sessionExpired",
          });
          this.session = undefined;
          this.dataWatches.clear();
          return this.hangUp("session expired");
        }
        this.session = { id: effect.sessionId, password: effect.password };
        this.connected = true;
        this.reregisterWatches();
        return this.scheduleNext();
      case "reply":
        return this.onReply(effect.xid, effect.reply);
      case "watchEvent":
        this.dataWatches.delete(effect.event.path);
        // Recorded so the checker can verify an event arrives before any read that reflects it.
        this.history.add({
          type: "event",
          process: this.process,
          session: this.sessionHex(),
          op: "watch",
          path: effect.event.path,
          result: { event: eventTypeName(effect.event.type) },
          zxid: effect.event.zxid,
        });
        return;
      case "closeConnection":
        return this.lostConnection(effect.reason);
      default:
        return; // effects without a connection never reach a client
    }
  }

  private scheduleNext(): void {
    if (!this.connected || this.current !== undefined) return;
    const connId = this.connId;
    this.world.at(this.rng.exponential(this.options.thinkMeanMs), () => {
      if (this.connId === connId && this.connected && this.current === undefined) {
        if (this.stopped) this.ping();
        else this.issue();
      }
    });
  }

  /**
   * Every ZooKeeper client re-registers its watches on a new connection (SetWatches, before any
   * other request) with the last zxid it saw, so that changes it missed while disconnected fire at
   * once.
   */
  private reregisterWatches(): void {
    if (this.dataWatches.size === 0) return;
    this.world.sendToServer(this.connId!, {
      type: "clientRequest",
      connId: this.connId!,
      xid: -8,
      request: {
        op: "setWatches",
        relativeZxid: this.lastZxid,
        data: [...this.dataWatches].sort(),
        exist: [],
        child: [],
        persistent: [],
        persistentRecursive: [],
      },
    });
  }

  private ping(): void {
    this.world.sendToServer(this.connId!, {
      type: "clientRequest",
      connId: this.connId!,
      xid: -2,
      request: { op: "ping" },
    });
    this.world.at(this.options.sessionTimeoutMs / 3, () => this.scheduleNext());
  }

  private send(op: ClientOp): number {
    const xid = ++this.xid;
    this.world.sendToServer(this.connId!, {
      type: "clientRequest",
      connId: this.connId!,
      xid,
      request: op,
    });
    return xid;
  }

  private issue(): void {
    const planned = this.planner.next();
    const syncXid = planned.syncFirst
      ? this.send({ op: "sync", path: planned.record.path ?? "/" })
      : undefined;
    const xid = this.send(planned.request);
    this.current = { xid: syncXid ?? xid, planned, finalXid: xid };
    this.history.add({
      type: "invoke",
      process: this.process,
      session: this.sessionHex(),
      ...planned.record,
    });
    const connId = this.connId;
    this.world.at(this.options.opTimeoutMs, () => {
      if (this.current?.finalXid === xid && this.connId === connId)
        this.hangUp("operation timed out");
    });
  }

  private onReply(xid: number, reply: Reply): void {
    if (reply.zxid > this.lastZxid) this.lastZxid = reply.zxid;
    const current = this.current;
    if (current === undefined || xid !== current.finalXid) return;
    this.current = undefined;
    this.completed++;
    const { planned } = current;
    if (acknowledgedWrite(planned, reply) && this.session !== undefined) {
      const what = `${planned.record.op} ${planned.record.path ?? ""}`;
      this.world.stateChecker.acknowledge(reply.zxid, this.session.id, xid, what);
    }
    this.planner.learn(planned, reply);
    const base = {
      process: this.process,
      session: this.sessionHex(),
      ...planned.record,
      zxid: reply.zxid,
    };
    this.history.add({ ...base, ...completionOf(reply) });
    const request = planned.request;
    if (request.op === "getData" && request.watch && reply.err === Err.OK)
      this.dataWatches.add(request.path);
    if (planned.kind === "closeSession" && reply.err === Err.OK) {
      this.session = undefined;
      this.dataWatches.clear(); // the server hangs up next; the next connect starts a fresh session
      return;
    }
    this.scheduleNext();
  }
}
