// The Jepsen-style run against real server processes, short: kill -9 and SIGSTOP of servers under
// load, the whole history checked. `npm run jepsen -- --seconds 120` runs it longer.

import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runningServers } from "../../net/processes.ts";
import { realClusterDefaults, runRealCluster, writeRealClusterReport } from "./real-cluster.ts";
import { textVerdict } from "../report/text.ts";

describe("jepsen-like: real processes under kill -9 and pauses", () => {
  it("a 3-server ensemble keeps its history linearizable and ZooKeeper's guarantees", async () => {
    // The run bounds itself inside the test's timeout, so that it kills its servers before
    // vitest gives up on the test (the servers also exit if this process goes away).
    const bounds = { runMaxSeconds: 150, checkMaxSeconds: 60 };
    const options = { ...realClusterDefaults, seed: 7, faultSeconds: 12, ...bounds };
    const result = await runRealCluster(options);
    const faults = (result.faults.kill ?? 0) + (result.faults.pause ?? 0);
    let where = "";
    if (result.outcome.verdict.valid !== true) {
      const dir = mkdtempSync(join(tmpdir(), "jepsen-report-"));
      writeRealClusterReport(dir, result);
      where = `\nreport: ${join(dir, "index.html")}`;
    }
    expect(
      result.outcome.verdict.valid,
      textVerdict(result.outcome.verdict, result.outcome.ops) + where,
    ).toBe(true);
    expect(faults).toBeGreaterThanOrEqual(2); // the nemesis really ran
    expect(result.counts.ok).toBeGreaterThan(500); // and so did the clients
    expect(result.outcome.verdict.linearizability.partitions.length).toBeGreaterThan(3);
    // Watches and reads of other clients' ephemerals happened, so those guarantees were really
    // checked.
    const checked = Object.fromEntries(
      result.outcome.verdict.guarantees.map((g) => [g.guarantee, g.checked]),
    );
    expect(checked["watch-order"]).toBeGreaterThan(0);
    expect(checked.ephemerals).toBeGreaterThan(0);
  }, 180_000);

  it("gives up past its bound, and its servers are gone when it does", async () => {
    const options = { ...realClusterDefaults, seed: 7, faultSeconds: 30, runMaxSeconds: 4 };
    const run = runRealCluster(options);
    await expect(run).rejects.toThrow("the real-cluster run did not finish within 4 s");
    expect(runningServers()).toEqual([]);
  }, 60_000);
});
