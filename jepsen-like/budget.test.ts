// The search's memory stays bounded on the history shape that exhausted a 4 GB heap (sim seed 58,
// 10 clients, 180 s: one partition of 4079 sequential creates under /q): past its budget a
// partition is unknown, and says which budget ran out.

import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { checkPaired } from "./check.ts";
import { serializeHistory } from "./history.ts";
import { checkLinearizability, searchLinearization } from "./linearizability.ts";
import { perPathModel } from "./model.ts";
import { textVerdict } from "./report/text.ts";
import { Builder } from "./test/builder.ts";
import { sequentialQueue } from "./test/sequential-queue.ts";

const scratch = mkdtempSync(join(tmpdir(), "check-budget-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("linearizability: bounded memory", () => {
  it("answers unknown, naming the memory budget, when a partition's search outgrows it", () => {
    const shape = { creates: 500, clients: 10, timeoutEvery: 50, seed: 7 };
    const history = sequentialQueue(shape).paired();
    const result = checkLinearizability(history, { memoryMaxMb: 4 });
    const part = result.partitions[0]!;
    expect(result.verdict).toBe("unknown");
    expect(part.exhausted).toBe("memory");
    expect(part.memoryBytes).toBeLessThanOrEqual(4 * 2 ** 20 + 4096); // one entry past the budget
    const outcome = checkPaired(history, { memoryMaxMb: 4 });
    expect(outcome.verdict.valid).toBe("unknown");
    const text = textVerdict(outcome.verdict, outcome.ops);
    expect(text).toMatch(/UNKNOWN partition 0 \(.*\): search memory budget exhausted \(about 4/);
    // With the default budget the same history is checked to the end, and it is linearizable.
    expect(checkLinearizability(history).verdict).toBe("ok");
  });

  it("checks a large history in a small heap: unknown (exit 2), not out of memory", () => {
    const file = join(scratch, "queue.jsonl");
    const queue = sequentialQueue({ creates: 1500, clients: 10, timeoutEvery: 50, seed: 7 });
    writeFileSync(file, serializeHistory(queue.records));
    const cli = join(import.meta.dirname, "cli.ts");
    const argv = ["--max-old-space-size=128", "--import", "tsx", cli, file];
    argv.push("--memory-max-mb", "24");
    const bound = { timeout: 60_000, killSignal: "SIGKILL" } as const;
    const run = spawnSync(process.execPath, argv, { encoding: "utf8", ...bound });
    expect(run.stderr).not.toMatch(/heap out of memory/);
    expect(run.stdout).toMatch(/search memory budget exhausted \(about 24 MiB held\)/);
    expect(run.status).toBe(2);
  }, 90_000);

  it("lists only the earliest of interchangeable timed-out writes, so passes skip none", () => {
    const b = new Builder();
    b.invoke(1, "create", "/k", { data: "0" }).ok(1, { path: "/k" });
    for (let p = 2; p < 32; p++) {
      b.invoke(p, "setData", "/k", { data: `lost${p}`, version: -1 }).info(p);
    }
    for (let i = 1; i <= 300; i++) {
      b.invoke(1, "setData", "/k", { data: `w${i}`, version: -1 }).ok(1, { version: i });
    }
    const budget = { stepsMax: 10_000_000, deadlineMs: undefined };
    const result = searchLinearization(b.paired().operations, perPathModel("/k"), budget);
    expect(result.verdict).toBe("ok");
    expect(result.steps).toBeLessThan(40_000); // 158k when each pass stepped over the 29 others
  });
});
