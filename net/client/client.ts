// A promise-based ZooKeeper client: one session over a list of servers, kept across connection
// losses (reconnect to the next server with jittered exponential backoff, the session and every
// watch carried over with setWatches2), requests pipelined in order with a bound on how many are in
// flight. The bytes are the project's own codec (../wire.ts, ../framing.ts).

import { createConnection } from "node:net";
import type { Socket } from "node:net";
import { fromUtf8, utf8 } from "../../core/bytes.ts";
import { Err } from "../../core/errors.ts";
import type { ClientOp } from "../../core/replica/index.ts";
import type {
  MultiReadOp as WireReadOp,
  MultiWriteOp as WireWriteOp,
  Reply,
} from "../../core/requests.ts";
import type { Acl, Stat } from "../../core/types.ts";
import { CreateMode, openAclUnsafe, sessionId as toSessionId, zxid } from "../../core/types.ts";
import type { Zxid } from "../../core/types.ts";
import { frame, Framer } from "../framing.ts";
import {
  decodeConnectResponse,
  decodeNotification,
  decodeReplyBody,
  decodeReplyHeader,
  encodeConnectRequest,
  encodeRequest,
  Xid,
} from "../wire.ts";
import { parseConnectString } from "./connect-string.ts";
import type { ServerAddress } from "./connect-string.ts";
import {
  AuthFailedError,
  ClientClosedError,
  ConnectionLossError,
  RequestTimeoutError,
  SessionExpiredError,
  ZooKeeperError,
  zooKeeperError,
} from "./errors.ts";

export type { Acl, Id, Stat } from "../../core/types.ts";
export { openAclUnsafe, Perms, readAclUnsafe } from "../../core/types.ts";

/** znode data: bytes, or a string sent as UTF-8. */
export type Data = Uint8Array | string;

export type CreateModeName =
  | "persistent"
  | "ephemeral"
  | "persistentSequential"
  | "ephemeralSequential"
  | "container"
  | "persistentWithTtl"
  | "persistentSequentialWithTtl";

const createFlags: Record<CreateModeName, number> = {
  persistent: CreateMode.PERSISTENT,
  ephemeral: CreateMode.EPHEMERAL,
  persistentSequential: CreateMode.PERSISTENT_SEQUENTIAL,
  ephemeralSequential: CreateMode.EPHEMERAL_SEQUENTIAL,
  container: CreateMode.CONTAINER,
  persistentWithTtl: CreateMode.PERSISTENT_WITH_TTL,
  persistentSequentialWithTtl: CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL,
};

export type ConnectionState =
  /** Not yet connected for the first time. */
  | "connecting"
  | "connected"
  /** Connected to a server in read-only mode: reads work, writes fail with NOTREADONLY. */
  | "connectedReadOnly"
  /** The connection dropped; the client is looking for a server and the session may live on. */
  | "disconnected"
  /** The session is over (said by a server, or disconnected past its timeout): terminal. */
  | "expired"
  /** A server refused the credentials given to addAuth: terminal. */
  | "authFailed"
  /** close() was called: terminal. */
  | "closed";

export type WatchEventType =
  | "NodeCreated"
  | "NodeDeleted"
  | "NodeDataChanged"
  | "NodeChildrenChanged"
  | "DataWatchRemoved"
  | "ChildWatchRemoved"
  | "PersistentWatchRemoved";

const eventTypes: Record<number, WatchEventType> = {
  1: "NodeCreated",
  2: "NodeDeleted",
  3: "NodeDataChanged",
  4: "NodeChildrenChanged",
};

export interface WatchEvent {
  type: WatchEventType;
  /** The znode's path, relative to the chroot. */
  path: string;
}

export type Watcher = (event: WatchEvent) => void;

export interface RequestOptions {
  /** Aborting fails the call with the signal's reason; a request already sent may still apply. */
  signal?: AbortSignal;
  /** Fails the call with RequestTimeoutError after this long (default: the client's). */
  timeoutMs?: number;
}

export interface WatchOptions extends RequestOptions {
  /** A one-shot watch, registered if the call succeeds (exists: also when the node is missing). */
  watch?: Watcher;
}

export interface CreateOptions extends RequestOptions {
  mode?: CreateModeName;
  acl?: readonly Acl[];
  /** For the two TTL modes: how long the node may stay childless and unmodified. */
  ttlMs?: number;
}

export type MultiOp =
  | {
      type: "create";
      path: string;
      data?: Data;
      mode?: CreateModeName;
      acl?: readonly Acl[];
      ttlMs?: number;
    }
  | { type: "delete"; path: string; version?: number }
  | { type: "setData"; path: string; data: Data; version?: number }
  | { type: "check"; path: string; version: number };

export type MultiResult =
  | { type: "create"; path: string }
  | { type: "delete" }
  | { type: "setData"; stat: Stat }
  | { type: "check" };

