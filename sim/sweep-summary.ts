// Sweeps beyond one machine: `--seeds a..b --shard i/n` runs every n-th seed of the range from the
// i-th (0-based), so n jobs of any batch system (a CI matrix, Kubernetes indexed Jobs, a shell
// loop) cover the range between them; `--summary file.json` writes what a shard ran and found, and
// `--merge a.json b.json ...` folds the shards into one verdict (non-zero exit on any failure, a
// missing shard or a shard that did not finish).

import type { SweepResult } from "./sweep.ts";

export const summaryFormat = "zk-sim-sweep/1";

/** One seed's client operations, as its history recorded them (sim/cli.ts prints the same). */
export interface SeedOps {
  invoked: number;
  ok: number;
  failed: number;
  indeterminate: number;
}

/**
 * A sweep's operations: totals, and per seed how many were invoked as a histogram (invoked count
 * -> seeds), which merges exactly across shards and stays small however many seeds ran (a seed
 * invokes at most a few thousand ops, so there are at most that many distinct counts).
 */
export interface SweepOps extends SeedOps {
  /** Seeds whose ops are counted (a seed whose run threw or whose worker died has none). */
  seeds: number;
  invokedPerSeed: Record<string, number>;
}

export const noOps = (): SweepOps => ({
  invoked: 0,
  ok: 0,
  failed: 0,
  indeterminate: 0,
  seeds: 0,
  invokedPerSeed: {},
});

/** Adds one seed's ops to a sweep's (mutates `into`). */
export function addSeedOps(into: SweepOps, ops: SeedOps): void {
  into.invoked += ops.invoked;
  into.ok += ops.ok;
  into.failed += ops.failed;
  into.indeterminate += ops.indeterminate;
  into.seeds++;
  into.invokedPerSeed[ops.invoked] = (into.invokedPerSeed[ops.invoked] ?? 0) + 1;
}

export function mergeOps(parts: readonly SweepOps[]): SweepOps {
  const merged = noOps();
  for (const part of parts) {
    merged.invoked += part.invoked;
    merged.ok += part.ok;
    merged.failed += part.failed;
    merged.indeterminate += part.indeterminate;
    merged.seeds += part.seeds;
    for (const [count, seeds] of Object.entries(part.invokedPerSeed))
      merged.invokedPerSeed[count] = (merged.invokedPerSeed[count] ?? 0) + seeds;
  }
  return merged;
}

/** Ops invoked per seed: the median (the lower middle for an even count) and the minimum. */
export function opsPerSeed(ops: SweepOps): { median: number; min: number } | undefined {
  if (ops.seeds === 0) return undefined;
  const counts = Object.entries(ops.invokedPerSeed)
    .map(([count, seeds]) => [Number(count), seeds] as const)
    .sort((a, b) => a[0] - b[0]);
  const middle = Math.floor((ops.seeds - 1) / 2); // 0-based rank of the median seed
  let below = 0;
  let median = counts[0]![0];
  for (const [count, seeds] of counts) {
    median = count;
    below += seeds;
    if (below > middle) break;
  }
  return { median, min: counts[0]![0] };
}

/** "12345 ops invoked (...); per seed median 120, min 88", for sweep and merge output. */
export function opsText(ops: SweepOps): string {
  const per = opsPerSeed(ops);
  const perSeed = per === undefined ? "" : `; per seed median ${per.median}, min ${per.min}`;
  return (
    `ops: ${ops.invoked} invoked, ${ops.ok} ok, ${ops.failed} failed, ` +
    `${ops.indeterminate} indeterminate${perSeed}`
  );
}

/** The seed whose convergence came closest to its liveness bound. */
export interface SlowestLiveness {
  seed: number;
  convergedAfterMs: number;
  boundMs: number;
}

/** The seed of the two that used more of its bound. */
export function slowerLiveness(
  a: SlowestLiveness | undefined,
  b: SlowestLiveness | undefined,
): SlowestLiveness | undefined {
  if (a === undefined || b === undefined) return a ?? b;
  return b.convergedAfterMs / b.boundMs > a.convergedAfterMs / a.boundMs ? b : a;
}

export function livenessText(slowest: SlowestLiveness | undefined): string {
  if (slowest === undefined) return "liveness: no seed converged";
  const used = Math.round((100 * slowest.convergedAfterMs) / slowest.boundMs);
  return (
    `liveness: every converged seed took at most ${used}% of its bound ` +
    `(seed ${slowest.seed}: ${slowest.convergedAfterMs} of ${slowest.boundMs} ms)`
  );
}

/** Simulated seconds and events per second of `wallMs`. */
export function speedOf(
  virtualMs: number,
  events: number,
  wallMs: number,
): { simulatedSecondsPerWallSecond: number; eventsPerWallSecond: number } {
  const wallS = Math.max(wallMs, 1) / 1000;
  return {
    simulatedSecondsPerWallSecond: Math.round(virtualMs / 1000 / wallS),
    eventsPerWallSecond: Math.round(events / wallS),
  };
}

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
  /** Derived from the three above, for people reading the file. */
  simulatedSecondsPerWallSecond: number;
  eventsPerWallSecond: number;
  ops: SweepOps;
  /** The seed that came closest to its liveness bound (absent: none converged). */
  slowestLiveness?: SlowestLiveness;
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
    ...speedOf(result.virtualMs, result.events, result.wallMs),
    ops: result.ops,
    ...(result.slowestLiveness === undefined ? {} : { slowestLiveness: result.slowestLiveness }),
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
  /** The shards' wall times added up (what one machine would have taken to run them in turn). */
  wallMsTotal: number;
  virtualMs: number;
  events: number;
  ops: SweepOps;
  slowestLiveness: SlowestLiveness | undefined;
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
    wallMsTotal: sum((s) => s.wallMs),
    virtualMs: sum((s) => s.virtualMs),
    events: sum((s) => s.events),
    // Summaries written before op counts were kept count no ops.
    ops: mergeOps(summaries.map((s) => s.ops ?? noOps())),
    slowestLiveness: summaries.reduce<SlowestLiveness | undefined>(
      (slowest, s) => slowerLiveness(slowest, s.slowestLiveness),
      undefined,
    ),
  };
}

/** The merged verdict as the lines the merge command prints. */
export function mergedText(merged: MergedSweep): string[] {
  const speed = merged.virtualMs / Math.max(1, merged.cpuMs);
  const wall = speedOf(merged.virtualMs, merged.events, merged.wallMsTotal);
  const lines = [
    `${merged.seeds} seeds of ${merged.from}..${merged.to} in ${merged.shards} shards; ` +
      `the slowest took ${(merged.wallMsMax / 1000).toFixed(1)} s; ` +
      `${speed.toFixed(0)} simulated s per worker-second, ` +
      `${Math.round(merged.events / Math.max(1, merged.cpuMs / 1000))} events per worker-second`,
    `speed per wall second of a shard: ${wall.simulatedSecondsPerWallSecond} simulated s, ` +
      `${wall.eventsPerWallSecond} events`,
    opsText(merged.ops),
    livenessText(merged.slowestLiveness),
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
