// A small promise-based ZooKeeper client over the wire protocol (wire.ts): handshake, pipelined
// requests matched to replies in order, pings while idle, watch notifications, auth, close. It
// sends requests exactly as given (no client-side path checks), which the differential tests need.

import { createConnection } from "node:net";
import type { Socket } from "node:net";
import type { ClientOp } from "../core/replica/index.ts";
import type { Reply } from "../core/requests.ts";
import type { SessionId } from "../core/types.ts";
import { sessionId as toSessionId, zxid } from "../core/types.ts";
import { frame, Framer } from "./framing.ts";
import {
  decodeConnectResponse,
  decodeNotification,
  decodeReplyBody,
  decodeReplyHeader,
  encodeConnectRequest,
  encodeRequest,
  Xid,
} from "./wire.ts";

export class ConnectionLossError extends Error {
  override name = "ConnectionLossError";
  readonly code = -4;
}

export interface WatchNotification {
  type: number;
  state: number;
  path: string;
}

export class ZkClient {
  private readonly framer = new Framer(0xfffff + 1024);
  private readonly pending: {
    xid: number;
    op: ClientOp;
    observe: ((r: Reply) => void) | undefined;
    resolve: (r: Reply) => void;
    reject: (e: Error) => void;
  }[] = [];
  private xid = 0;
  private pinger: NodeJS.Timeout | undefined;
  private closed = false;
  onWatchEvent: (event: WatchNotification) => void = () => {};
  sessionId: SessionId = toSessionId(0n);
  /** The session password the server gave (a secret: tests check it never reaches a log). */
  password: Uint8Array = new Uint8Array(0);
  timeoutMs = 0;

  private constructor(private readonly socket: Socket) {}

  static connect(
    host: string,
    port: number,
    options: { timeoutMs?: number; handshakeTimeoutMs?: number } = {},
  ): Promise<ZkClient> {
    return new Promise((resolve, reject) => {
      const socket = createConnection({ host, port });
      const client = new ZkClient(socket);
      const giveUp = setTimeout(() => {
        socket.destroy();
        reject(new ConnectionLossError("handshake timed out"));
      }, options.handshakeTimeoutMs ?? 5_000);
      socket.once("close", () => {
        clearTimeout(giveUp);
        reject(new ConnectionLossError("connection closed during the handshake"));
      });
      socket.setNoDelay(true);
      socket.once("error", reject);
      socket.once("connect", () => {
        socket.write(
          frame(
            encodeConnectRequest({
              protocolVersion: 0,
              lastZxidSeen: zxid(0n),
              timeoutMs: options.timeoutMs ?? 10_000,
              sessionId: toSessionId(0n),
              password: new Uint8Array(16),
              readOnly: false,
            }),
          ),
        );
      });
      let handshaken = false;
      socket.on("data", (chunk: Buffer) => {
        for (const payload of client.framer.push(
          new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length),
        )) {
          if (!handshaken) {
            handshaken = true;
            const response = decodeConnectResponse(payload);
            client.sessionId = response.sessionId;
            client.timeoutMs = response.timeoutMs;
            client.password = response.password;
            clearTimeout(giveUp);
            if (response.timeoutMs <= 0) {
              // Hang up: an open socket and its pinger would keep the process alive for nothing.
              socket.destroy();
              reject(new Error("session refused"));
              return;
            }
            client.startPinging();
            resolve(client);
            continue;
          }
          client.onFrame(payload);
        }
      });
      socket.on("close", () => client.lost());
    });
  }

  private startPinging(): void {
    this.pinger = setInterval(
      () => {
        if (this.pending.length === 0)
          this.socket.write(frame(encodeRequest(Xid.ping, { op: "ping" })));
      },
      Math.max(100, this.timeoutMs / 3),
    );
    this.pinger.unref();
  }

  private onFrame(payload: Uint8Array): void {
    const header = decodeReplyHeader(payload);
    if (header.xid === Xid.notification) return this.onWatchEvent(decodeNotification(header.body));
    if (header.xid === Xid.ping) return;
    const next = this.pending.shift();
    if (next === undefined || next.xid !== header.xid) {
      this.socket.destroy();
      return;
    }
    const reply = decodeReplyBody(next.op, header);
    next.observe?.(reply);
    next.resolve(reply);
  }

  private lost(): void {
    this.closed = true; // later requests fail at once instead of waiting on a dead socket
    if (this.pinger !== undefined) clearInterval(this.pinger);
    for (const p of this.pending.splice(0)) p.reject(new ConnectionLossError("connection lost"));
  }

  /**
   * Sends one request; resolves with the reply (errors are replies with `err` set, not rejections).
   * `observe` sees the reply as its frame is read, in order with watch events; a promise's
   * continuation runs later, after the events of frames that came in the same chunk.
   */
  request(op: ClientOp, observe?: (reply: Reply) => void): Promise<Reply> {
    if (this.closed) return Promise.reject(new ConnectionLossError("closed"));
    const xid = op.op === "auth" ? Xid.auth : op.op === "setWatches" ? Xid.setWatches : ++this.xid;
    return new Promise((resolve, reject) => {
      this.pending.push({ xid, op, observe, resolve, reject });
      this.socket.write(frame(encodeRequest(xid, op)));
    });
  }

  /**
   * Sends a request record the client has no op for (reconfig, sasl, ...) as given; resolves with
   * the reply header's err and zxid only.
   */
  requestRaw(type: number, record: Uint8Array): Promise<Reply> {
    if (this.closed) return Promise.reject(new ConnectionLossError("closed"));
    const xid = ++this.xid;
    const op: ClientOp = { op: "unsupported", opcode: type, err: 0 };
    const header = new Uint8Array(8);
    new DataView(header.buffer).setInt32(0, xid);
    new DataView(header.buffer).setInt32(4, type);
    const payload = new Uint8Array(8 + record.length);
    payload.set(header);
    payload.set(record, 8);
    return new Promise((resolve, reject) => {
      this.pending.push({ xid, op, observe: undefined, resolve, reject });
      this.socket.write(frame(payload));
    });
  }

  addAuth(scheme: string, credentials: string): Promise<Reply> {
    return this.request({ op: "auth", scheme, credentials });
  }

  /** Hangs up without closing the session (as a client that gives up on a slow server does). */
  abort(): void {
    this.closed = true;
    this.socket.destroy();
  }

  /** closeSession, then hang up. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.request({ op: "closeSession" });
    } catch {
      // already gone
    }
    this.closed = true;
    this.socket.destroy();
  }
}
