// Peer links join members of one ensemble only: a server of another ensemble that dials a reused
// port (every test ensemble numbers its servers 1-3) is refused, so it cannot vote in this one.

import { afterEach, describe, expect, it } from "vitest";
import type { ServerEntry } from "./config.ts";
import { PeerTransport } from "./peers.ts";
import { freePort } from "./testing.ts";

const transports: PeerTransport[] = [];
afterEach(() => {
  for (const t of transports.splice(0)) t.stop();
});

const entry = (id: number, peerPort: number, electionPort: number): ServerEntry => ({
  id,
  host: "127.0.0.1",
  peerPort,
  electionPort,
  role: "participant",
  clientHost: undefined,
  clientPort: undefined,
});

/** Starts server `self` of `servers`; resolves its log and the peers it saw come up. */
async function start(self: ServerEntry, servers: ServerEntry[]) {
  const up: number[] = [];
  const log: string[] = [];
  const transport = new PeerTransport(
    self,
    servers.filter((s) => s.id !== self.id),
    {
      onMessage: () => {},
      onUp: (peer) => up.push(peer),
      onDown: () => {},
      log: (m) => log.push(m),
    },
  );
  transports.push(transport);
  await transport.start();
  return { up, log };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

describe("net: peer links", () => {
  it("link the servers of one ensemble", async () => {
    const [a, b, c] = await Promise.all([freePort(), freePort(), freePort()]);
    const servers = [entry(1, a!, c!), entry(2, b!, c!)];
    const one = await start(servers[0]!, servers);
    const two = await start(servers[1]!, servers);
    await settle();
    expect(one.up).toEqual([2]);
    expect(two.up).toEqual([1]);
  });

  it("refuse a server of another ensemble that has the same id", async () => {
    const [a, b, c, d] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    const ours = [entry(1, a!, c!), entry(2, b!, c!)];
    // Another ensemble whose server 2 believes its server 1 listens where ours does.
    const theirs = [entry(1, a!, d!), entry(2, b!, d!)];
    const one = await start(ours[0]!, ours);
    const stranger = await start(theirs[1]!, theirs);
    await settle();
    expect(one.up).toEqual([]);
    expect(one.log.join("\n")).toMatch(/another ensemble's server list/);
    expect(stranger.up.length).toBeLessThanOrEqual(1); // it dialed; the other end hung up
  });
});
