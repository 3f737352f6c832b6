// The production runtime: the core's step function behind real sockets, timers and disk. One
// deliver(input) path into the core and one interpret(effect) switch out of it, as in the
// simulator; the protocol lives in core/, the bytes in wire.ts and peer-codec.ts.

import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import type { Server as HttpServer } from "node:http";
import type { Server, Socket } from "node:net";
import { join } from "node:path";
import type {
  ClientOp,
  ConnId,
  DurableState,
  Effect,
  EffectHandlers,
  Input,
  NodeId,
  PeerMessage,
  ReplicaView,
} from "../core/replica/index.ts";
import {
  dispatchEffects,
  needsSnapshot,
  replicaConfig,
  ReplicaDriver,
} from "../core/replica/index.ts";
import { DecodeError } from "../core/codec.ts";
import { Err } from "../core/errors.ts";
import type { Reply } from "../core/requests.ts";
import { zxid } from "../core/types.ts";
import type { Zxid } from "../core/types.ts";
import type { AdminView, ConnectionInfo, ServerStats } from "./admin.ts";
import { fourLetterWord, fourLetterWordOf } from "./admin.ts";
import type { ServerEntry, ZooConfig } from "./config.ts";
import { ConfigError } from "./config.ts";
import { EventLog } from "./event-log.ts";
import { frame, type FrameError, Framer } from "./framing.ts";
import { JuteError } from "./jute-io.ts";
import type { Logger } from "./log.ts";
import { PeerTransport } from "./peers.ts";
import { replicaStatus } from "./replica-status.ts";
import { FileStorage } from "./storage.ts";
import { startMetrics } from "./metrics.ts";
import { Snapshotter } from "./snapshotter.ts";
import {
  decodeClientFrame,
  decodeConnectRequest,
  encodeConnectResponse,
  encodeNotification,
  encodeReply,
  isKnownOpCode,
  MalformedRecord,
  OpCode,
  UnsupportedOp,
  unsupportedOpErr,
} from "./wire.ts";
import { sendCorked, writeCorked } from "./corked.ts";
import type { ClientFrame } from "./wire.ts";

/**
 * The core's clock: wall time when the process started, then advanced by the monotonic clock, so
 * that session deadlines never jump with a wall-clock step (ZooKeeper also times sessions with a
 * monotonic clock) while znode times stay within the drift since start of wall time.
 */
export function coreClockMs(): number {
  return Math.floor(performance.timeOrigin + performance.now());
}

/**
 * Replies queued to a client that does not read them, past which its requests are no longer read.
 */
const clientSendBufferMax = 4 * 1024 * 1024;

interface ClientConn {
  connId: ConnId;
  socket: Socket;
  remote: string;
  ip: string;
  framer: Framer;
  connected: boolean;
  /** Ops sent and not yet answered, in order (replies come back in the same order). */
  /** Requests not yet answered, in order: for latency figures and the outstanding limit. */
  pending: { xid: number; startedMs: number }[];
  /** Frames received but not yet handed to the core: the connection is throttled. */
  backlog: Uint8Array[];
  draining: boolean;
  received: number;
  sent: number;
  lastOperation: string;
  sessionId: bigint | undefined;
  /** What the ConnectRequest asked for: 0 for a new session. */
  requestedSessionId: bigint;
  /** When the client last sent anything (for the logs: how long a session was silent). */
  lastHeardMs: number;
}

/** A port the server cannot listen on: the one line an operator needs, naming the zoo.cfg key. */
export class ListenError extends Error {
  override name = "ListenError";
  constructor(
    readonly what: string,
    readonly key: string,
    readonly host: string,
    readonly port: number,
    readonly code: string | undefined,
  ) {
    const why =
      code === "EADDRINUSE"
        ? "is already in use"
        : code === "EACCES"
          ? "may not be bound by this user"
          : code === "EADDRNOTAVAIL"
            ? "is not an address of this machine"
            : `cannot be listened on (${code ?? "unknown error"})`;
    super(`${what} ${host}:${port} ${why} (zoo.cfg ${key})`);
  }
}

/** Resolves once `server` listens; rejects with a ListenError naming `key` if it cannot. */
function listening(
  server: Server | HttpServer,
  what: string,
  key: string,
  host: string,
  port: number,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(new ListenError(what, key, host, port, error.code));
    };
    server.once("error", onError);
    server.once("listening", () => {
      server.off("error", onError);
      resolve();
    });
  });
}

