// A follower too far behind for a DIFF catches up by SNAP while clients keep writing to the
// leader: how long do writes stall, and does the ensemble keep its leader? Run twice side by side:
// the snapshot encoded on the leader's event loop in one go, and in pieces from a capture.
// Three real server processes seeded with the same large tree (NODES, default 1,000,000).
// Run: npm run bench:snap-sync (NODES=200000 for a quicker run).

import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { utf8 } from "../core/bytes.ts";
import { freePort } from "../net/test/ensemble.ts";
import { fourLetterWord } from "../net/processes.ts";
import { serverNodeFlags } from "../net/server-flags.ts";
import { ZkClient } from "../net/zk-client.ts";
import { buildSnapshot } from "./large-tree.ts";

const nodeCount = Number(process.env.NODES ?? 1_000_000);
const behindBy = 1_000; // txns the follower misses: above commitLogCount (500), so it gets a SNAP
const catchUpLimitMs = 240_000;
const mainPath = new URL("../net/main.ts", import.meta.url).pathname;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface Srvr {
  mode: string | undefined;
  zxid: bigint | undefined;
}

async function srvr(port: number): Promise<Srvr> {
  const text = await fourLetterWord(port, "srvr", 1_000);
  const zxid = /Zxid: (0x[0-9a-f]+)/.exec(text)?.[1];
  return {
    mode: /Mode: (\w+)/.exec(text)?.[1],
    zxid: zxid === undefined ? undefined : BigInt(zxid),
  };
}

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(200);
  }
}

async function run(label: string, snapshot: Uint8Array, inline: boolean): Promise<string> {
  const root = mkdtempSync(join(tmpdir(), "zk-snapsync-"));
  const ports = await Promise.all(Array.from({ length: 9 }, () => freePort()));
  const servers = [0, 1, 2].map(
    (i) => `server.${i + 1}=127.0.0.1:${ports[3 * i]}:${ports[3 * i + 1]}`,
  );
  const clientPorts = [0, 1, 2].map((i) => ports[3 * i + 2]!);
  const configs = clientPorts.map((port, i) => {
    const dir = join(root, String(i + 1));
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "snapshot.0000000000000000"), snapshot);
    const cfg = join(dir, "zoo.cfg");
    // initLimit leaves room for loading and shipping the tree; syncLimit (3 s) is ZooKeeper's
    // usual few ticks: a leader silent for longer loses its followers.
    writeFileSync(
      cfg,
      [
        "tickTime=500",
        "initLimit=120",
        "syncLimit=6",
        `dataDir=${dir}`,
        `clientPort=${port}`,
        "clientPortAddress=127.0.0.1",
        "4lw.commands.whitelist=*",
        `myid=${i + 1}`,
        "snapCount=100000000",
        `zksim.syncSnapshotInline=${inline}`,
        ...servers,
      ].join("\n"),
    );
    return cfg;
  });
  const processes: (ChildProcess | undefined)[] = [];
  const start = (i: number) =>
    (processes[i] = spawn(
      process.execPath,
      [...serverNodeFlags, "--max-old-space-size=4096", "--import", "tsx", mainPath, configs[i]!],
      { stdio: "ignore" },
    ));
  try {
    for (let i = 0; i < 3; i++) start(i);
    const leader = await until(
      "a leader",
      async () => {
        const modes = await Promise.all(clientPorts.map(async (p) => (await srvr(p)).mode));
        const index = modes.indexOf("leader");
        return index >= 0 && modes.filter((m) => m === "follower").length === 2 ? index : undefined;
      },
      catchUpLimitMs,
    );
    const follower = (leader + 1) % 3;
    processes[follower]!.kill("SIGKILL");
    const client = await ZkClient.connect("127.0.0.1", clientPorts[leader]!, { timeoutMs: 30_000 });
    const data = utf8("y".repeat(100));
    let writes = 0;
    const write = async (): Promise<number> => {
      const started = performance.now();
      const reply = await client.request({
        op: "setData",
        path: `/p${writes % 100}/n${1 + (writes % 999)}`,
        data,
        version: -1,
      });
      writes++;
      if (reply.err !== 0) throw new Error(`write failed with ${reply.err}`);
      return performance.now() - started;
    };
    for (let i = 0; i < behindBy; i++) await write();
    process.stdout.write(
      `${label}: follower ${follower + 1} is ${behindBy} txns behind; restarting it\n`,
    );

    // The follower comes back; writes go on at the leader until it has caught up.
    const restartedAt = performance.now();
    start(follower);
    const latencies: number[] = [];
    let caughtUpMs: number | undefined;
    let leaderLost = false;
    const watcher = (async () => {
      while (caughtUpMs === undefined && performance.now() - restartedAt < catchUpLimitMs) {
        const [l, f] = await Promise.all([
          srvr(clientPorts[leader]!),
          srvr(clientPorts[follower]!),
        ]);
        if (l.mode !== "leader") leaderLost = true;
        if (
          f.mode === "follower" &&
          l.zxid !== undefined &&
          f.zxid !== undefined &&
          f.zxid >= l.zxid - 5n
        )
          caughtUpMs = performance.now() - restartedAt;
        await sleep(250);
      }
    })();
    while (caughtUpMs === undefined && performance.now() - restartedAt < catchUpLimitMs) {
      try {
        latencies.push(await write());
      } catch {
        leaderLost = true; // the connection to the leader broke: it stepped down
        break;
      }
    }
    await watcher;
    client.abort();
    const sorted = [...latencies].sort((a, b) => a - b);
    const at = (p: number) =>
      sorted.length === 0
        ? NaN
        : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
    const f = (v: number) => v.toFixed(1).padStart(8);
    const caughtUp =
      caughtUpMs === undefined ? "   never" : `${(caughtUpMs / 1000).toFixed(1).padStart(6)} s`;
    return (
      `${label.padEnd(30)} caught up ${caughtUp}  ` +
      `writes ${String(latencies.length).padStart(6)}  p99 ${f(at(99))} ms  ` +
      `max ${f(sorted[sorted.length - 1] ?? NaN)} ms  leader ${leaderLost ? "LOST" : "kept"}`
    );
  } finally {
    for (const p of processes) p?.kill("SIGKILL");
    await sleep(500);
    rmSync(root, { recursive: true, force: true });
  }
}

const snapshot = buildSnapshot(nodeCount);
const inline = await run("SNAP encoded on the event loop", snapshot, true);
const pieces = await run("SNAP encoded in pieces", snapshot, false);
console.log(
  `\n${nodeCount.toLocaleString()} znodes, follower ${behindBy} txns behind, syncLimit 3 s:\n` +
    `${inline}\n${pieces}`,
);