export type MultiResultOf<O> = O extends { type: "create" }
  ? { type: "create"; path: string }
  : O extends { type: "delete" }
    ? { type: "delete" }
    : O extends { type: "setData" }
      ? { type: "setData"; stat: Stat }
      : { type: "check" };

export type MultiReadOp = { type: "getData"; path: string } | { type: "getChildren"; path: string };

export type MultiReadResultOf<O> = O extends { type: "getData" }
  ? { type: "getData"; data: Uint8Array; stat: Stat }
  : { type: "getChildren"; children: string[] };

export type WatcherTypeName = "children" | "data" | "any" | "persistent" | "persistentRecursive";
const watcherTypes: Record<WatcherTypeName, number> = {
  children: 1,
  data: 2,
  any: 3,
  persistent: 4,
  persistentRecursive: 5,
};

export interface ClientOptions {
  /** The session timeout asked for; the server negotiates it within its bounds (default 30 s). */
  sessionTimeoutMs?: number;
  /** Default per-request timeout; 0 waits as long as the session lives (default 0). */
  requestTimeoutMs?: number;
  /** How long one connection attempt may take (default: session timeout / number of servers). */
  connectTimeoutMs?: number;
  /** connect() gives up after this long without a first session (default: the session timeout). */
  initialConnectTimeoutMs?: number;
  /** Backoff between attempts after a full round of servers failed: from base up to max. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Requests sent and not yet answered, past which further requests wait (default 1000). */
  maxInFlight?: number;
  /** Credentials sent right after the session is established, and after every reconnect. */
  auth?: readonly { scheme: string; credentials: string }[];
  /** Accept a read-only server (ZooKeeper's canBeReadOnly). */
  canBeReadOnly?: boolean;
  /** Randomness for server order and backoff jitter (tests pass a seeded one). */
  random?: () => number;
}

interface Call {
  op: ClientOp;
  /** The path as the caller wrote it, for errors. */
  path: string | undefined;
  /** Runs as the reply frame is read, in order with watch events; throws to fail the call. */
  onReply: (reply: Reply) => unknown;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  settled: boolean;
  xid: number;
  cleanup: () => void;
}

interface AuthEntry {
  scheme: string;
  credentials: string;
  waiters: { resolve: () => void; reject: (error: Error) => void }[];
}

type WatchTable = Map<string, Set<Watcher>>;

/** One TCP connection; events of an older one are ignored once it is replaced. */
interface Connection {
  socket: Socket;
  server: ServerAddress;
  framer: Framer;
  handshaken: boolean;
  lastSentMs: number;
  lastReceivedMs: number;
}

const maxFrameBytes = 0xfffff + 1024 * 64;
/** ZooKeeper splits setWatches into packets of at most this many path bytes. */
const setWatchesPacketBytes = 128 * 1024;

export class ZooKeeperClient {
  private readonly servers: ServerAddress[];
  readonly chroot: string;
  private readonly options: Required<Omit<ClientOptions, "auth" | "connectTimeoutMs">> & {
    connectTimeoutMs: number | undefined;
  };
  private currentState: ConnectionState = "connecting";
  private readonly listeners = new Set<(state: ConnectionState) => void>();
  private conn: Connection | undefined;
  private readonly outbox: Call[] = [];
  private readonly inFlight: Call[] = [];
  private writable = true;
  private nextXid = 1;
  private lastZxid: Zxid = zxid(0n);
  private id = 0n;
  private password: Uint8Array = new Uint8Array(16);
  private negotiatedTimeoutMs = 0;
  private readonly auths: AuthEntry[] = [];
  private authsInFlight: AuthEntry[] = [];
  private readonly watches = {
    data: new Map() as WatchTable,
    exist: new Map() as WatchTable,
    child: new Map() as WatchTable,
    persistent: new Map() as WatchTable,
    persistentRecursive: new Map() as WatchTable,
  };
  private serverIndex = 0;
  private failedAttempts = 0;
  private disconnectedAtMs: number | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  /** close() sent closeSession: the server hanging up next is the end, not a loss. */
  private closing = false;

  private constructor(connectString: string, options: ClientOptions) {
    const parsed = parseConnectString(connectString);
    this.chroot = parsed.chroot;
    const random = options.random ?? Math.random;
    this.servers = shuffle(parsed.servers, random);
    this.options = {
      sessionTimeoutMs: options.sessionTimeoutMs ?? 30_000,
      requestTimeoutMs: options.requestTimeoutMs ?? 0,
      connectTimeoutMs: options.connectTimeoutMs,
      initialConnectTimeoutMs:
        options.initialConnectTimeoutMs ?? options.sessionTimeoutMs ?? 30_000,
      backoffBaseMs: options.backoffBaseMs ?? 50,
      backoffMaxMs: options.backoffMaxMs ?? 2_000,
      maxInFlight: options.maxInFlight ?? 1_000,
      canBeReadOnly: options.canBeReadOnly ?? false,
      random,
    };
    for (const a of options.auth ?? []) this.auths.push({ ...a, waiters: [] });
  }

