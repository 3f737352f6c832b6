// A single server applying each write as soon as it is decided: the tree's semantics without
// replication. Tests, the differential suite against Apache ZooKeeper, the benchmarks and the demo
// drive it; the replicated core uses the same prep, apply and reply functions.

import { authenticate } from "./acl.ts";
import { assert } from "./assert.ts";
import { Database } from "./database.ts";
import { Err } from "./errors.ts";
import {
  juteMaxBufferBytes,
  reaperDeletesPerPassMax,
  sessionTimeoutTicksMax,
  sessionTimeoutTicksMin,
  tickMsDefault,
} from "./limits.ts";
import { PendingChanges } from "./pending.ts";
import { prepareCloseSession, prepareDeleteContainer, prepareTxn } from "./prep.ts";
import type { PrepConfig } from "./prep.ts";
import { executeRead } from "./read.ts";
import { expiredNodeCandidates } from "./reaper.ts";
import { writeReply } from "./reply.ts";
import { isWriteRequest } from "./requests.ts";
import type { Reply, Request, RequestContext } from "./requests.ts";
import type { Txn, TxnBody } from "./txn.ts";
import { makeZxid, sessionId } from "./types.ts";
import type { Id, SessionId, Zxid } from "./types.ts";

export interface StandaloneConfig extends PrepConfig {
  serverId: number;
  tickMs: number;
  minSessionTimeoutMs: number;
  maxSessionTimeoutMs: number;
  /** DigestAuthenticationProvider.superDigest, "super:<base64 sha1>". */
  superDigest: string | undefined;
  /** Keep every txn in memory (tests replay it); off for long runs. */
  keepLog: boolean;
}

export function standaloneConfig(overrides: Partial<StandaloneConfig> = {}): StandaloneConfig {
  const tickMs = overrides.tickMs ?? tickMsDefault;
  return {
    serverId: 1,
    tickMs,
    minSessionTimeoutMs: tickMs * sessionTimeoutTicksMin,
    maxSessionTimeoutMs: tickMs * sessionTimeoutTicksMax,
    superDigest: undefined,
    extendedTypesEnabled: false,
    dataBytesMax: juteMaxBufferBytes,
    keepLog: false,
    ...overrides,
  };
}

/** ZooKeeper's session id seed: server id in the high byte, the clock's ms in the next five. */
export function initialSessionId(serverId: number, nowMs: number): bigint {
  const timeBits = (BigInt(nowMs) << 24n) & 0xffffffffffffffffn;
  return BigInt.asIntN(64, (timeBits >> 8n) | (BigInt(serverId) << 56n));
}

export class StandaloneServer {
  readonly db: Database;
  readonly pending = new PendingChanges();
  readonly log: Txn[] = [];
  private counter = 0;
  private nextSessionId: bigint | undefined;
  private readonly epoch = 1;

  constructor(readonly config: StandaloneConfig = standaloneConfig()) {
    assert(config.minSessionTimeoutMs <= config.maxSessionTimeoutMs, "min session timeout <= max");
    this.db = new Database({ extendedTypesEnabled: config.extendedTypesEnabled });
  }

  /** The next zxid of this server's epoch (benchmarks feed txns straight to applyTxn with it). */
  allocateZxid(): Zxid {
    this.counter++;
    return makeZxid(this.epoch, this.counter);
  }

  private commit(txn: Txn) {
    const outcome = this.db.applyTxn(txn);
    this.pending.prune(txn.zxid);
    assert(this.pending.size === 0, "standalone applies every txn it decides");
    if (this.config.keepLog) this.log.push(txn);
    return outcome;
  }

  /** Ids a client gains from addAuth; undefined is AUTHFAILED. */
  authenticate(scheme: string, credentials: string): Id[] | undefined {
    return authenticate(scheme, credentials, this.config.superDigest);
  }

  /** Starts a session; the timeout is clamped to [min, max] as ZooKeeper negotiates it. */
  createSession(
    requestedTimeoutMs: number,
    nowMs: number,
  ): { sessionId: SessionId; timeoutMs: number } {
    const timeoutMs = Math.min(
      Math.max(requestedTimeoutMs, this.config.minSessionTimeoutMs),
      this.config.maxSessionTimeoutMs,
    );
    this.nextSessionId ??= initialSessionId(this.config.serverId, nowMs);
    const id = sessionId(this.nextSessionId++);
    this.commit({
      zxid: this.allocateZxid(),
      sessionId: id,
      cxid: 0,
      timeMs: nowMs,
      body: { type: "createSession", timeoutMs, originServer: this.config.serverId, originTag: 0 },
    });
    return { sessionId: id, timeoutMs };
  }

  closeSession(session: SessionId, nowMs: number): Reply {
    if (!this.db.sessions.has(session)) return { err: Err.SESSIONEXPIRED, zxid: this.db.lastZxid };
    const ctx: RequestContext = { sessionId: session, cxid: 0, authIds: [] };
    const txn = prepareCloseSession({
      db: this.db,
      pending: this.pending,
      config: this.config,
      ctx,
      zxid: this.allocateZxid(),
      nowMs,
    });
    this.commit(txn);
    return { err: Err.OK, zxid: txn.zxid };
  }

  submit(ctx: RequestContext, request: Request, nowMs: number): Reply {
    if (request.op === "sync") return { err: Err.OK, zxid: this.db.lastZxid, path: request.path };
    if (!isWriteRequest(request)) return executeRead(this.db, ctx, request);
    const txn = prepareTxn(
      {
        db: this.db,
        pending: this.pending,
        config: this.config,
        ctx,
        sessionError: this.db.sessions.has(ctx.sessionId) ? Err.OK : Err.SESSIONEXPIRED,
        zxid: this.allocateZxid(),
        nowMs,
      },
      request,
    );
    const { result } = this.commit(txn);
    return writeReply(request, result, txn.zxid);
  }

  /** Deletes empty containers and expired TTL nodes; returns the paths deleted. */
  reap(nowMs: number): string[] {
    const deleted: string[] = [];
    const ctx: RequestContext = { sessionId: sessionId(0n), cxid: 0, authIds: [] };
    for (const path of expiredNodeCandidates(this.db.tree, nowMs, reaperDeletesPerPassMax)) {
      const txn = prepareDeleteContainer(
        {
          db: this.db,
          pending: this.pending,
          config: this.config,
          ctx,
          zxid: this.allocateZxid(),
          nowMs,
        },
        path,
      );
      this.commit(txn);
      if (txn.body.type === "delete") deleted.push(path);
    }
    return deleted;
  }
}

/** Rebuilds a database from a txn log, as recovery does; its digest must equal the original's. */
export function replay(txns: readonly Txn[], options: { extendedTypesEnabled: boolean }): Database {
  const db = new Database(options);
  for (const txn of txns) db.applyTxn(txn);
  return db;
}

export type { TxnBody };
