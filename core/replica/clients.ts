// Client connections at a replica. Each connection's requests complete in the order they were sent
// (ZooKeeper's FIFO client order): writes and syncs go to the leader and wait for their outcome;
// reads, pings and watch operations run against the local tree once everything before them is done.

import { assert } from "../assert.ts";
import { authenticate } from "../acl.ts";
import { bytesEqual } from "../bytes.ts";
import type { TxnResult } from "../database.ts";
import { Err } from "../errors.ts";
import { executeRead } from "../read.ts";
import { writeReply } from "../reply.ts";
import type { ReadRequest, Reply } from "../requests.ts";
import { isWriteRequest } from "../requests.ts";
import type { Txn } from "../txn.ts";
import type { SessionId, Zxid } from "../types.ts";
import { sessionId as toSessionId, zxid } from "../types.ts";
import { emit, handOff } from "./outputs.ts";
import type { ClientOp, ConnId, Input } from "./io.ts";
import { isServing } from "./roles.ts";
import { negotiateTimeout, passwordFor } from "./sessions.ts";
import type { Connection, PendingOp, ReplicaState } from "./state.ts";
import { isWatcherType } from "../watches.ts";
import { connectionRequestsMax } from "../limits.ts";

type Connect = Extract<Input, { type: "clientConnect" }>;

export function onClientConnect(s: ReplicaState, input: Connect): void {
  const refuse = (reason: string) =>
    emit(s, { type: "closeConnection", connId: input.connId, reason });
  if (!isServing(s)) return refuse("server is not serving: no established leader");
  // A client that has seen a newer state must not go back in time (ZooKeeper refuses it too).
  if (input.lastZxidSeen > s.db.lastZxid)
    return refuse(`client has seen zxid ${input.lastZxidSeen}, ahead of this server`);
  const conn: Connection = {
    connId: input.connId,
    sessionId: undefined,
    clientAddr: input.clientAddr,
    authIds: [{ scheme: "ip", id: input.clientAddr }],
    timeoutMs: 0,
    established: false,
    held: [],
    queue: [],
    syncBarriers: 0,
  };
  s.clients.conns.set(input.connId, conn);
  const tag = s.clients.nextTag++;
  if (input.sessionId === 0n) {
    s.clients.waiting.set(tag, { connId: input.connId, kind: "connect", xid: 0 });
    const timeoutMs = negotiateTimeout(s.config, input.timeoutMs);
    handOff(s, { to: "leader", work: { kind: "createSession", tag, timeoutMs } });
    return;
  }
  const known = s.db.sessions.has(input.sessionId);
  if (!known || !bytesEqual(input.password, passwordFor(s.config, input.sessionId))) {
    return expireConnection(s, input.connId);
  }
  s.clients.waiting.set(tag, { connId: input.connId, kind: "revalidate", xid: 0 });
  conn.sessionId = input.sessionId;
  handOff(s, { to: "leader", work: { kind: "revalidate", tag, sessionId: input.sessionId } });
}

/**
 * Tells the client its session is gone (ZooKeeper: a ConnectResponse with timeout 0) and hangs up.
 */
function expireConnection(s: ReplicaState, connId: ConnId): void {
  emit(s, {
    type: "connectResponse",
    connId,
    sessionId: toSessionId(0n),
    timeoutMs: 0,
    password: new Uint8Array(16),
  });
  emit(s, { type: "closeConnection", connId, reason: "session expired" });
  s.clients.conns.delete(connId);
}

function attach(s: ReplicaState, conn: Connection, id: SessionId): void {
  const previous = s.clients.bySession.get(id);
  if (previous !== undefined && previous !== conn.connId) {
    emit(s, {
      type: "closeConnection",
      connId: previous,
      reason: "session reattached on a new connection",
    });
    s.clients.conns.delete(previous);
  }
  conn.sessionId = id;
  conn.timeoutMs = s.db.sessions.get(id) ?? 0;
  s.clients.bySession.set(id, conn.connId);
  s.clients.touched.add(id);
  conn.established = true;
  emit(s, {
    type: "connectResponse",
    connId: conn.connId,
    sessionId: id,
    timeoutMs: conn.timeoutMs,
    password: passwordFor(s.config, id),
  });
  for (const { xid, op } of conn.held.splice(0)) onClientRequest(s, conn.connId, xid, op);
}

