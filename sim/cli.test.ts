// The simulator's CLI end to end: shrink a failing seed to a scenario file, replay it, and fold a
// sharded sweep's summaries.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseScenario } from "./scenario.ts";
import type { SweepSummary } from "./sweep-summary.ts";

const scratch = mkdtempSync(join(tmpdir(), "sim-cli-"));

function sim(...args: string[]) {
  const cli = join(import.meta.dirname, "cli.ts");
  const bound = { timeout: 120_000, killSignal: "SIGKILL" } as const;
  return spawnSync(process.execPath, ["--import", "tsx", cli, ...args], {
    encoding: "utf8",
    ...bound,
  });
}

describe("sim CLI", () => {
  it("explains a seed whose faults left no client a session to invoke from", () => {
    const harsh = sim("--seed", "42");
    expect(harsh.status, harsh.stderr).toBe(0);
    expect(harsh.stdout).toMatch(/ops: 0 invoked[^]*no client kept a session long enough/);
    const busy = sim("--seed", "1");
    expect(busy.status, busy.stderr).toBe(0);
    expect(busy.stdout).toMatch(/ops: [1-9]\d* invoked/);
    expect(busy.stdout).not.toMatch(/no client kept a session/);
  });

  it("--shrink writes a scenario and its report; --replay runs it to the same failure", () => {
    const file = join(scratch, "s51.json");
    const report = join(scratch, "r51");
    const shrunk = sim(
      "--seed",
      "51",
      "--safety-ms",
      "30000",
      "--plant",
      "ack-before-fsync",
      "--shrink",
      "--scenario",
      file,
      "--report",
      report,
    );
    expect(shrunk.status, shrunk.stderr).toBe(0);
    expect(shrunk.stdout).toMatch(/faults 20 -> 1, clients 5 -> 1, safety phase 30 s -> \d+ s/);
    expect(existsSync(join(report, "index.html"))).toBe(true);
    expect(readFileSync(join(report, "index.html"), "utf8")).toContain('class="fault crash"');
    expect(parseScenario(readFileSync(file, "utf8")).faults).toHaveLength(1);
    const replayed = sim("--replay", file);
    expect(replayed.stdout).toContain(
      "recorded outcome: invariant: state checker: acknowledged write lost; as recorded",
    );
    expect(replayed.status).toBe(1); // a violation, as a seed's run
    expect(sim("--seed", "1", "--safety-ms", "5000", "--shrink").stdout).toContain(
      "seed 1 passes: nothing to shrink",
    );
  }, 120_000);

  it("--shard and --summary split a sweep; --merge folds it, failing if a shard is missing", () => {
    const summaries = [0, 1].map((i) => join(scratch, `shard${i}.json`));
    for (const [i, summary] of summaries.entries()) {
      const run = sim(
        "--seeds",
        "1..4",
        "--shard",
        `${i}/2`,
        "--safety-ms",
        "5000",
        "--workers",
        "1",
        "--summary",
        summary,
      );
      expect(run.status, run.stdout + run.stderr).toBe(0);
      expect(run.stdout).toMatch(/^2 of 2 seeds on 1 workers/m);
    }
    const merged = sim("--merge", ...summaries);
    expect(merged.stdout).toMatch(/^4 seeds of 1..4 in 2 shards; .*\n/);
    expect(merged.stdout).toMatch(/\nall seeds passed\n$/);
    // The merge adds up what each shard's summary counted.
    const shards = summaries.map((f) => JSON.parse(readFileSync(f, "utf8")) as SweepSummary);
    const invoked = shards.reduce((n, s) => n + s.ops.invoked, 0);
    expect(shards.map((s) => s.ops.seeds)).toEqual([2, 2]);
    expect(merged.stdout).toContain(`\nops: ${invoked} invoked, `);
    expect(merged.stdout).toMatch(
      /\nliveness: every converged seed took at most \d+% of its bound/,
    );
    expect(merged.status).toBe(0);
    const partial = sim("--merge", summaries[1]!);
    expect(partial.stdout).toContain("INCOMPLETE: shard 0/2 is missing");
    expect(partial.status).toBe(1);
  }, 120_000);
});
