// Arbitrary bytes on the client port never crash the server nor disturb other clients: a malformed
// or oversized frame closes only its own connection.

import { createConnection } from "node:net";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import zookeeper from "node-zookeeper-client";
import type { TestEnsemble } from "./test/ensemble.ts";
import { startEnsemble } from "./test/ensemble.ts";
import { frame } from "./framing.ts";
import { encodeConnectRequest } from "./wire.ts";
import { sessionId, zxid } from "../core/types.ts";

let ensemble: TestEnsemble;
beforeAll(async () => {
  ensemble = await startEnsemble(1);
}, 30_000);
afterAll(async () => ensemble?.stop());

function blast(port: number, chunks: readonly Uint8Array[]): Promise<void> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    socket.on("connect", () => {
      for (const chunk of chunks) socket.write(chunk);
      setTimeout(() => socket.destroy(), 20);
    });
    socket.on("close", () => resolve());
    socket.on("error", () => resolve());
  });
}

const connectFrame = frame(
  encodeConnectRequest({
    protocolVersion: 0,
    lastZxidSeen: zxid(0n),
    timeoutMs: 5000,
    sessionId: sessionId(0n),
    password: new Uint8Array(16),
    readOnly: false,
  }),
);

describe("fuzzing the client port", () => {
  it("survives random bytes, random frames after a handshake, and oversized lengths", async () => {
    const port = ensemble.clientPorts[0]!;
    const watcher = zookeeper.createClient(`127.0.0.1:${port}`, { sessionTimeout: 8000 });
    await new Promise<void>((resolve) => {
      watcher.once("connected", () => resolve());
      watcher.connect();
    });
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 4 }),
          fc
            .array(fc.uint8Array({ maxLength: 64 }), { maxLength: 4 })
            .map((frames) => [connectFrame, ...frames.map(frame)]),
          fc.constant([new Uint8Array([0x7f, 0xff, 0xff, 0xff])]),
          fc.constant([new Uint8Array([0xff, 0xff, 0xff, 0xf0, 1, 2, 3])]),
        ),
        async (chunks) => blast(port, chunks),
      ),
      { numRuns: 150 },
    );
    // The server is alive, and the bystander's session still works.
    const created = await new Promise<string>((resolve, reject) =>
      watcher.create("/still-alive", (err, path) => (err ? reject(err) : resolve(path))),
    );
    expect(created).toBe("/still-alive");
    watcher.close();
  }, 120_000);
});
