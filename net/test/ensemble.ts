// Test helper: an ensemble of real servers in this process, on free loopback ports, with fresh data
// directories; stopped and removed afterwards.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseZooCfg } from "../config.ts";
import { ZkServer } from "../server.ts";

import { freePort } from "../testing.ts";

export { freePort };

export interface TestEnsemble {
  servers: ZkServer[];
  clientPorts: number[];
  connectString: string;
  stop(): Promise<void>;
}

export async function startEnsemble(size: number, extra = ""): Promise<TestEnsemble> {
  const root = mkdtempSync(join(tmpdir(), "zk-ensemble-"));
  const ports = await Promise.all(Array.from({ length: size * 3 }, () => freePort()));
  const lines = Array.from(
    { length: size },
    (_, i) => `server.${i + 1}=127.0.0.1:${ports[3 * i]}:${ports[3 * i + 1]}`,
  );
  const clientPorts = Array.from({ length: size }, (_, i) => ports[3 * i + 2]!);
  const servers: ZkServer[] = [];
  for (let i = 0; i < size; i++) {
    const text = [
      "tickTime=200",
      "initLimit=10",
      "syncLimit=5",
      `dataDir=${join(root, String(i + 1))}`,
      `clientPort=${clientPorts[i]}`,
      "clientPortAddress=127.0.0.1",
      "4lw.commands.whitelist=*",
      `myid=${i + 1}`,
      ...(size > 1 ? lines : []),
      extra,
    ].join("\n");
    const server = new ZkServer(parseZooCfg(text).config, () => {});
    await server.start();
    servers.push(server);
  }
  // Generous: an election that needs a retry waits out initLimit ticks (20 s at tickTime 2000);
  // a slow formation is reported by the run's time, not by failing every test of the file.
  await waitFor(
    () =>
      servers.some(
        (s) => s.inspect().status.role === "leading" && s.inspect().status.phase === "broadcast",
      ) && servers.every((s) => s.inspect().status.role !== "looking"),
    60_000,
  );
  return {
    servers,
    clientPorts,
    connectString: clientPorts.map((p) => `127.0.0.1:${p}`).join(","),
    async stop() {
      for (const server of servers) await server.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

export async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
