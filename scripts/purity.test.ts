import { describe, expect, it } from "vitest";
import { findDoorViolations, findPurityViolations } from "./purity.ts";

const rulesOf = (file: string, source: string) =>
  findPurityViolations(file, source).map((v) => v.rule.split(" ")[0]);

describe("purity checker", () => {
  it("accepts pure code, including forbidden words inside strings and comments", () => {
    const source = [
      'import { sha1 } from "@noble/hashes/legacy.js";',
      'import { assert } from "./assert.ts";',
      "// Date.now() is not allowed, process.exit neither",
      'const describe = "async Date process.exit Buffer";',
      "export const x = (now: number) => now + 1;",
    ].join("\n");
    expect(findPurityViolations("tree.ts", source)).toEqual([]);
  });

  it.each([
    ["const t = Date.now();", "Date"],
    ["const r = Math.random();", "Math.random"],
    ["setTimeout(() => 1, 5);", "timers"],
    ["process.exit(1);", "process"],
    ["const b = Buffer.from('x');", "Buffer"],
    ["export async function f() {}", "async/await"],
    ["const p = performance.now();", "performance"],
    ["const u = crypto.randomUUID();", "global"],
    ['import { readFileSync } from "node:fs";', "node"],
    ['import { x } from "../sim/world.ts";', "import"],
    ['import seedrandom from "seedrandom";', "package"],
  ])("rejects %s", (source, rule) => {
    expect(rulesOf("tree.ts", source)).toContain(rule);
  });

  it("allows relative imports that stay inside core/ from a subfolder", () => {
    expect(findPurityViolations("zab/replica.ts", 'import { a } from "../assert.ts";')).toEqual([]);
    expect(rulesOf("zab/replica.ts", 'import { a } from "../../net/x.ts";')).toContain("import");
  });

  it("lets files outside core/ into core/replica only through its index", () => {
    const door = (file: string, source: string) =>
      findDoorViolations(file, source).map((v) => v.line);
    expect(door("sim/world.ts", 'import { step } from "../core/replica/index.ts";')).toEqual([]);
    expect(
      door("sim/world.ts", 'import type { ReplicaState } from "../core/replica/state.ts";'),
    ).toEqual([1]);
    expect(door("sim/test/x.ts", 'import { step } from "../../core/replica/step.ts";')).toEqual([
      1,
    ]);
    expect(door("net/a.ts", 'import { Cluster } from "../core/replica/test/cluster.ts";')).toEqual([
      1,
    ]);
    expect(
      door("net/a.test.ts", 'import { Cluster } from "../core/replica/test/cluster.ts";'),
    ).toEqual([]);
    expect(door("net/a.ts", 'import { Database } from "../core/database.ts";')).toEqual([]);
    const second =
      'import { join } from "node:path";\nimport { s } from "../core/replica/state.ts";';
    expect(door("net/a.ts", second)).toEqual([2]);
    expect(door("core/replica/x.ts", 'import { s } from "./state.ts";')).toEqual([]);
  });
});
