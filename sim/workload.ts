// Model clients: each one a ZooKeeper session with one or several requests in flight (pipelined,
// as real clients are), each with a timeout, through a client that reconnects to another server
// and moves its session there as real clients do. What they do and how it is recorded is the
// shared workload (jepsen-like/workload.ts); this file is the simulated client's I/O around it.
//
// The history allows one outstanding operation per process, so a client's requests in flight go
// through lanes, each its own process: lane 0 is process `c`, lane l is process `c + l * 1000`.
// All lanes share the session, its connection and its order. With one lane and no pauses or moves
// (the thin workload) every draw is made as it was before lanes, so those seeds replay unchanged.

import { Err } from "../core/errors.ts";
import type { ClientOp, ConnId, Effect, NodeId } from "../core/replica/index.ts";
import type { Reply } from "../core/requests.ts";
import type { SessionId, Zxid } from "../core/types.ts";
import { hex, sessionId, zxid } from "../core/types.ts";
import { AddWatchMode, eventTypeName } from "../core/watches.ts";
import type { HistoryRecorder } from "../jepsen-like/recorder.ts";
import type { OpKind, PlannedOp } from "../jepsen-like/workload.ts";
import { acknowledgedWrite, completionOf, WorkloadClient } from "../jepsen-like/workload.ts";
import type { Rng } from "./rng.ts";
import type { ClientEndpoint, World } from "./world.ts";

export type { OpKind };

/** Lane l of client c is process c + l * laneStride. */
export const laneStride = 1000;
/** Dense: the setWatches a client sends on each new connection is recorded on this lane. */
const setWatchesLane = 9;
/** ZooKeeper's clients send SetWatches with this xid. */
const setWatchesXid = -8;

export interface WorkloadOptions {
  clients: number;
  keys: number;
  thinkMeanMs: number;
  opTimeoutMs: number;
  sessionTimeoutMs: number;
  /** Relative weights of the op kinds. */
  mix: Partial<Record<OpKind, number>>;
  /** The dense workload (jepsen-like/workload.ts's WorkloadShape.dense). */
  dense?: boolean;
  /** Dense: the clients that use the queue and the multis' nodes (WorkloadShape.sharedClients). */
  sharedClients?: number;
  /** Dense: the clients that contend for the lock (WorkloadShape.lockContenders). */
  lockContenders?: number;
  /** Dense: the clients that add persistent watches (WorkloadShape.watchClients). */
  watchClients?: number;
  /** Dense: the TTL of TTL nodes (WorkloadShape.ttlMs). */
  ttlMs?: number;
  /** Requests each client keeps in flight at most, one per lane (absent: 1). */
  pipeline?: number;
  /**
   * Per op, the chance the client instead goes silent for longer than its session timeout (a
   * process pause): its session expires while others may read its ephemerals (absent: 0).
   */
  pauseChance?: number;
  /** Per op, the chance the client instead moves to another server (absent: 0). */
  moveChance?: number;
}

interface InFlight {
  lane: number;
  process: number;
  planned: PlannedOp;
  /** The xid whose reply completes the op (for sync-then-read, the read's). */
  finalXid: number;
}

/** When an op in flight times out, if it is still in flight on the connection it was sent on. */
interface Deadline {
  atMs: number;
  xid: number;
  inFlight: InFlight;
  connId: ConnId | undefined;
}

