// One generator thread: owns some sessions, each a raw socket keeping `inflight` requests
// outstanding. Requests are the pre-encoded frames of workloads.ts with the xid patched in; replies
// are read only for their xid, err and (for a sequential create) the name to delete. Latencies go
// into a preallocated histogram; the main thread merges the workers' results.

import { connect } from "node:net";
import type { Socket } from "node:net";
import { parentPort, workerData } from "node:worker_threads";
import { bucketOf, newHistogram } from "./histogram.ts";
import type { SessionPlan, Workload } from "./workloads.ts";

export interface WorkerInit {
  workload: Workload;
  inflight: number;
  sessions: SessionPlan[];
}

export type ToWorker = { type: "go" } | { type: "measure"; on: boolean } | { type: "stop" };
export type FromWorker =
  | { type: "ready" }
  | { type: "progress"; completed: number }
  | {
      type: "done";
      histogram: Uint32Array;
      measured: number;
      errors: number;
      errorCodes: Record<number, number>;
      maxMicros: number;
    }
  | { type: "failed"; message: string };

const init = workerData as WorkerInit;
const port = parentPort!;
const closeXid = 0x7fffffff;
const drainLimitMs = 10_000;
// Reply kinds remembered per outstanding xid; mixed's counter picks every tenth request as a write.
const primaryKind = 0;
const secondaryKind = 1;

interface Session {
  plan: SessionPlan;
  socket: Socket;
  connected: boolean;
  closed: boolean;
  nextXid: number;
  outstanding: number;
  sent: number;
  mask: number;
  sentAt: Float64Array;
  kinds: Uint8Array;
  rest: Buffer | undefined;
  batchBytes: number;
}

const histogram = newHistogram();
let measuring = false;
let stopping = false;
let measured = 0;
let errors = 0;
const errorCodes: Record<number, number> = {};
let maxMicros = 0;
let completed = 0;
let connectedCount = 0;
let closedCount = 0;
const sessions: Session[] = [];

function fail(message: string): void {
  port.postMessage({ type: "failed", message } satisfies FromWorker);
  for (const s of sessions) s.socket.destroy();
  process.exit(1);
}

function ringSize(n: number): number {
  let size = 1;
  while (size < n) size *= 2;
  return size;
}

function open(plan: SessionPlan): Session {
  const size = ringSize(init.inflight);
  const maxFrame = Math.max(plan.primary.length, plan.secondary?.length ?? 0);
  const socket = connect({ host: "127.0.0.1", port: plan.port, noDelay: true });
  const s: Session = {
    plan,
    socket,
    connected: false,
    closed: false,
    nextXid: 1,
    outstanding: 0,
    sent: 0,
    mask: size - 1,
    sentAt: new Float64Array(size),
    kinds: new Uint8Array(size),
    rest: undefined,
    batchBytes: maxFrame * init.inflight,
  };
  socket.on("connect", () => socket.write(plan.connect));
  socket.on("data", (chunk: Buffer) => onData(s, chunk));
  socket.on("error", (e) => {
    if (!s.closed) fail(`session on port ${plan.port}: ${e.message}`);
  });
  socket.on("close", () => {
    if (!s.closed) fail(`session on port ${plan.port}: connection closed by the server`);
  });
  return s;
}

/** Appends the next request of `s` to `out` at `at`; returns the new end. */
function append(
  s: Session,
  out: Buffer,
  at: number,
  kind: number,
  now: number,
  digits?: Buffer,
): number {
  const template = kind === primaryKind ? s.plan.primary : s.plan.secondary!;
  out.set(template, at);
  if (digits !== undefined) out.set(digits, at + s.plan.digitsAt);
  const xid = s.nextXid;
  s.nextXid = xid === closeXid - 1 ? 1 : xid + 1;
  out.writeInt32BE(xid, at + 4);
  s.sentAt[xid & s.mask] = now;
  s.kinds[xid & s.mask] = kind;
  s.outstanding++;
  s.sent++;
  return at + template.length;
}

