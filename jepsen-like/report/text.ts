// The verdict as text: what the CLI prints and writes to verdict.txt, and what a simulator run
// shows on failure. Per check: linearizability with partition counts, then each guarantee.

import type { CheckVerdict } from "../check.ts";
import { describeOperation } from "../describe.ts";
import type { PartitionResult } from "../linearizability.ts";
import type { Operation } from "../operations.ts";

/** How many ops of a failing sub-history and how many violations per guarantee the text lists. */
export const textOpsMax = 20;
export const textViolationsMax = 10;

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`;

/** A partition's paths, the first few of a long list (a queue's partition has thousands). */
const pathsText = (paths: readonly string[]): string =>
  paths.length <= 8
    ? paths.join(" ")
    : `${paths.slice(0, 6).join(" ")} ... ${paths.length - 6} more paths`;

export function verdictWord(valid: CheckVerdict["valid"]): string {
  return valid === true ? "VALID" : valid === false ? "INVALID" : "UNKNOWN";
}

function failingPartition(p: PartitionResult, ops: readonly Operation[]): string[] {
  const failure = p.failure!;
  const lines = [
    `  ILLEGAL partition ${p.id} (${pathsText(p.paths)}; ${p.model} model, ` +
      `${plural(p.opIds.length, "op")}):`,
    `    ${failure.explanation}`,
    `    smallest failing sub-history found (${plural(failure.subHistory.length, "op")}; ` +
      "linearized prefix marked *):",
  ];
  const prefix = new Set(p.linearization);
  for (const id of failure.subHistory.slice(0, textOpsMax)) {
    const mark = id === failure.stuck ? "!" : prefix.has(id) ? "*" : " ";
    lines.push(`     ${mark} ${describeOperation(ops[id]!)}`);
  }
  if (failure.subHistory.length > textOpsMax)
    lines.push(`       ... ${failure.subHistory.length - textOpsMax} more`);
  return lines;
}

function exhaustedText(p: PartitionResult): string {
  const memory = `${Math.round(p.memoryBytes / 2 ** 20)} MiB`;
  if (p.exhausted === "memory") {
    return `search memory budget exhausted (about ${memory} held) after ${p.steps} steps`;
  }
  if (p.exhausted === "time") return `time limit reached after ${p.steps} steps`;
  return `search step budget exhausted after ${p.steps} steps (about ${memory} held)`;
}

function linearizabilityLines(verdict: CheckVerdict, ops: readonly Operation[]): string[] {
  const lin = verdict.linearizability;
  const counts = { ok: 0, illegal: 0, unknown: 0 };
  for (const p of lin.partitions) counts[p.verdict]++;
  const scope =
    lin.mode === "zookeeper" ? "writes, check and sync'ed reads" : "every operation (strict mode)";
  const lines = [
    `linearizability (${scope}): ${lin.verdict.toUpperCase()}: ` +
      `${plural(lin.checkedOps, "op")} in ${plural(lin.partitions.length, "partition")} ` +
      `(${counts.ok} ok, ${counts.illegal} illegal, ${counts.unknown} unknown), ` +
      `${lin.steps} search steps`,
  ];
  const left = lin.skipped;
  if (left.plainReads + left.noEffect + left.other > 0) {
    lines.push(
      `  left out: ${left.plainReads} plain reads (checked by the session guarantees), ` +
        `${left.noEffect} fails without effect, ${left.other} unanswered reads and syncs`,
    );
  }
  if (lin.synthetic.length > 0) {
    const expiries =
      lin.synthetic.length === 1
        ? "1 possible session expiry"
        : `${lin.synthetic.length} possible session expiries`;
    lines.push(`  added: ${expiries} (sessions that own ephemerals and never closed)`);
  }
  for (const p of lin.partitions) {
    if (p.verdict === "illegal") lines.push(...failingPartition(p, ops));
    if (p.verdict !== "unknown") continue;
    const size = plural(p.opIds.length, "op");
    lines.push(`  UNKNOWN partition ${p.id} (${pathsText(p.paths)}; ${size}): ${exhaustedText(p)}`);
  }
  return lines;
}

function guaranteeLines(verdict: CheckVerdict): string[] {
  const lines = ["ZooKeeper guarantees (zxids as witnesses):"];
  for (const g of verdict.guarantees) {
    const status = g.violationCount === 0 ? "ok  " : "FAIL";
    const found = g.violationCount === 0 ? "" : `, ${plural(g.violationCount, "violation")}`;
    lines.push(`  ${status} ${g.guarantee}: ${g.title} (${g.checked} checked${found})`);
    for (const v of g.violations.slice(0, textViolationsMax)) lines.push(`         ${v.message}`);
    if (g.violationCount > textViolationsMax)
      lines.push(`         ... ${g.violationCount - textViolationsMax} more`);
  }
  return lines;
}

/**
 * The whole verdict as text, ending with a "verdict:" line; deterministic (no timings), so a
 * simulator can put it in its trace. `ops` includes synthetic ops.
 */
export function textVerdict(verdict: CheckVerdict, ops: readonly Operation[]): string {
  const c = verdict.counts;
  const lines = [
    `history: ${plural(c.operations, "operation")} ` +
      `(${c.ok} ok, ${c.fail} failed, ${c.info} indeterminate), ${plural(c.events, "event")}`,
    ...linearizabilityLines(verdict, ops),
    ...guaranteeLines(verdict),
    `verdict: ${verdictWord(verdict.valid)}`,
  ];
  return lines.join("\n") + "\n";
}
