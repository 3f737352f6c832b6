// Starts Apache ZooKeeper (Debian's package) and this server with one and the same zoo.cfg: a
// 3-node ensemble (or a standalone server) on loopback, fsync on, tickTime 2000. Each member is its
// own process, spawned directly (java by zkServer.sh's exec, node with --import tsx) so that the
// pid we read CPU time from is the server itself and not a wrapper.

import { execFileSync, spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../net/test/ensemble.ts";
import { fourLetterWord } from "../../net/processes.ts";
import { serverNodeFlags } from "../../net/server-flags.ts";
import { ZkClient } from "../../net/zk-client.ts";

export type ServerKind = "zookeeper" | "ours";

export const zkServerScript = "/usr/share/zookeeper/bin/zkServer.sh";
const mainPath = new URL("../../net/main.ts", import.meta.url).pathname;

export interface Ensemble {
  kind: ServerKind;
  clientPorts: number[];
  /** Each member's Prometheus metrics port (metricsProvider.httpPort; only ours serves it). */
  metricsPorts: number[];
  pids: number[];
  /** Each member's output (ZooKeeper's console log, this server's JSON log). */
  logs: string[];
  /** Kills every member; `keepFiles` leaves the data and logs for a look after a failure. */
  stop(keepFiles?: boolean): void;
}

/** Every process started here, so that an exit for any reason can kill what is still running. */
const running = new Set<ChildProcess>();

export function killAll(): void {
  for (const child of running) {
    try {
      child.kill("SIGKILL");
    } catch {
      // gone already
    }
  }
  running.clear();
}

/** Installs Debian's zookeeper package when zkServer.sh is missing (apt-get, as root). */
export function ensureZooKeeperInstalled(log: (line: string) => void): void {
  if (existsSync(zkServerScript)) return;
  log(`${zkServerScript} is missing: installing Debian's zookeeper package (apt-get)`);
  execFileSync("apt-get", ["install", "-y", "--no-install-recommends", "zookeeper"], {
    stdio: "inherit",
    timeout: 600_000,
  });
  if (!existsSync(zkServerScript))
    throw new Error("apt-get install zookeeper did not provide zkServer.sh");
}

/**
 * The zoo.cfg both servers get; `servers` is empty for a standalone server. ZooKeeper reads the
 * metrics port only with its Prometheus provider named (metricsProvider.className), and is not
 * given one: Debian's package lacks it.
 */
export function zooCfg(
  dataDir: string,
  clientPort: number,
  metricsPort: number,
  servers: string[],
): string {
  return [
    "tickTime=2000",
    "initLimit=10",
    "syncLimit=5",
    `dataDir=${dataDir}`,
    `clientPort=${clientPort}`,
    "clientPortAddress=127.0.0.1",
    "maxClientCnxns=0",
    "forceSync=yes",
    "admin.enableServer=false",
    "4lw.commands.whitelist=*",
    `metricsProvider.httpPort=${metricsPort}`,
    ...servers,
    "",
  ].join("\n");
}

export async function startEnsemble(
  kind: ServerKind,
  size: number,
  timeoutMs = 90_000,
  /** Extra node flags for this server's members (e.g. --cpu-prof, to profile under load). */
  nodeArgs: readonly string[] = [],
): Promise<Ensemble> {
  const root = mkdtempSync(join(tmpdir(), `bench-${kind}-`));
  const ports = await Promise.all(Array.from({ length: size * 4 }, () => freePort()));
  const servers =
    size === 1
      ? []
      : Array.from(
          { length: size },
          (_, i) => `server.${i + 1}=127.0.0.1:${ports[3 * i]}:${ports[3 * i + 1]}`,
        );
  const clientPorts = Array.from({ length: size }, (_, i) => ports[3 * i + 2]!);
  const metricsPorts = Array.from({ length: size }, (_, i) => ports[3 * size + i]!);
  const children: ChildProcess[] = [];
  const logs: string[] = [];
  const stop = (keepFiles = false) => {
    for (const child of children) {
      child.kill("SIGKILL");
      running.delete(child);
    }
    if (!keepFiles) rmSync(root, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < size; i++) {
      const dir = join(root, String(i + 1));
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "myid"), `${i + 1}\n`);
      const cfg = join(dir, "zoo.cfg");
      writeFileSync(cfg, zooCfg(dir, clientPorts[i]!, metricsPorts[i]!, servers));
      // Both log as packaged, at INFO: ZooKeeper to its console (Debian's log4j.properties),
      // this server JSON on stderr; both into a file beside the member's data.
      const logPath = join(dir, "server.log");
      const out = openSync(logPath, "a");
      logs.push(logPath);
      const stdio: ["ignore", number, number] = ["ignore", out, out];
      const oursArgs = [...serverNodeFlags, ...nodeArgs, "--import", "tsx", mainPath, cfg];
      const child =
        kind === "zookeeper"
          ? spawn(zkServerScript, ["start-foreground", cfg], { stdio })
          : spawn(process.execPath, oursArgs, { stdio });
      closeSync(out);
      running.add(child);
      children.push(child);
    }
    await untilServing(kind, clientPorts, children, timeoutMs);
  } catch (error) {
    stop();
    throw error;
  }
  return { kind, clientPorts, metricsPorts, pids: children.map((c) => c.pid!), logs, stop };
}

async function untilServing(
  kind: ServerKind,
  ports: number[],
  children: ChildProcess[],
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const dead = children.findIndex((c) => c.exitCode !== null || c.signalCode !== null);
    if (dead >= 0) throw new Error(`${kind} server ${dead + 1} exited while starting`);
    const modes = await Promise.all(
      ports.map(async (p) => /Mode: (\w+)/.exec(await fourLetterWord(p, "srvr", 1000))?.[1]),
    );
    const ready =
      ports.length === 1
        ? modes[0] === "standalone"
        : modes.filter((m) => m === "leader").length === 1 &&
          modes.filter((m) => m === "follower").length === ports.length - 1;
    // A member may report its mode before it takes sessions (a leader still synchronizing).
    if (ready && (await Promise.all(ports.map(acceptsSession))).every(Boolean)) return;
    if (Date.now() > deadline)
      throw new Error(
        `${kind} ensemble not serving within ${timeoutMs} ms (modes: ${modes.join(", ")})`,
      );
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function acceptsSession(port: number): Promise<boolean> {
  try {
    const client = await ZkClient.connect("127.0.0.1", port, {
      timeoutMs: 30_000,
      handshakeTimeoutMs: 2_000,
    });
    await client.close();
    return true;
  } catch {
    return false;
  }
}