function firstKind(s: Session): number {
  return init.workload === "mixed" && s.sent % 10 === 9 ? secondaryKind : primaryKind;
}

function onData(s: Session, chunk: Buffer): void {
  const buf = s.rest === undefined ? chunk : Buffer.concat([s.rest, chunk]);
  const now = performance.now();
  let off = 0;
  let out: Buffer | undefined;
  let outEnd = 0;
  while (buf.length - off >= 4) {
    const length = buf.readInt32BE(off);
    if (buf.length - off - 4 < length) break;
    const p = off + 4;
    off = p + length;
    if (!s.connected) {
      s.connected = true;
      if (++connectedCount === sessions.length)
        port.postMessage({ type: "ready" } satisfies FromWorker);
      continue;
    }
    const xid = buf.readInt32BE(p);
    if (xid === closeXid) {
      finish(s);
      return;
    }
    if (xid < 0) continue; // a ping's answer or a notification: not ours to count
    const err = buf.readInt32BE(p + 12);
    const slot = xid & s.mask;
    const kind = s.kinds[slot]!;
    s.outstanding--;
    completed++;
    if (measuring) {
      const micros = (now - s.sentAt[slot]!) * 1000;
      histogram[bucketOf(micros)]!++;
      if (micros > maxMicros) maxMicros = micros;
      measured++;
      if (err !== 0) {
        errors++;
        errorCodes[err] = (errorCodes[err] ?? 0) + 1;
      }
    }
    if (stopping) continue;
    out ??= Buffer.allocUnsafe(s.batchBytes);
    if (init.workload === "createDelete") {
      // A created name's ten digits end the reply's path string (at p + 16 + 4 + its length).
      const created = kind === primaryKind && err === 0;
      const digits = created
        ? buf.subarray(p + 20 + buf.readInt32BE(p + 16) - 10, p + 20 + buf.readInt32BE(p + 16))
        : undefined;
      outEnd = append(s, out, outEnd, created ? secondaryKind : primaryKind, now, digits);
    } else {
      outEnd = append(s, out, outEnd, firstKind(s), now);
    }
  }
  s.rest = off < buf.length ? buf.subarray(off) : undefined;
  if (outEnd > 0) s.socket.write(out!.subarray(0, outEnd));
  if (stopping && s.outstanding === 0) sendClose(s);
}

function start(s: Session): void {
  const out = Buffer.allocUnsafe(s.batchBytes);
  const now = performance.now();
  let end = 0;
  for (let i = 0; i < init.inflight; i++) end = append(s, out, end, firstKind(s), now);
  s.socket.write(out.subarray(0, end));
}

const closeSent = new Set<Session>();

function sendClose(s: Session): void {
  if (closeSent.has(s)) return;
  closeSent.add(s);
  const close = Buffer.from(s.plan.closeSession);
  close.writeInt32BE(closeXid, 4);
  s.socket.write(close);
}

function finish(s: Session): void {
  if (s.closed) return;
  s.closed = true;
  s.socket.destroy();
  if (++closedCount === sessions.length) done();
}

function done(): void {
  clearInterval(progress);
  port.postMessage({
    type: "done",
    histogram,
    measured,
    errors,
    errorCodes,
    maxMicros,
  } satisfies FromWorker);
  port.close();
}

const progress = setInterval(
  () => port.postMessage({ type: "progress", completed } satisfies FromWorker),
  500,
);

port.on("message", (m: ToWorker) => {
  switch (m.type) {
    case "go":
      for (const s of sessions) start(s);
      return;
    case "measure":
      measuring = m.on;
      return;
    case "stop":
      stopping = true;
      for (const s of sessions) if (s.outstanding === 0) sendClose(s);
      // A server that never answers must not hold the run: close what is left after a while.
      setTimeout(() => {
        for (const s of sessions) finish(s);
      }, drainLimitMs).unref();
      return;
  }
});

for (const plan of init.sessions) sessions.push(open(plan));