export function onClientRequest(s: ReplicaState, connId: ConnId, xid: number, op: ClientOp): void {
  const conn = s.clients.conns.get(connId);
  if (conn === undefined) return; // closed already; the client will see the connection drop
  if (conn.queue.length + conn.held.length >= connectionRequestsMax) {
    emit(s, {
      type: "closeConnection",
      connId,
      reason: `more than ${connectionRequestsMax} requests outstanding`,
    });
    return onClientDisconnect(s, connId);
  }
  if (!conn.established || conn.sessionId === undefined) {
    conn.held.push({ xid, op });
    return;
  }
  s.clients.touched.add(conn.sessionId);
  if (s.role === "leading") touchOnLeader(s, conn.sessionId);
  const pending: PendingOp = { xid, op, status: "queued", reply: undefined };
  conn.queue.push(pending);
  if (op.op === "sync" || op.op === "closeSession" || isWriteRequest(op)) {
    // Behind an unanswered sync, a write waits: forwarded now, it could commit before the sync's
    // answer, and the read after the sync would see it before its own reply (ZooKeeper's leader
    // answers a sync in order with its proposals, so that never happens there).
    if (conn.syncBarriers > 0) {
      pending.status = "behindSync";
      conn.syncBarriers++;
    } else {
      forward(s, conn, pending);
    }
  }
  flush(s, conn);
}

/** Sends a write, close or sync on its way to the leader. */
function forward(s: ReplicaState, conn: Connection, pending: PendingOp): void {
  const { op, xid } = pending;
  const connId = conn.connId;
  const sessionId = conn.sessionId!;
  if (pending.status === "behindSync") conn.syncBarriers--;
  pending.status = "sent";
  if (op.op === "sync") {
    // Counted before routeSync: a sync the local leader answers at once completes within it.
    conn.syncBarriers++;
    const tag = s.clients.nextTag++;
    s.clients.waiting.set(tag, { connId, kind: "sync", xid });
    s.config.policy.routeSync(
      () => handOff(s, { to: "leader", work: { kind: "sync", tag } }),
      () => completeForwardReply(s, tag, true, s.db.lastZxid),
    );
  } else if (op.op === "closeSession") {
    handOff(s, { to: "leader", work: { kind: "closeSession", sessionId, cxid: xid } });
  } else if (isWriteRequest(op)) {
    const work = {
      kind: "write" as const,
      sessionId,
      cxid: xid,
      request: op,
      authIds: conn.authIds,
    };
    handOff(s, { to: "leader", work });
  }
}

/** A sync was answered: forward what waited behind it, up to the next unanswered sync. */
function releaseBehindSync(s: ReplicaState, conn: Connection): void {
  for (const pending of [...conn.queue]) {
    if (pending.status === "sent" && pending.op.op === "sync") return;
    if (pending.status !== "behindSync") continue;
    forward(s, conn, pending);
    if (pending.op.op === "sync") return;
  }
}

function touchOnLeader(s: ReplicaState, id: SessionId): void {
  const info = s.leader?.sessions.get(id);
  if (info !== undefined && !info.closing)
    info.expiresAtMs = Math.max(info.expiresAtMs, s.nowMs + info.timeoutMs);
}

export function onClientDisconnect(s: ReplicaState, connId: ConnId): void {
  const conn = s.clients.conns.get(connId);
  if (conn === undefined) return;
  s.clients.conns.delete(connId);
  for (const [tag, w] of [...s.clients.waiting])
    if (w.connId === connId && w.kind !== "sync") s.clients.waiting.delete(tag);
  if (conn.sessionId !== undefined && s.clients.bySession.get(conn.sessionId) === connId) {
    s.clients.bySession.delete(conn.sessionId);
    s.watches.removeSession(conn.sessionId);
  }
}

/**
 * Emits, in order, every reply at the head of the queue that is ready; runs local ops at the head.
 */
function flush(s: ReplicaState, conn: Connection): void {
  while (conn.queue.length > 0) {
    const head = conn.queue[0]!;
    if (head.status === "queued") {
      head.reply = runLocal(s, conn, head);
      head.status = "done";
    }
    if (head.status !== "done") return;
    conn.queue.shift();
    emit(s, { type: "reply", connId: conn.connId, xid: head.xid, op: head.op, reply: head.reply! });
    if (head.op.op === "closeSession") {
      emit(s, { type: "closeConnection", connId: conn.connId, reason: "session closed by client" });
      onClientDisconnect(s, conn.connId);
      return;
    }
  }
}

const ok = (s: ReplicaState, extra: Partial<Reply> = {}): Reply => ({
  err: Err.OK,
  zxid: s.db.lastZxid,
  ...extra,
});

/**
 * Ops answered by this server alone: reads (with watch registration), pings, auth, watch
 * management.
 */
