import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "./cli.ts";

const testdata = join(import.meta.dirname, "testdata");
const scratch = mkdtempSync(join(tmpdir(), "check-cli-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function run(...argv: string[]): { status: number; out: string; err: string } {
  let out = "";
  let err = "";
  const status = main(
    argv,
    (t) => (out += t),
    (t) => (err += t),
  );
  return { status, out, err };
}

describe("cli: npm run check -- history.jsonl --out dir", () => {
  it("exits 0 on a valid history and writes the report", () => {
    const out = join(scratch, "ok");
    const result = run(join(testdata, "register-ok.jsonl"), "--out", out);
    expect(result.status).toBe(0);
    expect(result.out).toContain("verdict: VALID");
    expect(readFileSync(join(out, "verdict.txt"), "utf8")).toMatch(/verdict: VALID\n$/);
    expect(readFileSync(join(out, "index.html"), "utf8")).toMatch(/^<!doctype html>/);
  });

  it("exits 1 on a violation", () => {
    const result = run(join(testdata, "two-leaders-bad.jsonl"));
    expect(result.status).toBe(1);
    expect(result.out).toContain("ILLEGAL partition 0 (/c; per-path model, 3 ops)");
    expect(existsSync(join(scratch, "none"))).toBe(false);
  });

  it("exits 2 when the search runs out, on a usage error, and on a malformed history", () => {
    expect(run(join(testdata, "register-ok.jsonl"), "--steps-max", "1").status).toBe(2);
    expect(run().err).toContain("no history file given");
    expect(run("--mode", "eventual", "x.jsonl")).toMatchObject({
      status: 2,
      err: expect.stringContaining("--mode is zookeeper or strict"),
    });
    expect(run(join(scratch, "missing.jsonl")).status).toBe(2);
    const broken = join(scratch, "broken.jsonl");
    writeFileSync(
      broken,
      '{"type":"ok","process":1,"session":"0x1","time":0,"op":"sync","path":"/"}\n',
    );
    expect(run(broken)).toEqual({
      status: 2,
      out: "",
      err: `${broken}: line 1: ok for process 1, which has no outstanding invoke\n`,
    });
  });

  it("checks plain reads linearizably in strict mode", () => {
    expect(run(join(testdata, "stale-read-ok.jsonl")).status).toBe(0);
    expect(run(join(testdata, "stale-read-ok.jsonl"), "--mode", "strict").status).toBe(1);
  });
});
