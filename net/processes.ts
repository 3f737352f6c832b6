// An ensemble of real server processes (npm run server per member) on free loopback ports, so a
// test or the Jepsen-style run (jepsen-like/real/) can kill -9 or pause one of them. Every server
// is bounded: stop() kills them all and waits for their exits (a bounded wait), a server exits when
// its test process goes away (the preload), and those still running when the test process exits are
// killed then.

import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./testing.ts";
import { serverNodeFlags } from "./server-flags.ts";

export interface ProcessEnsemble {
  clientPorts: number[];
  connectString: string;
  processes: (ChildProcess | undefined)[];
  /** What each server wrote on stderr (its log lines), over all its runs, if asked for. */
  stderr: string[];
  start(index: number): void;
  kill9(index: number): void;
  /** Kills every server this ensemble started (paused ones too) and waits for them to exit. */
  stop(): Promise<void>;
}

// From the sources the servers run under tsx; compiled (the packaged jepsen command), as
// JavaScript.
const compiled = import.meta.url.endsWith(".js");
const mainPath = new URL(compiled ? "./main.js" : "./main.ts", import.meta.url).pathname;
const loader = compiled ? [] : ["--import", "tsx"];
const exitWithParent = new URL("./exit-with-parent.mjs", import.meta.url).href;

/** How long stop() waits for killed servers to exit before it gives up on them. */
const exitWaitMs = 5_000;

// Servers not yet seen to exit, from every ensemble of this process.
const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/** Pids of the servers started by this process that have not been seen to exit. */
export function runningServers(): number[] {
  return [...running].map((child) => child.pid!);
}

function spawnServer(
  cfg: string,
  captureStderr = false,
  env: NodeJS.ProcessEnv = {},
): ChildProcess {
  const argv = [...serverNodeFlags, ...loader, "--import", exitWithParent, mainPath, cfg];
  const stdio = ["ignore", "ignore", captureStderr ? "pipe" : "ignore", "ipc"] as const;
  const child = spawn(process.execPath, argv, {
    stdio: [...stdio],
    env: { ...process.env, ...env },
  });
  child.channel?.unref(); // the channel is only there to close when this process dies
  running.add(child);
  child.once("exit", () => running.delete(child));
  return child;
}

/** Resolves when the child has exited, or after `ms` (a process stuck in the kernel may never). */
function exited(child: ChildProcess, ms: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export interface ProcessOptions {
  /** More zoo.cfg lines for every server. */
  extra?: string[];
  /** Environment variables for every server, on top of this process's. */
  env?: Record<string, string>;
  /** Keep the servers' stderr (else it is discarded). */
  captureStderr?: boolean;
}

export async function startProcessEnsemble(
  size: number,
  options: ProcessOptions = {},
): Promise<ProcessEnsemble> {
  const root = mkdtempSync(join(tmpdir(), "zk-procs-"));
  const ports = await Promise.all(Array.from({ length: size * 3 }, () => freePort()));
  const servers = Array.from(
    { length: size },
    (_, i) => `server.${i + 1}=127.0.0.1:${ports[3 * i]}:${ports[3 * i + 1]}`,
  );
  const clientPorts = Array.from({ length: size }, (_, i) => ports[3 * i + 2]!);
  const configs = clientPorts.map((port, i) => {
    const dir = join(root, String(i + 1));
    mkdirSync(dir, { recursive: true });
    const cfg = join(dir, "zoo.cfg");
    writeFileSync(
      cfg,
      [
        `tickTime=200`,
        `initLimit=10`,
        `syncLimit=5`,
        `dataDir=${dir}`,
        `clientPort=${port}`,
        `clientPortAddress=127.0.0.1`,
        `4lw.commands.whitelist=*`,
        `myid=${i + 1}`,
        ...servers,
        ...(options.extra ?? []),
      ].join("\n"),
    );
    return cfg;
  });
  const processes: (ChildProcess | undefined)[] = [];
  const stderr = clientPorts.map(() => "");
  const started: ChildProcess[] = [];
  let stopped = false;
  const ensemble: ProcessEnsemble = {
    clientPorts,
    connectString: clientPorts.map((p) => `127.0.0.1:${p}`).join(","),
    processes,
    stderr,
    start(index) {
      if (stopped) return; // a nemesis still running after a failure must not start orphans
      const child = spawnServer(configs[index]!, options.captureStderr === true, options.env);
      child.stderr?.on("data", (chunk: Buffer) => (stderr[index] += chunk.toString()));
      processes[index] = child;
      started.push(child);
    },
    kill9(index) {
      processes[index]?.kill("SIGKILL");
      processes[index] = undefined;
    },
    async stop() {
      stopped = true;
      for (const child of started) child.kill("SIGKILL"); // SIGKILL ends a SIGSTOPped one too
      await Promise.all(started.map((child) => exited(child, exitWaitMs)));
      rmSync(root, { recursive: true, force: true });
    },
  };
  for (let i = 0; i < size; i++) ensemble.start(i);
  return ensemble;
}

/** Sends a four-letter word and returns the answer ("" if the server does not answer). */
export function fourLetterWord(port: number, word: string, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    let answer = "";
    const done = () => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(timeoutMs, done);
    socket.on("connect", () => socket.write(word));
    socket.on("data", (d) => (answer += d.toString()));
    socket.on("end", done);
    socket.on("error", done);
  });
}

export async function modeOf(port: number): Promise<string | undefined> {
  return /Mode: (\w+)/.exec(await fourLetterWord(port, "srvr"))?.[1];
}