export class ZkServer {
  private core!: ReplicaDriver;
  private handlers!: EffectHandlers;
  private storage!: FileStorage;
  private snapshotter!: Snapshotter;
  snapshotsWritten = 0;
  private peers: PeerTransport | undefined;
  private clientServer: Server | undefined;
  private metrics: import("node:http").Server | undefined;
  private readonly conns = new Map<ConnId, ClientConn>();
  /** The connection each session is attached to on this server. */
  private readonly bySession = new Map<bigint, ClientConn>();
  private events!: EventLog;
  private readonly perIp = new Map<string, number>();
  /** Connections not being read (see drainBacklog), in the order they were throttled. */
  private readonly throttled = new Set<ClientConn>();
  /** Client requests handed to the core and not yet answered, over all connections. */
  private outstanding = 0;
  private resumeScheduled = false;
  private readonly inbox: Input[] = [];
  private delivering = false;
  private timer: NodeJS.Timeout | undefined;
  private nextConnId = 1;
  private stopped = false;
  readonly id: NodeId;
  readonly stats: ServerStats;

  constructor(
    readonly config: ZooConfig,
    private readonly log: Logger,
  ) {
    this.id = config.myid ?? readMyid(config.dataDir) ?? 1;
    this.stats = {
      startedAtMs: Date.now(),
      nowMs: Date.now(),
      packetsReceived: 0,
      packetsSent: 0,
      latencyMinMs: Infinity,
      latencyMaxMs: 0,
      latencyTotalMs: 0,
      latencyCount: 0,
      fsyncs: 0,
      maxFileDescriptors: 1024,
      throttledCount: 0,
      snapshotSyncs: 0,
      snapshotSyncsInline: 0,
    };
  }

  get standalone(): boolean {
    return this.config.servers.length === 0;
  }

  /**
   * Recovers from disk, starts the core, opens the peer and client ports. A port that cannot be
   * bound stops what started and rejects with a ListenError.
   */
  async start(): Promise<void> {
    try {
      await this.startListening();
    } catch (error) {
      if (error instanceof ListenError) await this.stop();
      throw error;
    }
  }

  private startListening(): Promise<void> {
    const startedMs = performance.now();
    const c = this.config;
    const peers = this.standalone
      ? [this.id]
      : c.servers.filter((s) => s.role === "participant").map((s) => s.id);
    const coreConfig = replicaConfig({
      id: this.id,
      peers,
      tickMs: c.tickTime,
      initLimit: c.initLimit,
      syncLimit: c.syncLimit,
      minSessionTimeoutMs: c.minSessionTimeout,
      maxSessionTimeoutMs: c.maxSessionTimeout,
      extendedTypesEnabled: c.extendedTypesEnabled,
      dataBytesMax: c.juteMaxBuffer,
      superDigest: c.superDigest,
      commitLogKeep: c.commitLogCount,
      // Snapshots are encoded from a capture of the tree, a piece per turn of the event loop
      // (snapshotter.ts).
      snapshotEveryTxns: c.snapshotInline ? c.snapCount : Infinity,
    });
    const { storage, durable, recoveryNotes } = FileStorage.open({
      dataDir: c.dataDir,
      dataLogDir: c.dataLogDir,
      retainSnapshots: c.autopurgeSnapRetainCount,
      onDurable: (id) => this.deliver({ type: "persistDone", id }),
      onPurged: (removed) => {
        this.log("info", "purged", { files: removed, retainSnapshots: c.autopurgeSnapRetainCount });
      },
      beforeRound: sendCorked,
    });
    this.storage = storage;
    this.core = new ReplicaDriver(this.id, coreConfig);
    this.handlers = this.effectHandlers();
    const effects = this.startCore(durable, recoveryNotes);
    for (const note of recoveryNotes) this.log("warn", "recovery", { note });
    const recovered = this.core.inspect()!;
    this.log("info", "recovered", {
      logTxns: durable.log.length,
      snapshot: durable.snapshot !== undefined,
      acceptedEpoch: durable.acceptedEpoch,
      currentEpoch: durable.currentEpoch,
      znodes: recovered.tree.size,
      tookMs: Math.round(performance.now() - startedMs),
    });
    this.events = new EventLog(
      this.log,
      this.id,
      {
        conn: (connId) => this.conns.get(connId),
        connOfSession: (id) => this.bySession.get(id),
        status: () => replicaStatus(this.core),
      },
      Date.now(),
    );
    this.snapshotter = new Snapshotter({
      capture: () => this.core.captureSnapshot(),
      dataDir: c.dataDir,
      snapCount: c.snapshotInline ? Infinity : c.snapCount,
      onWritten: (written) => {
        this.log("info", "snapshot written", {
          zxid: written.zxid,
          znodes: written.znodes,
          changedMeanwhile: written.changedMeanwhile,
          tookMs: Math.round(written.tookMs),
        });
        this.snapshotsWritten++;
        this.storage.snapshotWritten();
      },
      onError: (error) => this.log("error", "snapshot failed", { error: error.message }),
    });
    const peersListening = this.standalone ? Promise.resolve() : this.startPeers();
    this.events.effects(undefined, effects, Date.now());
    this.interpret(effects);
    let metricsListening = Promise.resolve();
    if (c.metricsPort !== undefined) {
      this.metrics = startMetrics(c.metricsPort, c.clientPortAddress, () => this.adminView());
      const key = "metricsProvider.httpPort";
      const host = c.clientPortAddress;
      metricsListening = listening(this.metrics, "metrics port", key, host, c.metricsPort);
    }
    // The first listener to fail is the one reported (one line, see main.ts).
    return Promise.all([peersListening, metricsListening, this.listenClients()]).then(
      () => undefined,
    );
  }

