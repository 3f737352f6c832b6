// The checker is trusted only after it catches known-bad histories (STYLE practice 13): every
// hand-made history in testdata/ has a known verdict, and each *-bad one must fail exactly the
// checks listed here (and each *-ok one none).

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkPaired } from "./check.ts";
import { parseHistory } from "./history.ts";
import { pairOperations } from "./operations.ts";

const testdata = join(import.meta.dirname, "testdata");

/** History -> the checks it must fail ("linearizability" or a guarantee name). */
const expected: Record<string, string[]> = {
  "register-ok": [],
  // A sync'ed read flips back to an older value.
  "register-bad": ["linearizability", "sequential-reads"],
  "stale-read-ok": [], // a plain read may lag: ZooKeeper reads are only sequentially consistent
  "stale-read-bad": ["linearizability"], // the same read after a sync must not
  "lost-write-ok": [], // the write timed out, so it may never have happened
  "lost-write-bad": ["linearizability", "sequential-reads"], // an acknowledged write vanished
  "two-leaders-ok": [],
  "two-leaders-bad": ["linearizability"], // two CAS from version 0 both succeeded
  "cas-ok": [],
  "cas-bad": ["linearizability"], // a CAS with a stale version succeeded
  "indeterminate-took-effect-ok": [],
  "indeterminate-no-effect-ok": [],
  "indeterminate-bad": ["linearizability"], // a timed-out write was seen, then unseen
  "session-zxid-ok": [],
  "session-zxid-bad": ["monotonic-reads"], // the session went back in time after reconnecting
  "watch-ok": [],
  "watch-bad": ["watch-order"], // the event came after a read that showed the change
  "ephemeral-ok": [],
  "ephemeral-bad": ["sequential-reads", "ephemerals"], // an ephemeral outlived its session's close
  "sequential-ok": [],
  "sequential-bad": ["linearizability", "sequential-names"], // two creates got the same name
};

function failedChecks(name: string): string[] {
  const history = pairOperations(
    parseHistory(readFileSync(join(testdata, `${name}.jsonl`), "utf8")),
  );
  const { verdict } = checkPaired(history);
  const failed = verdict.linearizability.verdict === "illegal" ? ["linearizability"] : [];
  expect(verdict.linearizability.verdict).not.toBe("unknown");
  for (const g of verdict.guarantees) if (g.violationCount > 0) failed.push(g.guarantee);
  expect(verdict.valid).toBe(failed.length === 0);
  return failed;
}

describe("corpus: hand-made histories with known verdicts", () => {
  it("has a verdict for every file, and an -ok for every -bad", () => {
    const files = readdirSync(testdata)
      .filter((f) => f.endsWith(".jsonl"))
      .map((f) => f.slice(0, -6))
      .sort();
    expect(files).toEqual(Object.keys(expected).sort());
    for (const name of files.filter((f) => f.endsWith("-bad"))) {
      expect(files.some((f) => f.startsWith(name.slice(0, -4)) && f.endsWith("-ok"))).toBe(true);
    }
  });

  for (const [name, checks] of Object.entries(expected)) {
    it(`${name}: ${checks.length === 0 ? "valid" : `fails ${checks.join(" and ")}`}`, () => {
      expect(failedChecks(name)).toEqual(checks);
    });
  }
});
