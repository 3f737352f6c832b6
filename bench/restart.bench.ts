// Stop-to-serving time of a standalone server holding a large tree, against Apache ZooKeeper 3.8
// on the same data shape, in one run: NODES creates (default 1,000,000) of 100-byte data, 1000
// per parent, on disk as a snapshot plus a large log tail after it. Each server is stopped
// cleanly (SIGTERM) and started again; timed from the spawn to the first successful getData.
// Ours: the data directory is written through the core and the storage formats (a snapshot at
// NODES - TAIL creates, TAIL txns in the log; TAIL defaults to 10% up to snapCount's 100,000;
// TAIL=0 leaves a snapshot of all NODES and an empty log).
// ZooKeeper's: loaded over the wire (pipelined creates), snapshotting on its own default snapCount.
// Run: npm run bench:restart (NODES=100000 for a quick run).

import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { utf8 } from "../core/bytes.ts";
import { openAclUnsafe } from "../core/types.ts";
import { buildDataDir, nodePath } from "../net/test/data-dir.ts";
import { freePort } from "../net/test/ensemble.ts";
import { serverNodeFlags } from "../net/server-flags.ts";
import { zkServerScript } from "../net/test/reference-zookeeper.ts";
import { ZkClient } from "../net/zk-client.ts";

const nodeCount = Number(process.env.NODES ?? 1_000_000);
const tail = Number(process.env.TAIL ?? Math.min(100_000, Math.floor(nodeCount / 10)));
const zkHeap = process.env.ZK_HEAP ?? "3g";
const startLimitMs = 300_000;
const stopLimitMs = 60_000;
const mainPath = new URL("../net/main.ts", import.meta.url).pathname;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const progress = (text: string) => process.stdout.write(`\r${text}\x1b[K`);

/** Every server process this run started and that has not exited: stopped on the way out. */
const running = new Set<ChildProcess>();

function track(child: ChildProcess): ChildProcess {
  running.add(child);
  child.once("exit", () => running.delete(child));
  return child;
}

interface Started {
  child: ChildProcess;
  /** Spawn to first successful read of the last znode. */
  servingMs: number;
  residentMb: number;
}

/** Resident memory of a process, from /proc (Linux). */
function residentMb(pid: number): number {
  const line = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return line === null ? NaN : Number(line[1]) / 1024;
}

/** Spawns a server and polls it until a getData of the last znode succeeds. */
async function startAndRead(
  label: string,
  port: number,
  spawnServer: () => ChildProcess,
): Promise<Started> {
  const started = performance.now();
  const child = spawnServer();
  const lastPath = nodePath(nodeCount - 1);
  for (;;) {
    const elapsed = performance.now() - started;
    if (child.exitCode !== null)
      throw new Error(`${label} exited with ${child.exitCode} while starting`);
    if (elapsed > startLimitMs) {
      await stop(child);
      throw new Error(`${label} did not serve within ${startLimitMs} ms`);
    }
    progress(`${label}: starting, ${seconds(elapsed)}`);
    try {
      const client = await ZkClient.connect("127.0.0.1", port, {
        timeoutMs: 30_000,
        handshakeTimeoutMs: 2_000,
      });
      const reply = await client.request({ op: "getData", path: lastPath, watch: false });
      client.abort();
      if (reply.err === 0) {
        const servingMs = performance.now() - started;
        progress(`${label}: serving after ${seconds(servingMs)}\n`);
        return { child, servingMs, residentMb: residentMb(child.pid!) };
      }
    } catch {
      // not listening yet, or refused the session while recovering
    }
    await sleep(20);
  }
}

/** SIGTERM (a clean stop), then SIGKILL after stopLimitMs; resolves once the process is gone. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const killer = setTimeout(() => child.kill("SIGKILL"), stopLimitMs);
  await gone;
  clearTimeout(killer);
}

function ours(root: string, port: number): { dir: string; spawnServer: () => ChildProcess } {
  const dir = join(root, "ours");
  mkdirSync(dir, { recursive: true });
  const cfg = join(dir, "zoo.cfg");
  writeFileSync(
    cfg,
    `tickTime=2000\ndataDir=${dir}\nclientPort=${port}\nclientPortAddress=127.0.0.1\n`,
  );
  const spawnServer = () =>
    track(
      spawn(process.execPath, [...serverNodeFlags, "--import", "tsx", mainPath, cfg], {
        stdio: "ignore",
      }),
    );
  return { dir, spawnServer };
}

function zooKeeper(root: string, port: number): { dir: string; spawnServer: () => ChildProcess } {
  const dir = join(root, "zookeeper");
  mkdirSync(dir, { recursive: true });
  const cfg = join(dir, "zoo.cfg");
  writeFileSync(
    cfg,
    `tickTime=2000\ndataDir=${dir}/data\nclientPort=${port}\nclientPortAddress=127.0.0.1\n` +
      "admin.enableServer=false\n",
  );
  // start-foreground execs java, so the child is the JVM itself and SIGTERM is its clean stop.
  const spawnServer = () =>
    track(
      spawn(zkServerScript, ["start-foreground", cfg], {
        env: { ...process.env, ZOO_LOG_DIR: dir, SERVER_JVMFLAGS: `-Xms${zkHeap} -Xmx${zkHeap}` },
        stdio: "ignore",
      }),
    );
  return { dir, spawnServer };
}

/** Pipelined creates over one connection, at most `window` in flight. */
async function loadOverTheWire(port: number): Promise<void> {
  const client = await ZkClient.connect("127.0.0.1", port, { timeoutMs: 30_000 });
  const data = utf8("x".repeat(100));
  const window = 1000;
  const inFlight = new Set<Promise<void>>();
  const started = performance.now();
  let failure: Error | undefined;
  for (let i = 0; i < nodeCount && failure === undefined; i++) {
    const path = nodePath(i);
    const request = client
      .request({ op: "create", path, data, acl: openAclUnsafe, flags: 0, ttl: -1 })
      .then((reply) => {
        if (reply.err !== 0) failure = new Error(`create ${path}: error ${reply.err}`);
      });
    const tracked = request.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
    if (inFlight.size >= window) await Promise.race(inFlight);
    if (i % 10_000 === 0)
      progress(
        `ZooKeeper: loading over the wire, ${i.toLocaleString()} creates ` +
          `(${Math.round(i / ((performance.now() - started) / 1000 + 1e-9)).toLocaleString()}/s)`,
      );
  }
  await Promise.all(inFlight);
  if (failure !== undefined) throw failure;
  await client.close();
  progress(
    `ZooKeeper: loaded ${nodeCount.toLocaleString()} creates ` +
      `in ${seconds(performance.now() - started)}\n`,
  );
}