  /** Starts the core from the newest snapshot that decodes (checksum, format and digest). */
  private startCore(durable: DurableState, notes: string[]): readonly Effect[] {
    for (;;) {
      try {
        return this.core.start(durable, coreClockMs());
      } catch (error) {
        if (!(error instanceof DecodeError) || durable.snapshot === undefined) throw error;
        durable.snapshot = this.storage.olderSnapshot(notes, error.message);
      }
    }
  }

  private startPeers(): Promise<void> {
    const self = this.config.servers.find((s) => s.id === this.id);
    if (self === undefined) {
      throw new ConfigError("myid", `${this.id} is not among the server.N lines`);
    }
    const others: ServerEntry[] = this.config.servers.filter((s) => s.id !== this.id);
    this.peers = new PeerTransport(self, others, {
      onMessage: (from, message) => this.deliver({ type: "peerMessage", from, message }),
      onUp: (peer) => this.deliver({ type: "peerUp", peer }),
      onDown: (peer) => this.deliver({ type: "peerDown", peer }),
      log: (msg) => this.log("warn", msg),
    });
    return this.peers.start().catch((error: NodeJS.ErrnoException) => {
      throw new ListenError("peer port", `server.${self.id}`, self.host, self.peerPort, error.code);
    });
  }

  private listenClients(): Promise<void> {
    const server = createServer((socket) => this.acceptClient(socket));
    this.clientServer = server;
    const self = this.config.servers.find((s) => s.id === this.id);
    const port = self?.clientPort ?? this.config.clientPort;
    const host = self?.clientHost ?? this.config.clientPortAddress;
    const key = self?.clientPort !== undefined ? `server.${self.id}` : "clientPort";
    const ready = listening(server, "client port", key, host, port).then(() => {
      const mode = this.standalone ? "standalone" : "ensemble";
      this.log("info", "serving clients", { port, host, serverId: this.id, mode });
    });
    server.listen(port, host);
    return ready;
  }

  /** The one way into the core. */
  deliver(input: Input): void {
    if (this.stopped) return;
    this.inbox.push(input);
    // Called while a step's effects are being written out (a reply that closes the connection):
    // the input waits its turn, so no effect of a later step overtakes one of an earlier step.
    if (this.delivering) return;
    this.delivering = true;
    try {
      for (
        let next = this.inbox.shift();
        next !== undefined && !this.stopped;
        next = this.inbox.shift()
      ) {
        this.stats.nowMs = Date.now();
        if (next.type === "tick") this.stats.fsyncs = this.storage.stats.fsyncs;
        const nowMs = coreClockMs();
        this.events.input(next, nowMs);
        const effects = this.core.deliver(next, nowMs);
        this.events.effects(next, effects, nowMs);
        this.interpret(effects);
      }
    } finally {
      this.delivering = false;
    }
  }

  /** The one way out of it. */
  private interpret(effects: readonly Effect[]): void {
    dispatchEffects(effects, this.handlers);
  }

