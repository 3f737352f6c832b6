// Write latency while snapshots of a large tree are taken: serialized inline on the event loop
// (inside the core, as a naive server would) versus in pieces from a capture of the tree. Both runs
// use the same recovered tree and the same write load, side by side in one process.
// Run: npm run bench:snapshot (NODES=1000000 by default; NODES=200000 for a quicker run).

import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { utf8 } from "../core/bytes.ts";
import { parseZooCfg } from "../net/config.ts";
import { ZkServer } from "../net/server.ts";
import { freePort, waitFor } from "../net/test/ensemble.ts";
import { ZkClient } from "../net/zk-client.ts";
import { buildSnapshot } from "./large-tree.ts";

const nodeCount = Number(process.env.NODES ?? 1_000_000);
const writesPerRun = Number(process.env.WRITES ?? 6000);
const snapCount = Number(process.env.SNAPCOUNT ?? 1500);

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

async function run(label: string, snapshot: Uint8Array, inline: boolean): Promise<string> {
  const root = mkdtempSync(join(tmpdir(), "zk-snapbench-"));
  const dataDir = join(root, "data");
  mkdirSync(dataDir);
  writeFileSync(join(dataDir, "snapshot.0000000000000000"), snapshot);
  const port = await freePort();
  const cfg = parseZooCfg(
    `tickTime=2000\ndataDir=${dataDir}\nclientPort=${port}\nclientPortAddress=127.0.0.1\n` +
      `snapCount=${snapCount}\nzksim.snapshotInline=${inline}`,
  ).config;
  const server = new ZkServer(cfg, () => {});
  await server.start();
  await waitFor(
    () =>
      server.inspect().status.role === "leading" && server.inspect().status.phase === "broadcast",
    120_000,
  );
  const client = await ZkClient.connect("127.0.0.1", port, {
    timeoutMs: 30_000,
    handshakeTimeoutMs: 60_000,
  });
  const latencies: number[] = [];
  const data = utf8("y".repeat(100));
  for (let i = 0; i < writesPerRun; i++) {
    const started = performance.now();
    const reply = await client.request({
      op: "setData",
      path: `/p${i % 100}/n${1 + (i % 999)}`,
      data,
      version: -1,
    });
    latencies.push(performance.now() - started);
    if (reply.err !== 0) throw new Error(`write failed: ${reply.err}`);
    if (i % 1000 === 0) process.stdout.write(`\r${label}: ${i} writes   `);
  }
  await client.close();
  await new Promise((r) => setTimeout(r, 200));
  await server.stop();
  rmSync(root, { recursive: true, force: true });
  const sorted = [...latencies].sort((a, b) => a - b);
  const f = (v: number) => v.toFixed(2).padStart(9);
  return (
    `${label.padEnd(32)} p50 ${f(percentile(sorted, 50))} ms  p99 ${f(percentile(sorted, 99))} ms` +
    `  p99.9 ${f(percentile(sorted, 99.9))} ms  max ${f(sorted[sorted.length - 1]!)} ms`
  );
}

const snapshot = buildSnapshot(nodeCount);
console.log(
  `${writesPerRun} sequential setData writes per run, a snapshot every ${snapCount} txns ` +
    `(${Math.floor(writesPerRun / snapCount)} per run)`,
);
const inline = await run("snapshots inline (event loop)", snapshot, true);
const pieces = await run("snapshots in pieces from a capture", snapshot, false);
console.log(`\r${" ".repeat(60)}\n${inline}\n${pieces}`);