/** "snapshot at 0x.., n log files, m MB" for a ZooKeeper data directory. */
function describeZooKeeperData(dir: string): string {
  const version2 = join(dir, "data", "version-2");
  if (!existsSync(version2)) return "no data";
  const files = readdirSync(version2);
  const snapshots = files
    .filter((f) => f.startsWith("snapshot."))
    .sort((a, b) => Number(BigInt(`0x${a.slice(9)}`) - BigInt(`0x${b.slice(9)}`)));
  const logs = files.filter((f) => f.startsWith("log."));
  const mb = (names: string[]) =>
    (names.reduce((n, f) => n + statSync(join(version2, f)).size, 0) / 1e6).toFixed(0);
  const newest = snapshots[snapshots.length - 1];
  const tailTxns =
    newest === undefined
      ? nodeCount
      : nodeCount + 1 - Number(BigInt(`0x${newest.slice(9)}`) & 0xffffffffn);
  return (
    `newest snapshot ${newest ?? "none"} (${mb(snapshots)} MB in ${snapshots.length}), ` +
    `about ${tailTxns.toLocaleString()} txns after it, ` +
    `${logs.length} log files (${mb(logs)} MB, preallocated)`
  );
}

async function main(): Promise<void> {
  if (!existsSync(zkServerScript))
    throw new Error(`Apache ZooKeeper is needed at ${zkServerScript}`);
  const root = mkdtempSync(join(tmpdir(), "zk-restart-"));
  const cleanUp = async () => {
    await Promise.all([...running].map(stop));
    rmSync(root, { recursive: true, force: true });
  };
  process.once("SIGINT", () => void cleanUp().then(() => process.exit(130)));
  try {
    const [ourPort, zkPort] = [await freePort(), await freePort()];
    const us = ours(root, ourPort);
    const zk = zooKeeper(root, zkPort);
    console.log(
      `${nodeCount.toLocaleString()} znodes of 100 bytes, 1000 per parent; ` +
        `our log tail ${tail.toLocaleString()} txns; ZooKeeper heap ${zkHeap}`,
    );

    const built = performance.now();
    buildDataDir(us.dir, {
      creates: nodeCount,
      snapshotAfter: nodeCount - tail,
      progress: (done) =>
        progress(`ours: writing the data directory, ${done.toLocaleString()} creates`),
    });
    progress(
      `ours: data directory written in ${seconds(performance.now() - built)} ` +
        `(snapshot + ${tail.toLocaleString()}-txn log)\n`,
    );

    const zkFirst = zk.spawnServer();
    await waitListening(zkPort, zkFirst);
    await loadOverTheWire(zkPort);
    await stop(zkFirst);
    console.log(`ZooKeeper: stopped cleanly; ${describeZooKeeperData(zk.dir)}`);

    // The same order each run: ours first, then ZooKeeper, each on a page cache warm from writing.
    const ourRun = await startAndRead("ours", ourPort, us.spawnServer);
    await stop(ourRun.child);
    const zkRun = await startAndRead("ZooKeeper", zkPort, zk.spawnServer);
    await stop(zkRun.child);

    const ratio = ourRun.servingMs / zkRun.servingMs;
    console.log(
      `\nstop-to-serving, ${nodeCount.toLocaleString()} znodes ` +
        "(spawn to the first successful getData):",
    );
    console.log(
      `  ours       ${seconds(ourRun.servingMs).padStart(9)}   resident when serving ` +
        `${ourRun.residentMb.toFixed(0)} MB`,
    );
    console.log(
      `  ZooKeeper  ${seconds(zkRun.servingMs).padStart(9)}   resident when serving ` +
        `${zkRun.residentMb.toFixed(0)} MB (heap ${zkHeap} preallocated)`,
    );
    console.log(`  ratio ours/ZooKeeper ${ratio.toFixed(2)}`);
  } finally {
    await cleanUp();
  }
}

async function waitListening(port: number, child: ChildProcess): Promise<void> {
  const deadline = performance.now() + startLimitMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    try {
      const probe = await ZkClient.connect("127.0.0.1", port, { handshakeTimeoutMs: 2_000 });
      await probe.close();
      return;
    } catch {
      if (performance.now() > deadline)
        throw new Error(`no server on ${port} within ${startLimitMs} ms`);
      await sleep(100);
    }
  }
}

await main();
