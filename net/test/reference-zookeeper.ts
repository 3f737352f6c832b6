// Test helper: Apache ZooKeeper 3.8 (Debian's zookeeper package) started on a free loopback port
// with a fresh data directory, TTL nodes enabled and a known superuser digest; stopped afterwards.

import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { digestId } from "../../core/acl.ts";
import { ZkClient } from "../zk-client.ts";
import { freePort } from "./ensemble.ts";

export const zkServerScript = "/usr/share/zookeeper/bin/zkServer.sh";
export const referenceAvailable = existsSync(zkServerScript);
export const superCredentials = "super:secret";

export interface ReferenceZooKeeper {
  port: number;
  stop(): Promise<void>;
}

/** `extraConfig`: zoo.cfg lines added to the defaults (e.g. "reconfigEnabled=true"). */
export async function startReferenceZooKeeper(extraConfig = ""): Promise<ReferenceZooKeeper> {
  const dir = mkdtempSync(join(tmpdir(), "apache-zk-"));
  const port = await freePort();
  const cfg = join(dir, "zoo.cfg");
  const lines = [
    "tickTime=2000",
    `dataDir=${dir}/data`,
    `clientPort=${port}`,
    "clientPortAddress=127.0.0.1",
    "admin.enableServer=false",
    "4lw.commands.whitelist=*",
    extraConfig,
  ];
  writeFileSync(cfg, lines.join("\n") + "\n");
  const child: ChildProcess = spawn(zkServerScript, ["start-foreground", cfg], {
    env: {
      ...process.env,
      ZOO_LOG_DIR: dir,
      SERVER_JVMFLAGS:
        "-Dzookeeper.extendedTypesEnabled=true " +
        `-Dzookeeper.DigestAuthenticationProvider.superDigest=${digestId(superCredentials)}`,
    },
    stdio: "ignore",
    detached: true,
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const probe = await ZkClient.connect("127.0.0.1", port, { timeoutMs: 4000 });
      await probe.close();
      break;
    } catch {
      if (Date.now() > deadline || child.exitCode !== null)
        throw new Error("Apache ZooKeeper did not start");
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return {
    port,
    async stop() {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // gone already
      }
      await new Promise((r) => setTimeout(r, 200));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