  private effectHandlers(): EffectHandlers {
    return {
      send: (effect) => {
        if (needsSnapshot(effect.message)) this.sendWithSnapshot(effect.to, effect.message);
        else this.peers?.send(effect.to, effect.message);
      },
      persist: (effect) => this.storage.enqueue(effect.id, effect.writes),
      setTimer: (effect) => this.setTimer(effect.atMs),
      connectResponse: (effect) => {
        const response = encodeConnectResponse(effect.timeoutMs, effect.sessionId, effect.password);
        this.toClient(effect.connId, response, (c) => {
          c.connected = effect.timeoutMs > 0;
          c.sessionId = effect.sessionId;
          if (c.connected) this.bySession.set(effect.sessionId, c);
        });
      },
      reply: (effect) => this.replyToClient(effect.connId, effect.xid, effect.op, effect.reply),
      watchEvent: (effect) => this.toClient(effect.connId, encodeNotification(effect.event)),
      closeConnection: (effect) => this.closeClient(effect.connId, effect.reason, false),
      applied: (effect) => this.snapshotter.applied(effect.txns.length),
      treeReplaced: () => this.snapshotter.treeReplaced(),
      // The event log reads these off the step's effects (event-log.ts).
      status: () => {},
      sessionExpired: () => {},
    };
  }

  /**
   * A SNAP sync: the snapshotter encodes the tree as captured at the zxid the SYNC names, a piece
   * per turn, so the leader's event loop does not stall for the seconds a large tree takes.
   * Messages to that follower wait behind it. With syncSnapshotInline it is encoded here and now.
   */
  private sendWithSnapshot(
    to: NodeId,
    message: PeerMessage & { type: "SYNC"; snapshotAt: Zxid },
  ): void {
    if (this.peers === undefined) return;
    let encoded: Promise<PeerMessage>;
    const started = performance.now();
    const sent = (snapshot: Uint8Array) => {
      this.events.snapshotSent(to, message, snapshot.length, performance.now() - started);
    };
    if (!this.config.syncSnapshotInline) {
      this.stats.snapshotSyncs++;
      encoded = this.snapshotter.encodeAt(message.snapshotAt).then((snapshot) => {
        sent(snapshot);
        const { snapshotAt: _named, ...rest } = message;
        return { ...rest, snapshot };
      });
    } else {
      this.stats.snapshotSyncsInline++;
      try {
        const withBytes = this.core.encodeSnapshotFor(message);
        if (withBytes.type === "SYNC" && withBytes.snapshot !== undefined) sent(withBytes.snapshot);
        encoded = Promise.resolve(withBytes);
      } catch (error) {
        // The link is cut; the core syncs the follower again.
        encoded = Promise.reject(error as Error);
      }
    }
    this.peers.sendWhenReady(to, encoded);
  }

  private setTimer(atMs: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    const delayMs = Math.max(0, atMs - coreClockMs());
    this.timer = setTimeout(() => this.deliver({ type: "tick" }), delayMs);
  }

  private toClient(connId: ConnId, payload: Uint8Array, before?: (c: ClientConn) => void): void {
    const conn = this.conns.get(connId);
    if (conn === undefined) return;
    before?.(conn);
    conn.sent++;
    this.stats.packetsSent++;
    writeCorked(conn.socket, frame(payload));
  }

  private replyToClient(connId: ConnId, xid: number, op: ClientOp, reply: Reply): void {
    const conn = this.conns.get(connId);
    if (conn === undefined) return;
    const index = conn.pending.findIndex((p) => p.xid === xid);
    if (index < 0) return;
    const [pending] = conn.pending.splice(index, 1);
    this.outstanding--;
    const latencyMs = Date.now() - pending!.startedMs;
    this.stats.latencyCount++;
    this.stats.latencyTotalMs += latencyMs;
    this.stats.latencyMinMs = Math.min(this.stats.latencyMinMs, latencyMs);
    this.stats.latencyMaxMs = Math.max(this.stats.latencyMaxMs, latencyMs);
    this.toClient(connId, encodeReply(xid, op, reply));
    if (op.op === "auth" && reply.err === Err.AUTHFAILED)
      this.closeClient(connId, "authentication failed", true);
    // ZooKeeper 3.8 answers an opcode it does not know, then drops the connection, not the session.
    if (op.op === "unsupported" && !isKnownOpCode(op.opcode)) {
      this.closeClient(connId, "unknown opcode", true);
    }
    // Never from inside interpret(): feeding the core a new request while the effects of its last
    // step are still being written out would let the new replies overtake the rest of them.
    if (this.throttled.size > 0 && !this.resumeScheduled) {
      this.resumeScheduled = true;
      setImmediate(() => {
        this.resumeScheduled = false;
        this.resumeThrottled();
      });
    }
  }

