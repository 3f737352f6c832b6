// The event log reads what it reports off inputs and effects; these cases pin the parts an
// ensemble test cannot make happen on demand: debug strings are never built at info level, an
// expiry is what the core reports as one (a closeSession txn alone is a client's close), and a
// follower's sync is named by its kind.

import { describe, expect, it } from "vitest";
import type { ClientOp, Effect, Input } from "../core/replica/index.ts";
import type { Txn, TxnBody } from "../core/txn.ts";
import { makeZxid, sessionId, zxid } from "../core/types.ts";
import type { SessionId } from "../core/types.ts";
import { EventLog } from "./event-log.ts";
import type { Level, Logger } from "./log.ts";
import type { ReplicaStatus } from "./replica-status.ts";

function recorder(minLevel: Level) {
  const lines: { level: Level; msg: string; fields: Record<string, unknown> }[] = [];
  const order: Level[] = ["debug", "info", "warn", "error"];
  const log: Logger = (level, msg, fields = {}) => void lines.push({ level, msg, fields });
  log.enabled = (level) => order.indexOf(level) >= order.indexOf(minLevel);
  const expiry = () => lines.find((l) => l.msg === "session expired")?.fields;
  return { log, lines, expiry };
}

const leading: ReplicaStatus = {
  role: "leading",
  serving: true,
  leader: 1,
  epoch: 3,
  lastZxid: zxid(0n),
};

function eventLog(log: Logger, status = leading) {
  return new EventLog(
    log,
    1,
    {
      conn: () => undefined,
      connOfSession: () => undefined,
      status: () => status,
    },
    0,
  );
}

const closeBody: TxnBody = { type: "closeSession", ephemerals: ["/e"] };
const txn = (id: SessionId, cxid: number, counter: number, body: TxnBody = closeBody): Txn => ({
  zxid: makeZxid(3, counter),
  sessionId: id,
  cxid,
  timeMs: 0,
  body,
});
const persist = (t: Txn): Effect => ({
  type: "persist",
  id: 1,
  writes: [{ kind: "append", txns: [t] }],
});
const fromFollower = (message: Extract<Input, { type: "peerMessage" }>["message"]): Input => ({
  type: "peerMessage",
  from: 2,
  message,
});

describe("net: event log", () => {
  it("builds no debug string at info level", () => {
    // A request that throws when anything but being passed along is done with it.
    const read = () => {
      throw new Error("read");
    };
    const untouchable = new Proxy({}, { get: read, has: read }) as ClientOp;
    const input: Input = { type: "clientRequest", connId: 1, xid: 1, request: untouchable };
    expect(() => eventLog(recorder("info").log).input(input, 0)).not.toThrow();
    expect(() => eventLog(recorder("debug").log).input(input, 0)).toThrow("read");
  });

  it("logs an expiry the core reports, with timeout and silence; a bare close is none", () => {
    const { log, lines } = recorder("info");
    const events = eventLog(log);
    const [closed, expired] = [sessionId(0x101n), sessionId(0x102n)];
    const expiry: Effect = {
      type: "sessionExpired",
      sessionId: expired,
      timeoutMs: 6000,
      silentMs: 6500,
      zxid: makeZxid(3, 2),
      ephemerals: 1,
    };
    events.effects(
      undefined,
      [persist(txn(closed, 0, 1)), persist(txn(expired, 0, 2)), expiry],
      7500,
    );
    const fields = { session: expired, timeoutMs: 6000, sinceLastHeardMs: 6500, ephemerals: 1 };
    expect(lines.filter((l) => l.msg === "session expired")).toEqual([
      { level: "info", msg: "session expired", fields: expect.objectContaining(fields) },
    ]);
  });

  it("names a follower's sync by its kind: TRUNC when the leader cuts its log back", () => {
    const { log, lines } = recorder("info");
    const events = eventLog(log);
    const lastZxid = makeZxid(2, 9);
    const ackEpoch = { type: "ACKEPOCH" as const, attempt: 1, epoch: 3, currentEpoch: 2, lastZxid };
    events.input(fromFollower(ackEpoch), 0);
    const cut = makeZxid(2, 7);
    const sync = {
      type: "SYNC" as const,
      attempt: 1,
      epoch: 3,
      truncZxid: cut,
      txns: [],
      committedZxid: cut,
    };
    events.effects(undefined, [{ type: "send", to: 2, message: sync }], 10);
    expect(lines.find((l) => l.msg === "follower joining")?.fields).toMatchObject({
      follower: 2,
      sync: "TRUNC",
      truncZxid: makeZxid(2, 7),
      followerZxid: makeZxid(2, 9),
      txns: 0,
    });
  });
});
