// npm run ensemble: three servers on loopback (client ports 2181-2183, peer ports 2888-2890), each
// its own process with its own data directory under ./data/ensemble/, to try replication out.
// Ctrl-C (or SIGTERM) stops all three cleanly.

import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { serverNodeFlags } from "./server-flags.ts";

const size = Number(process.argv[2] ?? 3);
const base = join(process.cwd(), "data", "ensemble");
const servers = Array.from(
  { length: size },
  (_, i) => `server.${i + 1}=127.0.0.1:${2888 + i}:${3888 + i}`,
).join("\n");
const children = Array.from({ length: size }, (_, i) => {
  const id = i + 1;
  const dir = join(base, String(id));
  mkdirSync(dir, { recursive: true });
  const cfg = join(dir, "zoo.cfg");
  writeFileSync(
    cfg,
    [
      "tickTime=2000",
      "initLimit=10",
      "syncLimit=5",
      `dataDir=${dir}`,
      `clientPort=${2180 + id}`,
      "clientPortAddress=127.0.0.1",
      "4lw.commands.whitelist=*",
      `metricsProvider.httpPort=${7000 + id}`,
      `myid=${id}`,
      servers,
      "",
    ].join("\n"),
  );
  const child = spawn(
    process.execPath,
    [...serverNodeFlags, "--import", "tsx", new URL("./main.ts", import.meta.url).pathname, cfg],
    { stdio: ["ignore", "inherit", "inherit"] },
  );
  console.error(`server ${id}: client port ${2180 + id}, data ${dir} (pid ${child.pid})`);
  return child;
});
console.error(`connect with: zkCli.sh -server 127.0.0.1:2181,127.0.0.1:2182,127.0.0.1:2183`);
const stop = () => {
  for (const child of children) child.kill("SIGTERM");
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
await Promise.all(children.map((child) => new Promise((resolve) => child.once("exit", resolve))));
