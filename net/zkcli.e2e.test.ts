// Apache ZooKeeper's own CLI (zkCli.sh from Debian's zookeeper package, the Java client) runs a
// scripted session against our server.

import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestEnsemble } from "./test/ensemble.ts";
import { startEnsemble } from "./test/ensemble.ts";

const run = promisify(execFile);
const zkCli = "/usr/share/zookeeper/bin/zkCli.sh";
const available = existsSync(zkCli);
let ensemble: TestEnsemble;

describe.skipIf(!available && process.env.CI_REQUIRE_PEERS !== "1")(
  "zkCli against our server",
  () => {
    beforeAll(async () => {
      ensemble = await startEnsemble(3);
    }, 60_000);
    afterAll(async () => ensemble?.stop());

    const cli = async (...command: string[]) => {
      // zkCli prints some results on stdout and others (errors, "Created") on stderr.
      // A failed command exits non-zero; its output is what the test looks at.
      try {
        const { stdout, stderr } = await run(
          zkCli,
          ["-server", ensemble.connectString, ...command],
          { timeout: 60_000 },
        );
        return stdout + stderr;
      } catch (error) {
        const { stdout = "", stderr = "" } = error as { stdout?: string; stderr?: string };
        return stdout + stderr;
      }
    };

    it("create, get, set, stat, ls, delete", async () => {
      expect(await cli("create", "/cli", "hello")).toContain("Created /cli");
      expect(await cli("create", "-s", "/cli/seq-", "x")).toContain("Created /cli/seq-0000000000");
      expect(await cli("get", "/cli")).toContain("hello");
      await cli("set", "/cli", "world");
      const stat = await cli("stat", "/cli");
      expect(stat).toMatch(/dataVersion = 1/);
      expect(stat).toMatch(/numChildren = 1/);
      expect(await cli("ls", "/")).toMatch(/\[cli, zookeeper\]/);
      expect(await cli("create", "/cli")).toContain("Node already exists");
      await cli("deleteall", "/cli");
      expect(await cli("ls", "/")).toMatch(/\[zookeeper\]/);
    }, 120_000);
  },
);