  /** Connects to one of the servers and establishes a session; resolves once it is. */
  static connect(connectString: string, options: ClientOptions = {}): Promise<ZooKeeperClient> {
    const client = new ZooKeeperClient(connectString, options);
    return new Promise((resolve, reject) => {
      const giveUp = setTimeout(() => {
        off();
        client.closeNow();
        reject(new ConnectionLossError(undefined, "no server answered within the connect timeout"));
      }, client.options.initialConnectTimeoutMs);
      const off = client.on("state", (state) => {
        if (state === "connected" || state === "connectedReadOnly") {
          clearTimeout(giveUp);
          off();
          resolve(client);
        } else if (state === "expired" || state === "authFailed" || state === "closed") {
          clearTimeout(giveUp);
          off();
          reject(state === "authFailed" ? new AuthFailedError() : new SessionExpiredError());
        }
      });
      client.attempt();
    });
  }

  get state(): ConnectionState {
    return this.currentState;
  }

  /** The session's id (0 until the first connection is established). */
  get sessionId(): bigint {
    return this.id;
  }

  /** The session's password: with the id, it lets another connection take the session over. */
  get sessionPassword(): Uint8Array {
    return this.password;
  }

  /** The session timeout the server granted. */
  get sessionTimeoutMs(): number {
    return this.negotiatedTimeoutMs;
  }

  /** The server of the current connection, as "host:port" (undefined while disconnected). */
  get connectedServer(): string | undefined {
    const conn = this.conn;
    return conn?.handshaken ? `${conn.server.host}:${conn.server.port}` : undefined;
  }

  /** The last zxid this client has seen in a reply. */
  get lastZxidSeen(): bigint {
    return this.lastZxid;
  }