export class SimClient implements ClientEndpoint {
  private connId: ConnId | undefined;
  private session: { id: SessionId; password: Uint8Array; hex: string } | undefined;
  private lastZxid: Zxid = zxid(0n);
  private connected = false;
  private xid = 0;
  private readonly lanes: (InFlight | undefined)[];
  private readonly byXid = new Map<number, InFlight>();
  private readonly planner: WorkloadClient;
  /**
   * Paths with a data watch this session set and that has not fired: re-registered on reconnect.
   */
  private dataWatches = new Set<string>();
  /** Persistent and recursive watches this session added (dense): firing does not end them. */
  private readonly persistentWatches = new Set<string>();
  private readonly recursiveWatches = new Set<string>();
  /** Dense: the setWatches of this connection is recorded and not yet answered. */
  private setWatchesOpen = false;
  /** A closeSession is in flight: no lane issues until the session is replaced. */
  private closing = false;
  /** Silent (a process pause): sends nothing, not even pings, and does not reconnect. */
  private paused = false;
  /**
   * The ops' timeouts in issue order, which is deadline order (one timeout for every op): only
   * the first one still in flight is on the agenda. A timer per op kept thousands of them there
   * at once, most for ops long answered.
   */
  private readonly deadlines: Deadline[] = [];
  private deadlinesDone = 0;
  private deadlineArmed = false;
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
      ...(options.dense === true
        ? {
            dense: true,
            sharedClients: options.sharedClients,
            lockContenders: options.lockContenders,
            watchClients: options.watchClients,
            ttlMs: options.ttlMs,
          }
        : {}),
    });
    this.lanes = Array.from({ length: Math.max(1, options.pipeline ?? 1) }, () => undefined);
  }

  get busy(): boolean {
    return this.byXid.size > 0;
  }

  /** What this client is stuck on (for a liveness failure's message). */
  waitingFor(): string {
    const ops = [...this.byXid.values()].map(({ planned: { record } }) =>
      `${record.op} ${record.path ?? ""}`.trim(),
    );
    const what = ops.length === 0 ? "nothing" : ops.join(", ");
    const where =
      this.connId === undefined ? "no connection" : this.connected ? "connected" : "connecting";
    return `waits for ${what} (${where}, session ${this.sessionHex()})`;
  }

  start(): void {
    this.world.at(this.rng.exponential(50), () => this.connect());
  }

  /** The session's id as the history writes it, kept with the session (every record has it). */
  private sessionHex(): string {
    return this.session?.hex ?? "0x0";
  }

  private connect(): void {
    if (this.connId !== undefined || this.paused) return;
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

  /** Gives up on the connection: the ops in flight become indeterminate; reconnect soon. */
  private hangUp(reason: string): void {
    if (this.connId !== undefined) this.world.closeFromClient(this.connId);
    this.lostConnection(reason);
  }

  private lostConnection(reason: string): void {
    this.connId = undefined;
    this.connected = false;
    this.closing = false;
    if (this.setWatchesOpen) {
      const process = this.process + setWatchesLane * laneStride;
      const session = this.sessionHex();
      this.history.add({ type: "info", process, session, op: "setWatches", result: { reason } });
      this.setWatchesOpen = false;
    }
    for (const { lane, process, planned } of this.byXid.values()) {
      const session = this.sessionHex();
      this.history.add({ type: "info", process, session, ...planned.record, result: { reason } });
      this.lanes[lane] = undefined;
    }
    this.byXid.clear();
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
          this.endSession();
          return this.hangUp("session expired");
        }
        this.session = {
          id: effect.sessionId,
          password: effect.password,
          hex: hex(effect.sessionId),
        };
        this.connected = true;
        // Dense: what follows on the session, up to the next of these, came over this connection.
        if (this.options.dense === true)
          this.history.add({
            type: "event",
            process: this.process,
            session: this.sessionHex(),
            op: "connected",
          });
        this.reregisterWatches();
        return this.scheduleAll();
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

  private endSession(): void {
    this.session = undefined;
    this.dataWatches.clear();
    this.persistentWatches.clear();
    this.recursiveWatches.clear();
    this.planner.sessionEnded();
  }

  private scheduleAll(): void {
    for (let lane = 0; lane < this.lanes.length; lane++) this.scheduleNext(lane);
  }

  private canIssue(lane: number, connId: ConnId | undefined): boolean {
    const idle = this.lanes[lane] === undefined && !this.closing && !this.paused;
    return this.connId === connId && this.connected && idle;
  }

  private scheduleNext(lane: number): void {
    const connId = this.connId;
    if (!this.canIssue(lane, connId)) return;
    // Stopped clients only keep their session alive, with one lane's pings.
    if (this.stopped && lane > 0) return;
    this.world.at(this.rng.exponential(this.options.thinkMeanMs), () => {
      if (!this.canIssue(lane, connId)) return;
      if (this.stopped) this.ping(lane);
      else this.issue(lane);
    });
  }

  /**
   * Every ZooKeeper client re-registers its watches on a new connection (SetWatches, before any
   * other request) with the last zxid it saw, so that changes it missed while disconnected fire at
   * once.
   */
  private reregisterWatches(): void {
    const persistent = [...this.persistentWatches].sort();
    const persistentRecursive = [...this.recursiveWatches].sort();
    if (this.dataWatches.size + persistent.length + persistentRecursive.length === 0) return;
    const lists = {
      data: [...this.dataWatches].sort(),
      exist: [],
      child: [],
      persistent,
      persistentRecursive,
    };
    this.world.sendToServer(this.connId!, {
      type: "clientRequest",
      connId: this.connId!,
      xid: setWatchesXid,
      request: { op: "setWatches", relativeZxid: this.lastZxid, ...lists },
    });
    if (this.options.dense !== true) return;
    // Recorded: its reply zxid is where the re-registered persistent watches start again.
    this.setWatchesOpen = true;
    this.history.add({
      type: "invoke",
      process: this.process + setWatchesLane * laneStride,
      session: this.sessionHex(),
      op: "setWatches",
      args: { watches: lists },
    });
  }

  private setWatchesAnswered(reply: Reply): void {
    if (!this.setWatchesOpen) return;
    this.setWatchesOpen = false;
    this.history.add({
      process: this.process + setWatchesLane * laneStride,
      session: this.sessionHex(),
      op: "setWatches",
      zxid: reply.zxid,
      ...completionOf(reply),
    });
  }

  private ping(lane: number): void {
    this.world.sendToServer(this.connId!, {
      type: "clientRequest",
      connId: this.connId!,
      xid: -2,
      request: { op: "ping" },
    });
    this.world.at(this.options.sessionTimeoutMs / 3, () => this.scheduleNext(lane));
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

  /** A process pause longer than the session timeout: the session expires under the client. */
  private pause(): void {
    this.paused = true;
    const silentMs = this.options.sessionTimeoutMs * (1.2 + this.rng.float());
    this.world.at(silentMs, () => {
      this.paused = false;
      if (this.connId === undefined) this.connect();
      else this.scheduleAll();
    });
  }

  /** A draw only when the chance is set: the thin workload's seeds make no extra draws. */
  private drawn(chance: number | undefined): boolean {
    return chance !== undefined && chance > 0 && this.rng.chance(chance);
  }

  private issue(lane: number): void {
    if (this.drawn(this.options.pauseChance)) return this.pause();
    if (this.drawn(this.options.moveChance)) return this.hangUp("client moved to another server");
    const planned = this.planner.next();
    if (planned.kind === "closeSession") this.closing = true;
    if (planned.syncFirst) this.send({ op: "sync", path: planned.record.path ?? "/" });
    const xid = this.send(planned.request);
    const process = this.process + lane * laneStride;
    const inFlight: InFlight = { lane, process, planned, finalXid: xid };
    this.lanes[lane] = inFlight;
    this.byXid.set(xid, inFlight);
    this.history.add({ type: "invoke", process, session: this.sessionHex(), ...planned.record });
    const atMs = this.world.nowMs + this.options.opTimeoutMs;
    this.deadlines.push({ atMs, xid, inFlight, connId: this.connId });
    if (!this.deadlineArmed) this.armDeadline();
  }

  private pending(deadline: Deadline): boolean {
    return this.byXid.get(deadline.xid) === deadline.inFlight && this.connId === deadline.connId;
  }

  /** Puts the first timeout still pending on the agenda; answered ones are dropped unseen. */
  private armDeadline(): void {
    const deadlines = this.deadlines;
    while (this.deadlinesDone < deadlines.length && !this.pending(deadlines[this.deadlinesDone]!))
      this.deadlinesDone++;
    if (this.deadlinesDone > 1024 && this.deadlinesDone * 2 > deadlines.length) {
      deadlines.splice(0, this.deadlinesDone);
      this.deadlinesDone = 0;
    }
    const next = deadlines[this.deadlinesDone];
    this.deadlineArmed = next !== undefined;
    if (next !== undefined) this.world.atTime(next.atMs, () => this.deadlineDue());
  }

  private deadlineDue(): void {
    const due = this.deadlines[this.deadlinesDone]!;
    this.deadlinesDone++;
    if (this.pending(due)) this.hangUp("operation timed out");
    this.armDeadline();
  }

  private onReply(xid: number, reply: Reply): void {
    if (reply.zxid > this.lastZxid) this.lastZxid = reply.zxid;
    if (xid === setWatchesXid) return this.setWatchesAnswered(reply);
    const inFlight = this.byXid.get(xid);
    if (inFlight === undefined) return;
    this.byXid.delete(xid);
    this.lanes[inFlight.lane] = undefined;
    this.completed++;
    const { planned, process } = inFlight;
    if (acknowledgedWrite(planned, reply) && this.session !== undefined) {
      const what = `${planned.record.op} ${planned.record.path ?? ""}`;
      this.world.stateChecker.acknowledge(reply.zxid, this.session.id, xid, what);
    }
    this.planner.learn(planned, reply);
    this.history.add({
      process,
      session: this.sessionHex(),
      ...planned.record,
      zxid: reply.zxid,
      ...completionOf(reply),
    });
    const request = planned.request;
    if (request.op === "getData" && request.watch && reply.err === Err.OK)
      this.dataWatches.add(request.path);
    if (request.op === "addWatch" && reply.err === Err.OK) {
      if (request.mode === AddWatchMode.Persistent) this.persistentWatches.add(request.path);
      else this.recursiveWatches.add(request.path);
    }
    if (planned.kind === "closeSession") {
      this.closing = false;
      // On success the server hangs up next; the next connect starts a fresh session.
      if (reply.err === Err.OK) return this.endSession();
      return this.scheduleAll();
    }
    this.scheduleNext(inFlight.lane);
  }
}
