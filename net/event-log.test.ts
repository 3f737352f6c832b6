// The event log reads what it reports off inputs and effects; these cases pin the parts an
// ensemble test cannot make happen on demand: debug strings are never built at info level, and a
// leader tells an expiry from a close a follower forwarded.

import { describe, expect, it } from "vitest";
import type { ClientOp, Effect, Input } from "../core/replica/io.ts";
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
  role: "leading", serving: true, leader: 1, epoch: 3, lastZxid: zxid(0n),
};

function eventLog(log: Logger, status = leading) {
  return new EventLog(log, 1, {
    conn: () => undefined,
    connOfSession: () => undefined,
    status: () => status,
    sessionTimeoutMs: () => 6000,
  }, 40_000, 0);
}

const closeBody: TxnBody = { type: "closeSession", ephemerals: ["/e"] };
const txn = (id: SessionId, cxid: number, counter: number, body: TxnBody = closeBody): Txn => ({
  zxid: makeZxid(3, counter), sessionId: id, cxid, timeMs: 0, body,
});
const persist = (t: Txn): Effect => ({
  type: "persist", id: 1, writes: [{ kind: "append", txns: [t] }],
});
const fromFollower = (message: Extract<Input, { type: "peerMessage" }>["message"]): Input => ({
  type: "peerMessage", from: 2, message,
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

  it("on a leader, a closeSession nobody asked for is an expiry, with timeout and silence", () => {
    const { log, lines } = recorder("info");
    const events = eventLog(log);
    const [asked, silent] = [sessionId(0x101n), sessionId(0x102n)];
    const touched = [asked, silent];
    events.input(fromFollower({ type: "PONG", epoch: 3, round: 1, touched }), 1000);
    const work = { kind: "closeSession" as const, sessionId: asked, cxid: 0 };
    events.input(fromFollower({ type: "FORWARD", work }), 2000);
    events.effects(undefined, [persist(txn(asked, 0, 1)), persist(txn(silent, 0, 2))], 7500);
    const fields = { session: silent, timeoutMs: 6000, sinceLastHeardMs: 6500, ephemerals: 1 };
    expect(lines.filter((l) => l.msg === "session expired")).toEqual([
      { level: "info", msg: "session expired", fields: expect.objectContaining(fields) },
    ]);
  });

  it("counts a silence from the last packet of a client of its own that went away", () => {
    const { log, expiry } = recorder("info");
    const events = eventLog(log);
    const id = sessionId(0x104n);
    const created: TxnBody = {
      type: "createSession", timeoutMs: 6000, originServer: 1, originTag: 1,
    };
    events.effects(undefined, [persist(txn(id, 0, 1, created))], 1000);
    events.disconnected(id, 3000);
    events.effects(undefined, [persist(txn(id, 0, 2))], 9100);
    expect(expiry()).toMatchObject({ sinceLastHeardMs: 6100 });
  });

  it("names a follower's sync by its kind: TRUNC when the leader cuts its log back", () => {
    const { log, lines } = recorder("info");
    const events = eventLog(log);
    const lastZxid = makeZxid(2, 9);
    const ackEpoch = { type: "ACKEPOCH" as const, attempt: 1, epoch: 3, currentEpoch: 2, lastZxid };
    events.input(fromFollower(ackEpoch), 0);
    const cut = makeZxid(2, 7);
    const sync = {
      type: "SYNC" as const, attempt: 1, epoch: 3, truncZxid: cut, txns: [], committedZxid: cut,
    };
    events.effects(undefined, [{ type: "send", to: 2, message: sync }], 10);
    expect(lines.find((l) => l.msg === "follower joining")?.fields).toMatchObject({
      follower: 2, sync: "TRUNC", truncZxid: makeZxid(2, 7), followerZxid: makeZxid(2, 9), txns: 0,
    });
  });

  it("says how long it has led when it never heard of the session", () => {
    const { log, expiry } = recorder("info");
    eventLog(log).effects(undefined, [persist(txn(sessionId(0x103n), 0, 1))], 9000);
    expect(expiry()).toMatchObject({ notHeardSinceLeadingMs: 9000 });
  });
});