function runLocal(s: ReplicaState, conn: Connection, pending: PendingOp): Reply {
  const op = pending.op;
  const sessionId = conn.sessionId!;
  switch (op.op) {
    case "ping":
      return ok(s);
    case "unsupported":
      return { err: op.err, zxid: s.db.lastZxid };
    case "auth": {
      const ids = authenticate(op.scheme, op.credentials, s.config.superDigest);
      if (ids === undefined) return { err: Err.AUTHFAILED, zxid: s.db.lastZxid };
      for (const id of ids)
        if (!conn.authIds.some((a) => a.scheme === id.scheme && a.id === id.id))
          conn.authIds.push(id);
      return ok(s);
    }
    // An unknown mode or watcher type makes ZooKeeper's server throw: MARSHALLINGERROR.
    case "addWatch":
      return s.watches.addWatch(sessionId, op.path, op.mode)
        ? ok(s)
        : { err: Err.MARSHALLINGERROR, zxid: s.db.lastZxid };
    case "removeWatches":
    case "checkWatches": {
      if (!isWatcherType(op.watcherType)) return { err: Err.MARSHALLINGERROR, zxid: s.db.lastZxid };
      const found =
        op.op === "removeWatches"
          ? s.watches.removeWatches(sessionId, op.path, op.watcherType)
          : s.watches.checkWatches(sessionId, op.path, op.watcherType);
      return found ? ok(s) : { err: Err.NOWATCHER, zxid: s.db.lastZxid };
    }
    case "setWatches": {
      const events = s.watches.setWatches(sessionId, op.relativeZxid, op, s.db);
      for (const event of events) emit(s, { type: "watchEvent", connId: conn.connId, event });
      return ok(s);
    }
    default:
      return readWithWatch(s, conn, op as ReadRequest, pending.xid);
  }
}

function readWithWatch(
  s: ReplicaState,
  conn: Connection,
  request: ReadRequest,
  xid: number,
): Reply {
  const sessionId = conn.sessionId!;
  const reply = executeRead(s.db, { sessionId, cxid: xid, authIds: conn.authIds }, request);
  if (request.op === "multiRead") {
    request.ops.forEach((op, i) => {
      if (op.watch && reply.results?.[i]?.op !== "error") {
        if (op.op === "getData") s.watches.addDataWatch(sessionId, op.path);
        else s.watches.addChildWatch(sessionId, op.path);
      }
    });
    return reply;
  }
  if (!("watch" in request) || !request.watch) return reply;
  // ZooKeeper registers an exists watch even when the node is missing; other reads only on success.
  if (request.op === "exists") {
    if (reply.err === Err.OK) s.watches.addDataWatch(sessionId, request.path);
    else if (reply.err === Err.NONODE) s.watches.addExistWatch(sessionId, request.path);
  } else if (reply.err === Err.OK) {
    if (request.op === "getData") s.watches.addDataWatch(sessionId, request.path);
    else s.watches.addChildWatch(sessionId, request.path);
  }
  return reply;
}

/**
 * A committed txn reached this replica: answer the client waiting for it, if it is connected here.
 */
export function completeTxn(s: ReplicaState, txn: Txn, result: TxnResult): void {
  const body = txn.body;
  if (body.type === "createSession") {
    if (body.originServer !== s.config.id) return;
    const waiting = s.clients.waiting.get(body.originTag);
    if (waiting === undefined || waiting.kind !== "connect") return;
    s.clients.waiting.delete(body.originTag);
    const conn = s.clients.conns.get(waiting.connId);
    if (conn !== undefined) attach(s, conn, txn.sessionId);
    return;
  }
  const connId = s.clients.bySession.get(txn.sessionId);
  if (connId === undefined) return;
  const conn = s.clients.conns.get(connId)!;
  const pending = conn.queue.find(
    (p) => p.status === "sent" && p.xid === txn.cxid && p.op.op !== "sync",
  );
  if (body.type === "closeSession" && pending === undefined) {
    return dropSessionConnection(s, txn.sessionId, "session expired");
  }
  if (pending?.op.op === "closeSession") {
    pending.reply = { err: result.err, zxid: txn.zxid };
  } else if (pending !== undefined) {
    const op = pending.op;
    assert(isWriteRequest(op), "a txn answers a write");
    pending.reply = writeReply(op, result, txn.zxid);
  } else {
    return;
  }
  pending.status = "done";
  flush(s, conn);
}

/** The leader answered a revalidate or a sync (or the local leader did). */
export function completeForwardReply(s: ReplicaState, tag: number, okay: boolean, z: Zxid): void {
  const waiting = s.clients.waiting.get(tag);
  if (waiting === undefined) return;
  s.clients.waiting.delete(tag);
  const conn = s.clients.conns.get(waiting.connId);
  if (conn === undefined) return;
  if (waiting.kind === "revalidate") {
    if (okay) attach(s, conn, conn.sessionId!);
    else expireConnection(s, conn.connId);
    return;
  }
  const pending = conn.queue.find(
    (p) => p.status === "sent" && p.op.op === "sync" && p.xid === waiting.xid,
  );
  if (pending === undefined) return;
  assert(s.db.lastZxid >= z, "a sync answer arrives after the commits it covers (FIFO)");
  pending.reply = { err: Err.OK, zxid: s.db.lastZxid, path: (pending.op as { path: string }).path };
  pending.status = "done";
  conn.syncBarriers--;
  flush(s, conn);
  if (s.clients.conns.get(conn.connId) === conn) releaseBehindSync(s, conn);
}

export function dropSessionConnection(s: ReplicaState, id: SessionId, reason: string): void {
  const connId = s.clients.bySession.get(id);
  if (connId === undefined) return;
  emit(s, { type: "closeConnection", connId, reason });
  onClientDisconnect(s, connId);
}

export const noZxid = zxid(0n);
