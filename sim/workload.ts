// Model clients: each one a ZooKeeper session doing one operation at a time, with a timeout, through
// a client that reconnects to another server and moves its session there as real clients do. Every
// operation goes into the history for the checker.

import { fromUtf8, utf8 } from "../core/bytes.ts";
import { Err } from "../core/errors.ts";
import type { ClientOp, ConnId, Effect, NodeId } from "../core/replica/index.ts";
import type { MultiWriteOp, Reply } from "../core/requests.ts";
import type { SessionId, Zxid } from "../core/types.ts";
import { CreateMode, hex, openAclUnsafe, sessionId, zxid } from "../core/types.ts";
import type { History } from "./history.ts";
import { eventTypeName } from "../core/watches.ts";
import type { Rng } from "./rng.ts";
import type { ClientEndpoint, World } from "./world.ts";

export interface WorkloadOptions {
  clients: number;
  keys: number;
  thinkMeanMs: number;
  opTimeoutMs: number;
  sessionTimeoutMs: number;
  /** Relative weights of the op kinds. */
  mix: Record<OpKind, number>;
}

export type OpKind = "read" | "syncRead" | "write" | "cas" | "create" | "delete" | "ephemeral" | "sequential" | "multi" | "children" | "closeSession";

interface Current {
  xid: number;
  kind: OpKind;
  op: ClientOp;
  record: { op: string; path?: string; args?: Record<string, unknown> };
  /** For sync-then-read: the read's xid; the op completes with the read's reply. */
  finalXid: number;
}

const definiteErrors = new Set<number>([Err.NONODE, Err.NODEEXISTS, Err.BADVERSION, Err.NOTEMPTY, Err.NOCHILDRENFOREPHEMERALS, Err.RUNTIMEINCONSISTENCY]);

export class SimClient implements ClientEndpoint {
  private connId: ConnId | undefined;
  private session: { id: SessionId; password: Uint8Array } | undefined;
  private lastZxid: Zxid = zxid(0n);
  private connected = false;
  private xid = 0;
  private current: Current | undefined;
  private counter = 0;
  private versions = new Map<string, number>();
  /** Paths with a data watch this session set and that has not fired: re-registered on reconnect. */
  private dataWatches = new Set<string>();
  stopped = false;
  completed = 0;

  constructor(
    readonly process: number,
    private readonly world: World,
    private readonly rng: Rng,
    private readonly history: History,
    private readonly options: WorkloadOptions,
  ) {}

  get busy(): boolean {
    return this.current !== undefined;
  }

  start(): void {
    this.world.at(this.rng.exponential(50), () => this.connect());
  }

