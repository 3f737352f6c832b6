// Sweeps beyond one machine: `--seeds a..b --shard i/n` runs every n-th seed of the range from the
// i-th (0-based), so n jobs of any batch system (a CI matrix, Kubernetes indexed Jobs, a shell
// loop) cover the range between them; `--summary file.json` writes what a shard ran and found, and
// `--merge a.json b.json ...` folds the shards into one verdict (non-zero exit on any failure, a
// missing shard or a shard that did not finish).

import type { SweepResult } from "./sweep.ts";

export const summaryFormat = "zk-sim-sweep/1";

export interface Shard {
  /** 0-based. */
  index: number;
  count: number;
}

export interface SweepFailure {
  seed: number;
  failure: string;
  reproduce: string;
}

export interface SweepSummary {
  format: typeof summaryFormat;
  /** The whole range, inclusive; a shard runs its part of it. */
  from: number;
  to: number;
  shard: Shard;
  /** Flags besides the seeds (--nodes, --safety-ms, ...), as typed: every shard must share them. */
  flags: string;
  /** Seeds of this shard that ran to a verdict, and how many it should have run. */
  ran: number;
  expected: number;
  failures: SweepFailure[];
  workers: number;
  wallMs: number;
  virtualMs: number;
  events: number;
}

export function parseShard(text: string): Shard {
  const match = /^(\d+)\/(\d+)$/.exec(text);
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (match === null || count < 1 || index >= count)
    throw new Error(`--shard wants i/n with 0 <= i < n, not ${text}`);
  return { index, count };
}

/** This shard's seeds: every count-th of the range, from its index on (so shards stay balanced). */
export function shardSeeds(
  from: number,
  to: number,
  shard: Shard = { index: 0, count: 1 },
): number[] {
  const seeds: number[] = [];
  for (let seed = from + shard.index; seed <= to; seed += shard.count) seeds.push(seed);
  return seeds;
}

/** A shard's summary from its sweep's result; `reproduce` gives a failing seed's command. */
export function summaryOf(
  range: { from: number; to: number; shard: Shard | undefined; flags: string },
  result: SweepResult,
  reproduce: (seed: number) => string,
): SweepSummary {
  return {
    format: summaryFormat,
    from: range.from,
    to: range.to,
    shard: range.shard ?? { index: 0, count: 1 },
    flags: range.flags,
    ran: result.finished,
    expected: result.seeds,
    failures: result.failures.map((f) => ({ ...f, reproduce: reproduce(f.seed) })),
    workers: result.workers,
    wallMs: result.wallMs,
    virtualMs: result.virtualMs,
    events: result.events,
  };
}

export interface MergedSweep {
  from: number;
  to: number;
  seeds: number;
  shards: number;
  failures: SweepFailure[];
  /** What keeps the merge from vouching for the range: missing, repeated or unfinished shards. */
  problems: string[];
  wallMsMax: number;
  cpuMs: number;
  virtualMs: number;
  events: number;
}

export function mergeSummaries(summaries: readonly SweepSummary[]): MergedSweep {
  if (summaries.length === 0) throw new Error("nothing to merge");
  for (const s of summaries)
    if (s.format !== summaryFormat)
      throw new Error(`not a sweep summary (format ${String(s.format)})`);
  const first = summaries[0]!;
  const problems: string[] = [];
  const sameSweep = (s: SweepSummary) =>
    s.from === first.from &&
    s.to === first.to &&
    s.shard.count === first.shard.count &&
    s.flags === first.flags;
  for (const s of summaries) {
    if (sameSweep(s)) continue;
    problems.push(
      `shard ${s.shard.index}/${s.shard.count} of ${s.from}..${s.to} ${s.flags} ` +
        "is not of the same sweep as the first",
    );
  }
  // Only shards of the first's sweep cover its range.
  const seen = new Map<number, number>();
  for (const s of summaries.filter(sameSweep))
    seen.set(s.shard.index, (seen.get(s.shard.index) ?? 0) + 1);
  for (let i = 0; i < first.shard.count; i++) {
    const n = seen.get(i) ?? 0;
    if (n === 0) problems.push(`shard ${i}/${first.shard.count} is missing`);
    if (n > 1) problems.push(`shard ${i}/${first.shard.count} is given ${n} times`);
  }
  for (const s of summaries) {
    if (s.ran !== s.expected)
      problems.push(
        `shard ${s.shard.index}/${s.shard.count} ran ${s.ran} of its ${s.expected} seeds`,
      );
  }
  const failures = summaries.flatMap((s) => s.failures).sort((a, b) => a.seed - b.seed);
  const sum = (f: (s: SweepSummary) => number) => summaries.reduce((n, s) => n + f(s), 0);
  return {
    from: first.from,
    to: first.to,
    seeds: sum((s) => s.ran),
    shards: summaries.length,
    failures,
    problems,
    wallMsMax: Math.max(...summaries.map((s) => s.wallMs)),
    cpuMs: sum((s) => s.wallMs * s.workers),
    virtualMs: sum((s) => s.virtualMs),
    events: sum((s) => s.events),
  };
}

/** The merged verdict as the lines the merge command prints. */
export function mergedText(merged: MergedSweep): string[] {
  const speed = merged.virtualMs / Math.max(1, merged.cpuMs);
  const lines = [
    `${merged.seeds} seeds of ${merged.from}..${merged.to} in ${merged.shards} shards; ` +
      `the slowest took ${(merged.wallMsMax / 1000).toFixed(1)} s; ` +
      `${speed.toFixed(0)} simulated s per worker-second, ` +
      `${Math.round(merged.events / Math.max(1, merged.cpuMs / 1000))} events per worker-second`,
  ];
  for (const p of merged.problems) lines.push(`INCOMPLETE: ${p}`);
  for (const f of merged.failures)
    lines.push(`FAIL seed ${f.seed}: ${f.failure}`, `  reproduce with: ${f.reproduce}`);
  const verdict =
    merged.failures.length > 0 ? `${merged.failures.length} failing seeds` : "all seeds passed";
  lines.push(merged.problems.length > 0 ? `${verdict}, but the sweep is incomplete` : verdict);
  return lines;
}

export function mergedOk(merged: MergedSweep): boolean {
  return merged.failures.length === 0 && merged.problems.length === 0;
}