  private acceptClient(socket: Socket): void {
    const ip = socket.remoteAddress?.replace(/^::ffff:/, "") ?? "unknown";
    const count = this.perIp.get(ip) ?? 0;
    if (this.config.maxClientCnxns > 0 && count >= this.config.maxClientCnxns) {
      this.log("warn", "connection refused", {
        client: `${ip}:${socket.remotePort}`,
        reason: "too many connections from one address",
        maxClientCnxns: this.config.maxClientCnxns,
      });
      socket.destroy();
      return;
    }
    this.perIp.set(ip, count + 1);
    socket.setNoDelay(true);
    const conn: ClientConn = {
      connId: this.nextConnId++,
      socket,
      remote: `${ip}:${socket.remotePort}`,
      ip,
      framer: new Framer(this.config.juteMaxBuffer),
      connected: false,
      pending: [],
      backlog: [],
      draining: false,
      received: 0,
      sent: 0,
      lastOperation: "NA",
      sessionId: undefined,
      requestedSessionId: 0n,
      lastHeardMs: Date.now(),
    };
    this.conns.set(conn.connId, conn);
    let first = true;
    socket.on("data", (chunk: Buffer) => {
      conn.lastHeardMs = Date.now();
      const bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length);
      if (first && bytes.length >= 4 && this.answerFourLetterWord(conn, bytes)) return;
      first = false;
      this.onClientBytes(conn, bytes);
    });
    socket.on("drain", () => this.resumeThrottled());
    socket.on("close", () => this.onClientClosed(conn));
    socket.on("error", () => {});
  }

  /** ZooKeeper reads a fresh connection's first 4 bytes as a command if they spell a known word. */
  private answerFourLetterWord(conn: ClientConn, bytes: Uint8Array): boolean {
    const word = fourLetterWordOf(bytes.subarray(0, 4));
    if (word === undefined) return false;
    const answer = fourLetterWord(word, this.adminView());
    conn.socket.end(answer ?? `${word} is not executed because it is not in the whitelist.\n`);
    return true;
  }

  private onClientBytes(conn: ClientConn, bytes: Uint8Array): void {
    let frames: Uint8Array[];
    try {
      frames = conn.framer.push(bytes);
    } catch (error) {
      return this.closeClient(conn.connId, `bad frame: ${(error as FrameError).message}`, true);
    }
    for (const payload of frames) conn.backlog.push(payload);
    this.drainBacklog(conn);
  }

  /**
   * Hands a connection's frames to the core while the server is not overloaded. Past
   * globalOutstandingLimit requests in flight, or with a client that does not read its replies
   * (its send buffer past clientSendBufferMax), the socket stops being read: TCP then pushes back
   * on the client, and memory stays bounded whatever clients send.
   */
  private drainBacklog(conn: ClientConn): void {
    // A reply sent while handing over a frame must not start a second pass.
    if (conn.draining) return;
    conn.draining = true;
    while (conn.backlog.length > 0 && !this.mustThrottle(conn)) {
      const payload = conn.backlog.shift()!;
      conn.received++;
      this.stats.packetsReceived++;
      if (conn.sessionId === undefined && conn.received === 1) this.onConnectRequest(conn, payload);
      else this.onRequestFrame(conn, payload);
      if (!this.conns.has(conn.connId)) return;
    }
    conn.draining = false;
    if (conn.backlog.length > 0 || this.mustThrottle(conn)) {
      if (!this.throttled.has(conn)) this.stats.throttledCount++;
      this.throttled.add(conn);
      conn.socket.pause();
    }
  }

  private mustThrottle(conn: ClientConn): boolean {
    return (
      this.outstanding >= this.config.globalOutstandingLimit ||
      conn.socket.writableLength > clientSendBufferMax
    );
  }

  /**
   * After a reply or a drained socket: throttled connections go on, oldest first, while there is
   * room.
   */
  private resumeThrottled(): void {
    for (const conn of [...this.throttled]) {
      if (this.outstanding >= this.config.globalOutstandingLimit) return;
      this.throttled.delete(conn);
      if (!this.conns.has(conn.connId)) continue;
      if (conn.socket.writableLength > clientSendBufferMax) {
        this.throttled.add(conn); // re-queued at the end; its own drain event brings it back
        continue;
      }
      conn.socket.resume();
      this.drainBacklog(conn);
    }
  }

  private onConnectRequest(conn: ClientConn, payload: Uint8Array): void {
    try {
      const request = decodeConnectRequest(payload);
      conn.requestedSessionId = request.sessionId;
      this.deliver({
        type: "clientConnect",
        connId: conn.connId,
        clientAddr: conn.ip,
        sessionId: request.sessionId,
        password: request.password,
        timeoutMs: request.timeoutMs,
        lastZxidSeen: zxid(request.lastZxidSeen),
      });
    } catch (error) {
      if (!(error instanceof JuteError)) throw error;
      this.closeClient(conn.connId, `malformed ConnectRequest: ${error.message}`, true);
    }
  }

  private onRequestFrame(conn: ClientConn, payload: Uint8Array): void {
    let decoded: ClientFrame;
    try {
      decoded = decodeClientFrame(payload);
    } catch (error) {
      if (error instanceof UnsupportedOp) {
        // Answered by the core in request order, with the code ZooKeeper 3.8 sends.
        const xid = new DataView(payload.buffer, payload.byteOffset).getInt32(0);
        const err = unsupportedOpErr(error.type, payload.subarray(8), this.config.reconfigEnabled);
        decoded = {
          xid,
          type: error.type,
          op: { op: "unsupported" as const, opcode: error.type, err },
        };
      } else if (error instanceof MalformedRecord && error.type !== OpCode.auth) {
        // ZooKeeper 3.8 answers a record it cannot read with MARSHALLINGERROR and reads on; a
        // malformed auth packet closes the connection there, as here.
        const op = { op: "unsupported" as const, opcode: error.type, err: Err.MARSHALLINGERROR };
        decoded = { xid: error.xid, type: error.type, op };
      } else {
        if (!(error instanceof JuteError)) throw error;
        return this.closeClient(conn.connId, `malformed request: ${error.message}`, true);
      }
    }
    conn.lastOperation = decoded.op.op;
    conn.pending.push({ xid: decoded.xid, startedMs: Date.now() });
    this.outstanding++;
    this.deliver({
      type: "clientRequest",
      connId: conn.connId,
      xid: decoded.xid,
      request: decoded.op,
    });
  }

  private closeClient(connId: ConnId, reason: string, tellCore: boolean): void {
    const conn = this.conns.get(connId);
    if (conn === undefined) return;
    this.log(
      reason.startsWith("bad") || reason.startsWith("malformed") ? "warn" : "debug",
      "closing client connection",
      { remote: conn.remote, reason },
    );
    this.forget(conn);
    conn.socket.end();
    if (tellCore) this.deliver({ type: "clientDisconnect", connId });
  }

  private onClientClosed(conn: ClientConn): void {
    if (!this.conns.has(conn.connId)) return;
    this.forget(conn);
    this.deliver({ type: "clientDisconnect", connId: conn.connId });
  }

  private forget(conn: ClientConn): void {
    this.conns.delete(conn.connId);
    if (conn.sessionId !== undefined && this.bySession.get(conn.sessionId) === conn) {
      this.bySession.delete(conn.sessionId);
    }
    this.outstanding -= conn.pending.length;
    conn.pending.length = 0;
    conn.backlog.length = 0;
    this.throttled.delete(conn);
    const count = (this.perIp.get(conn.ip) ?? 1) - 1;
    if (count <= 0) this.perIp.delete(conn.ip);
    else this.perIp.set(conn.ip, count);
  }

  adminView(): AdminView {
    const connections: ConnectionInfo[] = [...this.conns.values()].map((c) => ({
      remote: c.remote,
      sessionId: c.sessionId,
      received: c.received,
      sent: c.sent,
      queued: c.pending.length,
      lastOperation: c.lastOperation,
    }));
    return {
      replica: this.core.inspect()!,
      config: this.config,
      stats: { ...this.stats, nowMs: Date.now() },
      connections,
      standalone: this.standalone,
    };
  }

  /** What tests and tools may read of the replica; valid until its next step. */
  inspect(): ReplicaView {
    return this.core.inspect()!;
  }

  /** Clean shutdown: stop taking input, close sockets, make the log durable. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    for (const conn of this.conns.values()) conn.socket.destroy();
    this.peers?.stop();
    this.metrics?.close();
    await new Promise<void>((resolve) =>
      this.clientServer === undefined ? resolve() : this.clientServer.close(() => resolve()),
    );
    await this.snapshotter.stop();
    this.storage.close();
    this.log("info", "stopped");
  }
}

function readMyid(dataDir: string): number | undefined {
  try {
    const id = Number(readFileSync(join(dataDir, "myid"), "utf8").trim());
    return Number.isInteger(id) && id >= 1 && id <= 254 ? id : undefined;
  } catch {
    return undefined;
  }
}