  private time(): number {
    return Math.round(this.world.nowMs * 1000);
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
      type: "clientConnect", connId, clientAddr: `10.0.0.${this.process}`,
      sessionId: this.session?.id ?? sessionId(0n), password: this.session?.password ?? new Uint8Array(16),
      timeoutMs: this.options.sessionTimeoutMs, lastZxidSeen: this.lastZxid,
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
      this.history.add({ type: "info", process: this.process, session: this.sessionHex(), time: this.time(), ...this.current.record, result: { reason } });
      this.current = undefined;
    }
    if (!this.stopped || this.session !== undefined) this.world.at(10 + this.rng.exponential(100), () => this.connect());
  }

  onEffect(effect: Effect): void {
    if (!("connId" in effect) || effect.connId !== this.connId) return;
    switch (effect.type) {
      case "connectResponse":
        if (effect.timeoutMs === 0) {
          this.history.add({ type: "event", process: this.process, session: this.sessionHex(), time: this.time(), op: "sessionExpired" });
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
          type: "event", process: this.process, session: this.sessionHex(), time: this.time(), op: "watch",
          path: effect.event.path, result: { event: eventTypeName(effect.event.type) }, zxid: hex(effect.event.zxid),
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
   * Every ZooKeeper client re-registers its watches on a new connection (SetWatches, before any other
   * request) with the last zxid it saw, so that changes it missed while disconnected fire at once.
   */
  private reregisterWatches(): void {
    if (this.dataWatches.size === 0) return;
    this.world.sendToServer(this.connId!, {
      type: "clientRequest", connId: this.connId!, xid: -8,
      request: { op: "setWatches", relativeZxid: this.lastZxid, data: [...this.dataWatches].sort(), exist: [], child: [], persistent: [], persistentRecursive: [] },
    });
  }

  private ping(): void {
    this.world.sendToServer(this.connId!, { type: "clientRequest", connId: this.connId!, xid: -2, request: { op: "ping" } });
    this.world.at(this.options.sessionTimeoutMs / 3, () => this.scheduleNext());
  }

  private send(op: ClientOp): number {
    const xid = ++this.xid;
    this.world.sendToServer(this.connId!, { type: "clientRequest", connId: this.connId!, xid, request: op });
    return xid;
  }

  private issue(): void {
    const kind = this.pickKind();
    const { op, record, syncFirst } = this.buildOp(kind);
    const syncXid = syncFirst ? this.send({ op: "sync", path: record.path ?? "/" }) : undefined;
    const xid = this.send(op);
    this.current = { xid: syncXid ?? xid, kind, op, record, finalXid: xid };
    this.history.add({ type: "invoke", process: this.process, session: this.sessionHex(), time: this.time(), ...record });
    const connId = this.connId;
    this.world.at(this.options.opTimeoutMs, () => {
      if (this.current?.finalXid === xid && this.connId === connId) this.hangUp("operation timed out");
    });
  }

  private pickKind(): OpKind {
    const entries = Object.entries(this.options.mix) as [OpKind, number][];
    const total = entries.reduce((n, [, w]) => n + w, 0);
    let roll = this.rng.float() * total;
    for (const [kind, weight] of entries) {
      roll -= weight;
      if (roll < 0) return kind;
    }
    return "read";
  }

  private buildOp(kind: OpKind): { op: ClientOp; record: Current["record"]; syncFirst: boolean } {
    const key = `/k${this.rng.int(0, this.options.keys - 1)}`;
    const value = `v${this.process}.${++this.counter}`;
    const create = (path: string, flags: number, data: string): ClientOp => ({ op: "create", path, data: utf8(data), acl: openAclUnsafe, flags, ttl: -1 });
    switch (kind) {
      case "read":
      case "syncRead": {
        const watch = this.rng.chance(0.3);
        return { op: { op: "getData", path: key, watch }, record: { op: "getData", path: key, args: { sync: kind === "syncRead", watch } }, syncFirst: kind === "syncRead" };
      }
      case "write":
        return { op: { op: "setData", path: key, data: utf8(value), version: -1 }, record: { op: "setData", path: key, args: { data: value, version: -1 } }, syncFirst: false };
      case "cas": {
        const version = this.versions.get(key) ?? 0;
        return { op: { op: "setData", path: key, data: utf8(value), version }, record: { op: "setData", path: key, args: { data: value, version } }, syncFirst: false };
      }
      case "create": {
        // /q is the parent of the sequential nodes; /m* are the nodes multis work on.
        const roll = this.rng.float();
        const path = roll < 0.15 ? "/q" : roll < 0.4 ? `/m${this.rng.int(0, 2)}` : key;
        return { op: create(path, CreateMode.PERSISTENT, value), record: { op: "create", path, args: { data: value, mode: "persistent" } }, syncFirst: false };
      }
      case "delete":
        return { op: { op: "delete", path: key, version: -1 }, record: { op: "delete", path: key, args: { version: -1 } }, syncFirst: false };
      case "ephemeral": {
        const path = `/e${this.process}`;
        return { op: create(path, CreateMode.EPHEMERAL, value), record: { op: "create", path, args: { data: value, mode: "ephemeral" } }, syncFirst: false };
      }
      case "sequential":
        return { op: create("/q/n-", CreateMode.PERSISTENT_SEQUENTIAL, value), record: { op: "create", path: "/q/n-", args: { data: value, mode: "sequential" } }, syncFirst: false };
      case "children":
        return { op: { op: "getChildren", path: "/q", watch: false }, record: { op: "getChildren", path: "/q", args: {} }, syncFirst: false };
      case "multi":
        return this.buildMulti(key, value);
      case "closeSession":
        return { op: { op: "closeSession" }, record: { op: "closeSession", args: {} }, syncFirst: false };
    }
  }

  private buildMulti(key: string, value: string): { op: ClientOp; record: Current["record"]; syncFirst: boolean } {
    // Multis get their own few paths, so that the paths they join into one partition for the checker
    // do not pull every register of the workload into it.
    void key;
    const checked = `/m${this.rng.int(0, 2)}`;
    const other = `/m${this.rng.int(0, 2)}`;
    const version = this.versions.get(checked) ?? 0;
    const ops: MultiWriteOp[] = [
      { op: "check", path: checked, version },
      { op: "setData", path: other, data: utf8(value), version: -1 },
    ];
    const args = { ops: [{ op: "check", path: checked, version }, { op: "setData", path: other, data: value, version: -1 }] };
    return { op: { op: "multi", ops }, record: { op: "multi", args }, syncFirst: false };
  }

  private onReply(xid: number, reply: Reply): void {
    if (reply.zxid > this.lastZxid) this.lastZxid = reply.zxid;
    const current = this.current;
    if (current === undefined || xid !== current.finalXid) return;
    this.current = undefined;
    this.completed++;
    const isWrite = ["create", "setData", "delete", "multi", "closeSession"].includes(current.record.op);
    if (isWrite && reply.err === 0 && !reply.results?.some((r) => r.op === "error") && this.session !== undefined) {
      this.world.stateChecker.acknowledge(reply.zxid, this.session.id, xid, `${current.record.op} ${current.record.path ?? ""}`);
    }
    this.recordCompletion(current, reply);
    if (current.op.op === "getData" && current.op.watch && reply.err === Err.OK) this.dataWatches.add(current.op.path);
    if (current.kind === "closeSession" && reply.err === Err.OK) {
      this.session = undefined;
      this.dataWatches.clear(); // the server hangs up next; the next connect starts a fresh session
      return;
    }
    this.scheduleNext();
  }

  private recordCompletion(current: Current, reply: Reply): void {
    const base = { process: this.process, session: this.sessionHex(), time: this.time(), ...current.record, zxid: hex(reply.zxid) };
    const failedOp = reply.results?.find((r) => r.op === "error" && r.err !== Err.OK && r.err !== Err.RUNTIMEINCONSISTENCY);
    const err = failedOp?.op === "error" ? failedOp.err : reply.err;
    if (err !== Err.OK) {
      const definite = definiteErrors.has(err) || (current.kind === "read" && err === Err.NONODE);
      this.history.add({ ...base, type: definite ? "fail" : "info", err });
      return;
    }
    const result: Record<string, unknown> = {};
    if (reply.path !== undefined) result.path = reply.path;
    // The history format has string data only; these workloads never write null data.
    if (reply.data != null) result.data = fromUtf8(reply.data);
    if (reply.stat !== undefined) {
      result.version = reply.stat.version;
      result.mzxid = hex(reply.stat.mzxid);
      if (current.record.path !== undefined) this.versions.set(current.record.path, reply.stat.version);
    }
    if (reply.children !== undefined) result.children = [...reply.children].sort();
    if (reply.stat !== undefined && reply.stat.ephemeralOwner !== 0n) result.ephemeralOwner = hex(reply.stat.ephemeralOwner);
    this.history.add({ ...base, type: "ok", result });
  }
}
