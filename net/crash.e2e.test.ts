// kill -9 of the leader under write load: every acknowledged write is there once the ensemble
// recovers, on every server. Real processes, real fsync, real sockets.

import { afterAll, describe, expect, it } from "vitest";
import zookeeper from "node-zookeeper-client";
import type { ProcessEnsemble } from "./processes.ts";
import { fourLetterWord, modeOf, startProcessEnsemble } from "./processes.ts";

let ensemble: ProcessEnsemble | undefined;
afterAll(async () => ensemble?.stop());

async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function leaderIndex(e: ProcessEnsemble): Promise<number | undefined> {
  const modes = await Promise.all(e.clientPorts.map(modeOf));
  const index = modes.indexOf("leader");
  return index >= 0 && modes.filter((m) => m === "follower").length >= 1 ? index : undefined;
}

function connect(connectString: string): zookeeper.Client {
  const client = zookeeper.createClient(connectString, {
    sessionTimeout: 6000,
    spinDelay: 100,
    retries: 1000,
  });
  client.connect();
  return client;
}

describe("crash recovery with real processes", () => {
  it("kill -9 of the leader under write load loses no acknowledged write", async () => {
    ensemble = await startProcessEnsemble(3);
    const e = ensemble;
    const leader = await waitFor(() => leaderIndex(e), 30_000);
    // Writers connect to the followers, so that their sessions survive the leader's death.
    const followers = e.clientPorts
      .filter((_, j) => j !== leader)
      .map((p) => `127.0.0.1:${p}`)
      .join(",");
    const writers = [0, 1, 2].map(() => connect(followers));
    const acked: string[] = [];
    let stop = false;
    let attempted = 0;
    const loops = writers.map((client, w) =>
      (async () => {
        for (let n = 0; !stop; n++) {
          const path = `/w${w}-${n}`;
          attempted++;
          const ok = await new Promise<boolean>((resolve) =>
            client.create(path, Buffer.from("x"), (err) => resolve(!err)),
          );
          if (ok) acked.push(path);
          else await new Promise((r) => setTimeout(r, 50));
        }
      })(),
    );
    await waitFor(async () => (acked.length >= 100 ? true : undefined), 30_000);
    e.kill9(leader);
    const ackedAtKill = acked.length;
    await new Promise((r) => setTimeout(r, 3000));
    e.start(leader);
    await waitFor(async () => (acked.length >= ackedAtKill + 100 ? true : undefined), 40_000);
    stop = true;
    await Promise.all(loops);
    for (const client of writers) client.close();
    await waitFor(() => leaderIndex(e), 30_000);
    // Reads are served locally: wait until every server has applied the same last zxid.
    await waitFor(async () => {
      const zxids = await Promise.all(
        e.clientPorts.map(
          async (p) => /Zxid: (0x[0-9a-f]+)/.exec(await fourLetterWord(p, "srvr"))?.[1],
        ),
      );
      return zxids[0] !== undefined && zxids.every((z) => z === zxids[0]) ? true : undefined;
    }, 30_000);
    // Every acknowledged write is on every server, the restarted one included.
    for (const port of e.clientPorts) {
      const reader = connect(`127.0.0.1:${port}`);
      const missing: string[] = [];
      for (const path of acked) {
        const exists = await new Promise<boolean>((resolve) =>
          reader.exists(path, (err, stat) => resolve(!err && stat !== null)),
        );
        if (!exists) missing.push(path);
      }
      reader.close();
      expect(missing, `server on ${port}`).toEqual([]);
    }
    expect(acked.length).toBeGreaterThan(200);
    expect(attempted).toBeGreaterThanOrEqual(acked.length);
  }, 180_000);
});
