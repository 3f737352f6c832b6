// A port the server cannot bind ends it with one log line naming the port and its zoo.cfg key, and
// a non-zero exit status: no stack trace, no server running half-started.

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import type { Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "./test/ensemble.ts";

const mainPath = new URL("./main.ts", import.meta.url).pathname;
const root = mkdtempSync(join(tmpdir(), "zk-listen-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function occupy(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

/** Runs the server on `cfg` until it exits (or 20 s pass); its exit status and stderr. */
function run(name: string, cfg: string[]): Promise<Result> {
  const dir = join(root, name);
  const path = `${dir}.cfg`;
  const common = [
    `dataDir=${dir}`,
    "tickTime=200",
    "initLimit=10",
    "syncLimit=5",
    "clientPortAddress=127.0.0.1",
  ];
  writeFileSync(path, [...common, ...cfg].join("\n"));
  return new Promise((resolve) => {
    const args = ["--import", "tsx", mainPath, path];
    const child = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    child.on("exit", (status) => {
      clearTimeout(timer);
      resolve({ status, stderr });
    });
  });
}

type Result = { status: number | null; stderr: string };

function expectOneLine(result: Result, port: number, key: string) {
  expect(result.status).toBe(3);
  expect(result.stderr).not.toMatch(/^\s+at /m);
  const lines = result.stderr.split("\n").filter((l) => l !== "");
  const errors = lines
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.level === "error");
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatchObject({ key, port, code: "EADDRINUSE" });
  expect(errors[0]!.msg).toContain(`127.0.0.1:${port} is already in use (zoo.cfg ${key})`);
}

describe("net: a port already in use", () => {
  it("clientPort: one line naming port and key, exit status 3", async () => {
    const port = await freePort();
    const taken = await occupy(port);
    try {
      expectOneLine(await run("client", [`clientPort=${port}`]), port, "clientPort");
    } finally {
      taken.close();
    }
  }, 30_000);

  it("metricsProvider.httpPort", async () => {
    const [clientPort, metricsPort] = [await freePort(), await freePort()];
    const taken = await occupy(metricsPort);
    try {
      const cfg = [`clientPort=${clientPort}`, `metricsProvider.httpPort=${metricsPort}`];
      const result = await run("metrics", cfg);
      expectOneLine(result, metricsPort, "metricsProvider.httpPort");
    } finally {
      taken.close();
    }
  }, 30_000);

  it("the peer port of server.N", async () => {
    const ports = await Promise.all([1, 2, 3, 4, 5].map(() => freePort()));
    const taken = await occupy(ports[0]!);
    try {
      const result = await run("peer", [
        `clientPort=${ports[4]}`,
        "myid=1",
        `server.1=127.0.0.1:${ports[0]}:${ports[1]}`,
        `server.2=127.0.0.1:${ports[2]}:${ports[3]}`,
      ]);
      expectOneLine(result, ports[0]!, "server.1");
    } finally {
      taken.close();
    }
  }, 30_000);
});
