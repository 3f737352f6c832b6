// Backpressure: a client that pipelines far more than globalOutstandingLimit, or that stops reading
// its replies, is no longer read from (TCP pushes back on it) instead of growing the server's
// memory; it gets every reply, in order, once it reads again, and other clients are served
// meanwhile.

import { createConnection } from "node:net";
import type { Socket } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { utf8 } from "../core/bytes.ts";
import { openAclUnsafe, sessionId, zxid } from "../core/types.ts";
import { frame, Framer } from "./framing.ts";
import type { TestEnsemble } from "./test/ensemble.ts";
import { startEnsemble, waitFor } from "./test/ensemble.ts";
import { decodeReplyHeader, encodeConnectRequest, encodeRequest } from "./wire.ts";
import { ZkClient } from "./zk-client.ts";

let ensemble: TestEnsemble | undefined;
afterAll(async () => ensemble?.stop());

/**
 * A raw connection that sends a handshake and `requests` in one go, without reading anything yet.
 */
function pipeline(port: number, requests: Uint8Array[]): Socket {
  const socket = createConnection({ host: "127.0.0.1", port });
  socket.pause();
  const handshake = encodeConnectRequest({
    protocolVersion: 0,
    lastZxidSeen: zxid(0n),
    timeoutMs: 30_000,
    sessionId: sessionId(0n),
    password: new Uint8Array(16),
    readOnly: false,
  });
  socket.on("connect", () =>
    socket.write(Buffer.concat([frame(handshake), ...requests.map((r) => frame(r))])),
  );
  return socket;
}

/** Reads `count` frames after the handshake response; returns their xids and error codes. */
function readReplies(socket: Socket, count: number): Promise<{ xid: number; err: number }[]> {
  const framer = new Framer(16 * 1024 * 1024);
  const replies: { xid: number; err: number }[] = [];
  let handshaken = false;
  return new Promise((resolve, reject) => {
    socket.on("data", (chunk: Buffer) => {
      for (const payload of framer.push(
        new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length),
      )) {
        if (!handshaken) {
          handshaken = true;
          continue;
        }
        const header = decodeReplyHeader(payload);
        replies.push({ xid: header.xid, err: header.err });
        if (replies.length === count) resolve(replies);
      }
    });
    socket.on("close", () =>
      reject(new Error(`connection closed after ${replies.length} replies`)),
    );
    socket.resume();
  });
}

describe("net: backpressure on clients", () => {
  it("throttles at the global limit and unread replies; loses nothing, serves others", async () => {
    ensemble = await startEnsemble(1, "globalOutstandingLimit=8");
    const server = ensemble.servers[0]!;
    const port = ensemble.clientPorts[0]!;
    const setup = await ZkClient.connect("127.0.0.1", port);
    const big = utf8("x".repeat(500_000));
    expect(
      (
        await setup.request({
          op: "create",
          path: "/big",
          data: big,
          acl: openAclUnsafe,
          flags: 0,
          ttl: -1,
        })
      ).err,
    ).toBe(0);

    // 300 writes and 200 reads of a 500 kB node (100 MB of replies) in one burst, nothing read
    // back.
    const count = 500;
    const requests = Array.from({ length: count }, (_, i) =>
      i < 300
        ? encodeRequest(i + 1, { op: "setData", path: "/big", data: utf8(`v${i}`), version: -1 })
        : encodeRequest(i + 1, { op: "getData", path: "/big", watch: false }),
    );
    const buffersBeforeMb = process.memoryUsage().arrayBuffers / 1e6;
    const greedy = pipeline(port, requests);
    await waitFor(() => server.stats.throttledCount > 0, 10_000);

    // Another client is still served while the greedy one waits.
    const other = await ZkClient.connect("127.0.0.1", port);
    const started = performance.now();
    expect((await other.request({ op: "exists", path: "/big", watch: false })).err).toBe(0);
    expect(performance.now() - started).toBeLessThan(5_000);

    // The server holds the rest unread instead of buffering 100 MB of replies.
    await new Promise((r) => setTimeout(r, 500));
    const buffersGrowthMb = process.memoryUsage().arrayBuffers / 1e6 - buffersBeforeMb;
    const replies = await readReplies(greedy, count);
    expect(replies.map((r) => r.xid)).toEqual(Array.from({ length: count }, (_, i) => i + 1));
    expect(replies.filter((r) => r.err !== 0)).toEqual([]);
    expect(buffersGrowthMb).toBeLessThan(40); // not the 100 MB of replies the client had not read
    greedy.destroy();
    await other.close();
    await setup.close();
  }, 60_000);
});