  /** Listens for connection-state changes; returns a function that stops listening. */
  on(_event: "state", listener: (state: ConnectionState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ---- operations -----------------------------------------------------------------------------

  /** Creates a znode; resolves with its path (with the sequence number for sequential modes). */
  async create(path: string, data: Data = "", options: CreateOptions = {}): Promise<string> {
    return (await this.create2(path, data, options)).path;
  }

  /** Creates a znode; resolves with its path and Stat. */
  create2(
    path: string,
    data: Data = "",
    options: CreateOptions = {},
  ): Promise<{ path: string; stat: Stat }> {
    const op = this.createOp(path, data, options, true);
    return this.call(op, path, options, (reply) => ({
      path: this.fromServer(reply.path!),
      stat: reply.stat!,
    }));
  }

  /** The node's data and Stat; throws NoNodeError if it does not exist. */
  getData(path: string, options: WatchOptions = {}): Promise<{ data: Uint8Array; stat: Stat }> {
    const op = {
      op: "getData" as const,
      path: this.toServer(path),
      watch: options.watch !== undefined,
    };
    return this.call(op, path, options, (reply) => {
      if (options.watch !== undefined) addWatcher(this.watches.data, path, options.watch);
      return { data: reply.data!, stat: reply.stat! };
    });
  }

  /** Sets the node's data if its version is `version` (-1: any); resolves with the new Stat. */
  setData(path: string, data: Data, version = -1, options: RequestOptions = {}): Promise<Stat> {
    const op = { op: "setData" as const, path: this.toServer(path), data: bytes(data), version };
    return this.call(op, path, options, (reply) => reply.stat!);
  }

  /** Deletes the node if its version is `version` (-1: any). */
  delete(path: string, version = -1, options: RequestOptions = {}): Promise<void> {
    return this.call(
      { op: "delete", path: this.toServer(path), version },
      path,
      options,
      () => undefined,
    );
  }

  /** The node's Stat, or null if it does not exist. */
  exists(path: string, options: WatchOptions = {}): Promise<Stat | null> {
    const op = {
      op: "exists" as const,
      path: this.toServer(path),
      watch: options.watch !== undefined,
    };
    return this.call(
      op,
      path,
      options,
      (reply) => {
        if (reply.err !== Err.OK && reply.err !== Err.NONODE) throw zooKeeperError(reply.err, path);
        const table = reply.err === Err.OK ? this.watches.data : this.watches.exist;
        if (options.watch !== undefined) addWatcher(table, path, options.watch);
        return reply.err === Err.OK ? reply.stat! : null;
      },
      [Err.NONODE],
    );
  }

  /** The names of the node's children (in no particular order). */
  async getChildren(path: string, options: WatchOptions = {}): Promise<string[]> {
    return (await this.childrenCall("getChildren", path, options)).children;
  }

  /** The children's names and the parent's Stat. */
  getChildren2(
    path: string,
    options: WatchOptions = {},
  ): Promise<{ children: string[]; stat: Stat }> {
    return this.childrenCall("getChildren2", path, options) as Promise<{
      children: string[];
      stat: Stat;
    }>;
  }

  /** How many nodes lie below `path` (all descendants, not just children). */
  getAllChildrenNumber(path: string, options: RequestOptions = {}): Promise<number> {
    const op = { op: "getAllChildrenNumber" as const, path: this.toServer(path) };
    return this.call(op, path, options, (reply) => reply.count!);
  }

  /** The session's ephemeral nodes whose path starts with `prefix` ("/" for all). */
  getEphemerals(prefix = "/", options: RequestOptions = {}): Promise<string[]> {
    const op = { op: "getEphemerals" as const, prefixPath: this.toServer(prefix) };
    return this.call(op, prefix, options, (reply) =>
      reply.ephemerals!.map((p) => this.fromServer(p)),
    );
  }

  getACL(path: string, options: RequestOptions = {}): Promise<{ acl: Acl[]; stat: Stat }> {
    const op = { op: "getACL" as const, path: this.toServer(path) };
    return this.call(op, path, options, (reply) => ({ acl: reply.acl!, stat: reply.stat! }));
  }

  setACL(
    path: string,
    acl: readonly Acl[],
    version = -1,
    options: RequestOptions = {},
  ): Promise<Stat> {
    const op = { op: "setACL" as const, path: this.toServer(path), acl, version };
    return this.call(op, path, options, (reply) => reply.stat!);
  }

  /**
   * Runs the ops atomically. On failure throws the first failing op's error, whose `results`
   * holds every op's outcome ({ type: "error", code } for each, as ZooKeeper reports them).
   */
  multi<const Ops extends readonly MultiOp[]>(
    ops: Ops,
    options: RequestOptions = {},
  ): Promise<{ -readonly [K in keyof Ops]: MultiResultOf<Ops[K]> }> {
    const wireOps = ops.map((o) => this.multiOp(o));
    return this.call(
      { op: "multi", ops: wireOps },
      undefined,
      options,
      (reply) => {
        const results = reply.results ?? [];
        const failed = results.findIndex(
          (r) => r.op === "error" && r.err !== Err.OK && r.err !== Err.RUNTIMEINCONSISTENCY,
        );
        if (reply.err !== Err.OK || failed >= 0) {
          const code = failed >= 0 ? (results[failed] as { err: number }).err : reply.err;
          const error = zooKeeperError(code, failed >= 0 ? ops[failed]!.path : undefined);
          error.results = results.map((r) =>
            r.op === "error" ? { type: "error", code: r.err } : r,
          );
          throw error;
        }
        return results.map((r): MultiResult => {
          switch (r.op) {
            case "create":
              return { type: "create", path: this.fromServer(r.path) };
            case "delete":
              return { type: "delete" };
            case "setData":
              return { type: "setData", stat: r.stat };
            default:
              return { type: "check" };
          }
        });
      },
      [],
      true,
    ) as never;
  }

  /** Reads several nodes in one round trip; each result is the read's value or its error. */
  multiRead<const Ops extends readonly MultiReadOp[]>(
    ops: Ops,
    options: RequestOptions = {},
  ): Promise<{ -readonly [K in keyof Ops]: MultiReadResultOf<Ops[K]> | ZooKeeperError }> {
    const wireOps: WireReadOp[] = ops.map((o) => ({
      op: o.type,
      path: this.toServer(o.path),
      watch: false,
    }));
    return this.call(
      { op: "multiRead", ops: wireOps },
      undefined,
      options,
      (reply) =>
        (reply.results ?? []).map((r, i) => {
          if (r.op === "error") return zooKeeperError(r.err, ops[i]?.path);
          if (r.op === "getData") return { type: "getData", data: r.data, stat: r.stat };
          if (r.op === "getChildren") return { type: "getChildren", children: r.children };
          return zooKeeperError(Err.MARSHALLINGERROR, ops[i]?.path);
        }),
      [],
      true,
    ) as never;
  }

  /** Waits until the server this client is connected to has caught up with the leader. */
  sync(path = "/", options: RequestOptions = {}): Promise<void> {
    return this.call({ op: "sync", path: this.toServer(path) }, path, options, () => undefined);
  }

  /**
   * A watch that stays until removed: every change of the node ("persistent"), or of the node and
   * every node below it ("persistentRecursive"; no NodeChildrenChanged events then).
   */
  addWatch(
    path: string,
    watcher: Watcher,
    mode: "persistent" | "persistentRecursive" = "persistent",
    options: RequestOptions = {},
  ): Promise<void> {
    const op = {
      op: "addWatch" as const,
      path: this.toServer(path),
      mode: mode === "persistent" ? 0 : 1,
    };
    return this.call(op, path, options, () => {
      addWatcher(this.watches[mode], path, watcher);
    });
  }

  /**
   * Removes this session's watches of one kind on `path`, on the server and here; each removed
   * watcher gets a *WatchRemoved event. Throws NoWatcherError if there was none. With `local`,
   * only this client's watchers are dropped (works while disconnected).
   */
  async removeWatches(
    path: string,
    type: WatcherTypeName = "any",
    options: RequestOptions & { local?: boolean } = {},
  ): Promise<void> {
    if (!options.local) {
      const op = {
        op: "removeWatches" as const,
        path: this.toServer(path),
        watcherType: watcherTypes[type],
      };
      await this.call(op, path, options, () => undefined);
    }
    const removed = this.dropWatchers(path, type);
    if (options.local && removed.length === 0) throw zooKeeperError(Err.NOWATCHER, path);
    for (const [watcher, eventType] of removed) watcher({ type: eventType, path });
  }

  /** The identities this connection is authenticated as (ZooKeeper 3.7+). */
  whoAmI(options: RequestOptions = {}): Promise<{ scheme: string; user: string }[]> {
    return this.call({ op: "whoAmI" }, undefined, options, (reply) =>
      reply.clientInfo!.map((c) => ({ scheme: c.authScheme, user: c.user })),
    );
  }

  /** Adds credentials (e.g. "digest", "user:password"), sent again after every reconnect. */
  addAuth(scheme: string, credentials: string): Promise<void> {
    const terminal = this.terminalError();
    if (terminal !== undefined) return Promise.reject(terminal);
    const entry: AuthEntry = { scheme, credentials, waiters: [] };
    this.auths.push(entry);
    const done = new Promise<void>((resolve, reject) => entry.waiters.push({ resolve, reject }));
    if (this.isConnected()) this.sendAuth(entry);
    return done;
  }

  /** Closes the session (its ephemerals go at once) and the connection. */
  async close(): Promise<void> {
    if (this.terminalError() !== undefined) return;
    this.closing = true;
    if (this.isConnected()) {
      try {
        await this.call({ op: "closeSession" }, undefined, { timeoutMs: 2_000 }, () => undefined);
      } catch {
        // the server expires the session in its own time
      }
    }
    this.closeNow();
  }

  // ---- requests -------------------------------------------------------------------------------

  private childrenCall(kind: "getChildren" | "getChildren2", path: string, options: WatchOptions) {
    const op = { op: kind, path: this.toServer(path), watch: options.watch !== undefined };
    return this.call(op, path, options, (reply) => {
      if (options.watch !== undefined) addWatcher(this.watches.child, path, options.watch);
      return { children: reply.children!, stat: reply.stat };
    });
  }

  private createOp(
    path: string,
    data: Data,
    options: CreateOptions,
    withStat: boolean,
  ): WireWriteOp {
    const mode = options.mode ?? "persistent";
    const flags = createFlags[mode];
    const ttl = mode === "persistentWithTtl" || mode === "persistentSequentialWithTtl";
    const op = ttl
      ? "createTTL"
      : mode === "container"
        ? "createContainer"
        : withStat
          ? "create2"
          : "create";
    return {
      op,
      path: this.toServer(path),
      data: bytes(data),
      acl: options.acl ?? openAclUnsafe,
      flags,
      ttl: ttl ? (options.ttlMs ?? -1) : -1,
    };
  }

  private multiOp(o: MultiOp): WireWriteOp {
    switch (o.type) {
      case "create":
        return this.createOp(o.path, o.data ?? "", o, false);
      case "delete":
        return { op: "delete", path: this.toServer(o.path), version: o.version ?? -1 };
      case "setData":
        return {
          op: "setData",
          path: this.toServer(o.path),
          data: bytes(o.data),
          version: o.version ?? -1,
        };
      case "check":
        return { op: "check", path: this.toServer(o.path), version: o.version };
    }
  }

  /**
   * Queues one request. `onReply` turns a reply into the call's value (it runs as the frame is
   * read, so watches it registers are in place before later notifications); replies with an error
   * code fail the call with the typed error unless the code is in `passErrors`.
   */
  private call<T>(
    op: ClientOp,
    path: string | undefined,
    options: RequestOptions,
    onReply: (reply: Reply) => T,
    passErrors: readonly number[] = [],
    passAll = false,
  ): Promise<T> {
    const terminal = this.terminalError();
    if (terminal !== undefined && op.op !== "closeSession") return Promise.reject(terminal);
    if (options.signal?.aborted) return Promise.reject(options.signal.reason);
    return new Promise<T>((resolve, reject) => {
      const call: Call = {
        op,
        path,
        settled: false,
        xid: 0,
        cleanup: () => {},
        onReply: (reply) => {
          if (reply.err !== Err.OK && !passAll && !passErrors.includes(reply.err)) {
            throw zooKeeperError(reply.err, path);
          }
          return onReply(reply);
        },
        resolve: resolve as (value: unknown) => void,
        reject,
      };
      const timeoutMs = options.timeoutMs ?? this.options.requestTimeoutMs;
      const timer =
        timeoutMs > 0
          ? setTimeout(
              () =>
                this.abandon(
                  call,
                  new RequestTimeoutError(path, `no reply within ${timeoutMs} ms`),
                ),
              timeoutMs,
            )
          : undefined;
      const signal = options.signal;
      const onAbort = () => this.abandon(call, signal!.reason as Error);
      signal?.addEventListener("abort", onAbort, { once: true });
      call.cleanup = () => {
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      };
      this.outbox.push(call);
      this.flush();
    });
  }

  /** Fails a call early; if it was already sent, its reply is still awaited (and dropped). */
  private abandon(call: Call, error: Error): void {
    const queued = this.outbox.indexOf(call);
    if (queued >= 0) this.outbox.splice(queued, 1);
    this.settle(call, error);
  }

  private settle(call: Call, error: Error | undefined, value?: unknown): void {
    if (call.settled) return;
    call.settled = true;
    call.cleanup();
    if (error !== undefined) call.reject(error);
    else call.resolve(value);
  }

  /** Sends queued requests while connected, under maxInFlight and socket backpressure. */
  private flush(): void {
    const conn = this.conn;
    if (conn === undefined || !this.isConnected()) return;
    while (
      this.outbox.length > 0 &&
      this.writable &&
      this.inFlight.length < this.options.maxInFlight
    ) {
      const call = this.outbox.shift()!;
      call.xid = this.nextXid++;
      this.inFlight.push(call);
      this.write(conn, encodeRequest(call.xid, call.op));
    }
  }

  private write(conn: Connection, payload: Uint8Array): void {
    conn.lastSentMs = Date.now();
    if (!conn.socket.write(frame(payload))) this.writable = false;
  }

  private sendAuth(entry: AuthEntry): void {
    if (this.conn === undefined) return;
    this.authsInFlight.push(entry);
    this.write(
      this.conn,
      encodeRequest(Xid.auth, { op: "auth", scheme: entry.scheme, credentials: entry.credentials }),
    );
  }

  // ---- connection -----------------------------------------------------------------------------

  private isConnected(): boolean {
    return this.currentState === "connected" || this.currentState === "connectedReadOnly";
  }

  private terminalError(): Error | undefined {
    switch (this.currentState) {
      case "expired":
        return new SessionExpiredError();
      case "authFailed":
        return new AuthFailedError();
      case "closed":
        return new ClientClosedError();
      default:
        return undefined;
    }
  }

  private setState(state: ConnectionState): void {
    if (this.currentState === state) return;
    this.currentState = state;
    for (const listener of [...this.listeners]) listener(state);
  }

  /** One connection attempt to the next server in the list. */
  private attempt(): void {
    this.retryTimer = undefined;
    if (this.terminalError() !== undefined) return;
    if (
      this.disconnectedAtMs !== undefined &&
      this.negotiatedTimeoutMs > 0 &&
      Date.now() - this.disconnectedAtMs >= this.negotiatedTimeoutMs
    ) {
      // No server took the session back within its timeout: the ensemble has expired it (or will
      // before it could hear from us), so holders of its ephemerals must assume them gone.
      return this.expire();
    }
    const server = this.servers[this.serverIndex % this.servers.length]!;
    this.serverIndex++;
    const socket = createConnection({ host: server.host, port: server.port });
    socket.setNoDelay(true);
    const conn: Connection = {
      socket,
      server,
      framer: new Framer(maxFrameBytes),
      handshaken: false,
      lastSentMs: Date.now(),
      lastReceivedMs: Date.now(),
    };
    this.conn = conn;
    this.writable = true;
    const connectTimeoutMs =
      this.options.connectTimeoutMs ??
      Math.max(1_000, Math.floor(this.options.sessionTimeoutMs / this.servers.length));
    const handshakeTimer = setTimeout(() => socket.destroy(), connectTimeoutMs);
    socket.once("connect", () => {
      socket.write(
        frame(
          encodeConnectRequest({
            protocolVersion: 0,
            lastZxidSeen: this.lastZxid,
            timeoutMs: this.options.sessionTimeoutMs,
            sessionId: toSessionId(this.id),
            password: this.password,
            readOnly: this.options.canBeReadOnly,
          }),
        ),
      );
    });
    socket.on("data", (chunk: Buffer) => {
      if (this.conn !== conn) return;
      conn.lastReceivedMs = Date.now();
      let frames: Uint8Array[];
      try {
        frames = conn.framer.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
      } catch {
        socket.destroy();
        return;
      }
      for (const payload of frames) {
        if (this.conn !== conn) return;
        if (!conn.handshaken) {
          clearTimeout(handshakeTimer);
          this.onConnectResponse(conn, payload);
        } else {
          this.onFrame(conn, payload);
        }
      }
    });
    socket.on("drain", () => {
      if (this.conn !== conn) return;
      this.writable = true;
      this.flush();
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      clearTimeout(handshakeTimer);
      if (this.conn === conn) this.connectionLost(conn.handshaken);
    });
  }

  private onConnectResponse(conn: Connection, payload: Uint8Array): void {
    let response: ReturnType<typeof decodeConnectResponse>;
    try {
      response = decodeConnectResponse(payload);
    } catch {
      conn.socket.destroy();
      return;
    }
    if (response.timeoutMs <= 0) {
      this.conn = undefined;
      conn.socket.destroy();
      return this.expire();
    }
    conn.handshaken = true;
    this.id = response.sessionId;
    this.password = response.password;
    this.negotiatedTimeoutMs = response.timeoutMs;
    this.failedAttempts = 0;
    this.disconnectedAtMs = undefined;
    this.authsInFlight = [];
    for (const entry of this.auths) this.sendAuth(entry);
    this.sendSetWatches(conn);
    this.startHeartbeat(conn);
    this.setState(response.readOnly ? "connectedReadOnly" : "connected");
    this.flush();
  }

  /** Re-registers every watch on the new connection, from the last zxid seen. */
  private sendSetWatches(conn: Connection): void {
    const lists = {
      data: [...this.watches.data.keys()].map((p) => this.toServer(p)),
      exist: [...this.watches.exist.keys()].map((p) => this.toServer(p)),
      child: [...this.watches.child.keys()].map((p) => this.toServer(p)),
      persistent: [...this.watches.persistent.keys()].map((p) => this.toServer(p)),
      persistentRecursive: [...this.watches.persistentRecursive.keys()].map((p) =>
        this.toServer(p),
      ),
    };
    type Kind = keyof typeof lists;
    const kinds = Object.keys(lists) as Kind[];
    let packet = Object.fromEntries(kinds.map((k) => [k, [] as string[]])) as Record<
      Kind,
      string[]
    >;
    let packetBytes = 0;
    let any = false;
    const send = () => {
      this.write(
        conn,
        encodeRequest(Xid.setWatches, { op: "setWatches", relativeZxid: this.lastZxid, ...packet }),
      );
      packet = Object.fromEntries(kinds.map((k) => [k, [] as string[]])) as Record<Kind, string[]>;
      packetBytes = 0;
      any = false;
    };
    for (const kind of kinds) {
      for (const path of lists[kind]) {
        if (any && packetBytes + path.length > setWatchesPacketBytes) send();
        packet[kind].push(path);
        packetBytes += path.length;
        any = true;
      }
    }
    if (any) send();
  }

  /** Pings an idle connection; drops one the server has been silent on for too long. */
  private startHeartbeat(conn: Connection): void {
    if (this.heartbeat !== undefined) clearInterval(this.heartbeat);
    const readTimeoutMs = (this.negotiatedTimeoutMs * 2) / 3;
    this.heartbeat = setInterval(
      () => {
        if (this.conn !== conn) return;
        const now = Date.now();
        if (now - conn.lastReceivedMs > readTimeoutMs) {
          conn.socket.destroy();
          return;
        }
        if (now - conn.lastSentMs >= readTimeoutMs / 2)
          this.write(conn, encodeRequest(Xid.ping, { op: "ping" }));
      },
      Math.max(10, Math.floor(readTimeoutMs / 4)),
    );
    this.heartbeat.unref();
  }

  private onFrame(conn: Connection, payload: Uint8Array): void {
    let header: ReturnType<typeof decodeReplyHeader>;
    try {
      header = decodeReplyHeader(payload);
    } catch {
      conn.socket.destroy();
      return;
    }
    switch (header.xid) {
      case Xid.ping:
      case Xid.setWatches:
        return;
      case Xid.notification:
        return this.onNotification(decodeNotification(header.body));
      case Xid.auth:
        return this.onAuthReply(header.err);
      default:
        break;
    }
    const call = this.inFlight.shift();
    if (call === undefined || call.xid !== header.xid) {
      conn.socket.destroy(); // out of order: the stream can no longer be trusted
      return;
    }
    if (header.zxid > this.lastZxid) this.lastZxid = header.zxid;
    let value: unknown;
    let error: Error | undefined;
    try {
      value = call.settled ? undefined : call.onReply(decodeReplyBody(call.op, header));
    } catch (e) {
      error =
        e instanceof ZooKeeperError
          ? e
          : zooKeeperError(Err.MARSHALLINGERROR, call.path, String(e));
    }
    this.settle(call, error, value);
    this.flush();
  }

  private onAuthReply(err: number): void {
    const entry = this.authsInFlight.shift();
    const waiters = entry?.waiters.splice(0) ?? [];
    if (err === Err.OK) {
      for (const w of waiters) w.resolve();
      return;
    }
    const error = new AuthFailedError(undefined, `authentication failed (${entry?.scheme ?? "?"})`);
    for (const w of waiters) w.reject(error);
    this.terminate("authFailed", () => new AuthFailedError());
  }

  private onNotification(n: { type: number; path: string }): void {
    const type = eventTypes[n.type];
    if (type === undefined) return;
    const path = this.fromServer(n.path);
    const fire: Watcher[] = [];
    const take = (table: WatchTable) => {
      const set = table.get(path);
      if (set === undefined) return;
      table.delete(path);
      fire.push(...set);
    };
    if (type === "NodeChildrenChanged") {
      take(this.watches.child);
    } else {
      take(this.watches.data);
      take(this.watches.exist);
      if (type === "NodeDeleted") take(this.watches.child);
    }
    fire.push(...(this.watches.persistent.get(path) ?? []));
    if (type !== "NodeChildrenChanged") {
      for (const ancestor of ancestorsAndSelf(path)) {
        fire.push(...(this.watches.persistentRecursive.get(ancestor) ?? []));
      }
    }
    const event: WatchEvent = { type, path };
    for (const watcher of new Set(fire)) deliver(watcher, event);
  }

  private dropWatchers(path: string, type: WatcherTypeName): [Watcher, WatchEventType][] {
    const removed: [Watcher, WatchEventType][] = [];
    const drop = (table: WatchTable, eventType: WatchEventType) => {
      for (const watcher of table.get(path) ?? []) removed.push([watcher, eventType]);
      table.delete(path);
    };
    if (type === "data" || type === "any") {
      drop(this.watches.data, "DataWatchRemoved");
      drop(this.watches.exist, "DataWatchRemoved");
    }
    if (type === "children" || type === "any") drop(this.watches.child, "ChildWatchRemoved");
    if (type === "persistent" || type === "any")
      drop(this.watches.persistent, "PersistentWatchRemoved");
    if (type === "persistentRecursive" || type === "any") {
      drop(this.watches.persistentRecursive, "PersistentWatchRemoved");
    }
    return removed;
  }

  /** The connection dropped: sent requests fail with ConnectionLossError; queued ones wait. */
  private connectionLost(wasHandshaken: boolean): void {
    this.conn = undefined;
    if (this.heartbeat !== undefined) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    for (const call of this.inFlight.splice(0)) {
      this.settle(
        call,
        new ConnectionLossError(call.path, "the connection was lost before the reply"),
      );
    }
    this.authsInFlight = [];
    if (this.terminalError() !== undefined) return;
    if (this.closing) return this.closeNow();
    if (wasHandshaken) {
      this.disconnectedAtMs = Date.now();
      this.failedAttempts = 0;
      this.setState("disconnected");
      return this.attempt(); // straight to the next server
    }
    this.failedAttempts++;
    // A full round of servers failed: back off, doubling up to the cap, with jitter so that
    // many clients cut off together do not come back together.
    const rounds = Math.floor(this.failedAttempts / this.servers.length);
    const ceiling = Math.min(this.options.backoffMaxMs, this.options.backoffBaseMs * 2 ** rounds);
    const delayMs =
      this.failedAttempts % this.servers.length === 0
        ? Math.floor(ceiling * (0.5 + this.options.random() / 2))
        : 0;
    this.retryTimer = setTimeout(() => this.attempt(), delayMs);
  }

  private expire(): void {
    this.terminate("expired", () => new SessionExpiredError(undefined, "the session expired"));
  }

  /** Ends the client: fails every call, drops every watcher, closes the connection. */
  private terminate(state: "expired" | "authFailed" | "closed", error: () => Error): void {
    if (this.terminalError() !== undefined) return;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    if (this.heartbeat !== undefined) clearInterval(this.heartbeat);
    const conn = this.conn;
    this.conn = undefined;
    conn?.socket.destroy();
    for (const call of [...this.inFlight.splice(0), ...this.outbox.splice(0)])
      this.settle(call, error());
    for (const entry of this.auths) for (const w of entry.waiters.splice(0)) w.reject(error());
    for (const table of Object.values(this.watches)) table.clear();
    this.setState(state);
  }

  private closeNow(): void {
    this.terminate("closed", () => new ClientClosedError());
  }

  // ---- paths ----------------------------------------------------------------------------------

  private toServer(path: string): string {
    if (this.chroot === "") return path;
    return path === "/" ? this.chroot : this.chroot + path;
  }

  private fromServer(path: string): string {
    if (this.chroot === "" || !path.startsWith(this.chroot)) return path;
    const rest = path.slice(this.chroot.length);
    return rest === "" ? "/" : rest;
  }
}

function bytes(data: Data): Uint8Array {
  return typeof data === "string" ? utf8(data) : data;
}

/** The data of a node as text (UTF-8). */
export function text(data: Uint8Array): string {
  return fromUtf8(data);
}

function addWatcher(table: WatchTable, path: string, watcher: Watcher): void {
  let set = table.get(path);
  if (set === undefined) table.set(path, (set = new Set()));
  set.add(watcher);
}

function ancestorsAndSelf(path: string): string[] {
  const out = [path];
  for (let p = path; p !== "/"; ) {
    p = p.slice(0, p.lastIndexOf("/")) || "/";
    out.push(p);
  }
  return out;
}

/** A watcher that throws must not break the connection's frame loop; its error surfaces async. */
function deliver(watcher: Watcher, event: WatchEvent): void {
  try {
    watcher(event);
  } catch (error) {
    queueMicrotask(() => {
      throw error;
    });
  }
}

function shuffle<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
