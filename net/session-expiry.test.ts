// A session lives its whole timeout after the server last heard from its client, on a standalone
// server and on every member of an ensemble (the leader used to date its own clients' packets at
// its last tick, so their sessions expired up to a tickTime early), and znode times are the time
// of the request, not of the last tick.

import { afterEach, describe, expect, it } from "vitest";
import { utf8 } from "../core/bytes.ts";
import { CreateMode, openAclUnsafe } from "../core/types.ts";
import type { TestEnsemble } from "./test/ensemble.ts";
import { startEnsemble } from "./test/ensemble.ts";
import { ZkClient } from "./zk-client.ts";

const tickMs = 2_000;
const timeoutMs = 2 * tickMs; // the smallest timeout the server negotiates
const eventTypeDeleted = 2;

let ensemble: TestEnsemble | undefined;
afterEach(async () => {
  await ensemble?.stop();
  ensemble = undefined;
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A member still finishing its sync refuses clients for a moment: try again, for a bounded time.
 */
async function connect(port: number, timeoutMs: number): Promise<ZkClient> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await ZkClient.connect("127.0.0.1", port, { timeoutMs });
    } catch (error) {
      if (attempt >= 50) throw error;
      await sleep(100);
    }
  }
}

/**
 * Sessions on each server, each falling silent at a different point between two ticks; returns
 * for each how long after its last request was sent its ephemeral node was seen to go.
 */
async function silentSessionLifetimes(ports: number[], perServer: number): Promise<number[]> {
  const observer = await connect(ports[0]!, 30_000);
  const deletedAt = new Map<string, number>();
  observer.onWatchEvent = (event) => {
    if (event.type === eventTypeDeleted) deletedAt.set(event.path, Date.now());
  };
  const lastSentAt = new Map<string, number>();
  const silences: Promise<void>[] = [];
  let index = 0;
  for (const port of ports) {
    for (let i = 0; i < perServer; i++, index++) {
      const path = `/silent-${index}`;
      const offsetMs = (index * tickMs) / (ports.length * perServer);
      silences.push(
        (async () => {
          const client = await connect(port, timeoutMs);
          const create = {
            op: "create" as const,
            path,
            data: utf8(""),
            acl: openAclUnsafe,
            ttl: -1,
          };
          expect((await client.request({ ...create, flags: CreateMode.EPHEMERAL })).err).toBe(0);
          await sleep(offsetMs);
          lastSentAt.set(path, Date.now());
          await client.request({ op: "exists", path, watch: false });
          client.abort(); // cut off, as a client behind a failed link is: no close, no more pings
        })(),
      );
    }
  }
  await Promise.all(silences);
  for (const path of lastSentAt.keys()) {
    expect((await observer.request({ op: "exists", path, watch: true })).err).toBe(0);
  }
  const deadline = Date.now() + timeoutMs + 4 * tickMs;
  while (deletedAt.size < lastSentAt.size && Date.now() < deadline) await sleep(20);
  await observer.close();
  expect(deletedAt.size, "every silent session expired").toBe(lastSentAt.size);
  return [...lastSentAt].map(([path, sentAt]) => deletedAt.get(path)! - sentAt);
}

describe("session expiry", () => {
  it("a standalone server never expires a session before its timeout", async () => {
    ensemble = await startEnsemble(1, `tickTime=${tickMs}`);
    const lifetimes = await silentSessionLifetimes(ensemble.clientPorts, 4);
    expect(Math.min(...lifetimes)).toBeGreaterThanOrEqual(timeoutMs);
    // ZooKeeper's bound on the other side: the first tick after the deadline (plus delivery).
    expect(Math.max(...lifetimes)).toBeLessThan(timeoutMs + tickMs + 1_000);
  }, 60_000);

  it("no member of an ensemble expires a session before its timeout", async () => {
    ensemble = await startEnsemble(3, `tickTime=${tickMs}`);
    const lifetimes = await silentSessionLifetimes(ensemble.clientPorts, 2);
    expect(Math.min(...lifetimes)).toBeGreaterThanOrEqual(timeoutMs);
  }, 90_000);

  it("dates a znode with the time of its request", async () => {
    ensemble = await startEnsemble(1, `tickTime=${tickMs}`);
    const client = await ZkClient.connect("127.0.0.1", ensemble.clientPorts[0]!);
    for (let i = 0; i < 4; i++) {
      await sleep(tickMs / 4);
      const sentAt = Date.now();
      const path = `/dated-${i}`;
      const create = { op: "create" as const, path, data: utf8(""), acl: openAclUnsafe, flags: 0 };
      expect((await client.request({ ...create, ttl: -1 })).err).toBe(0);
      const repliedAt = Date.now();
      const stat = (await client.request({ op: "exists", path, watch: false })).stat!;
      expect(stat.ctime).toBeGreaterThanOrEqual(sentAt - 5);
      expect(stat.ctime).toBeLessThanOrEqual(repliedAt + 5);
    }
    await client.close();
  }, 30_000);
});
