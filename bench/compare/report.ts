// The results file: bench/results/<date>.md (or <date>-quick.md) with medians over the rounds and
// the ratios ours / ZooKeeper, every run's figures, and the two SVG plots beside it.

import { mkdirSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import type { ServerKind } from "./ensembles.ts";
import { cdfPoints, mergeInto, newHistogram } from "./histogram.ts";
import type { Mode, Run } from "./results.ts";
import {
  cellName,
  cpuPerMember,
  gcPerMember,
  figures,
  fmtInt,
  fmtMs,
  fmtRatio,
  medianFigures,
} from "./results.ts";
import { latencyCdfSvg, throughputSvg } from "./svg.ts";
import type { Panel } from "./svg.ts";
import { workloadTitle } from "./workloads.ts";
import type { Workload } from "./workloads.ts";

export interface ReportContext {
  quick: boolean;
  startedAt: Date;
  settings: string[];
  machine: string[];
  generator: string;
  cells: Map<Mode, { workload: Workload; sessions: number; inflight: number }[]>;
}

const kinds: ServerKind[] = ["zookeeper", "ours"];

function groups(runs: Run[], mode: Mode) {
  const out = new Map<
    string,
    { workload: Workload; cell: string; byKind: Map<ServerKind, Run[]> }
  >();
  for (const run of runs.filter((r) => r.mode === mode)) {
    const key = `${run.workload} ${cellName(run.sessions, run.inflight)}`;
    if (!out.has(key))
      out.set(key, {
        workload: run.workload,
        cell: cellName(run.sessions, run.inflight),
        byKind: new Map(),
      });
    const g = out.get(key)!;
    if (!g.byKind.has(run.kind)) g.byKind.set(run.kind, []);
    g.byKind.get(run.kind)!.push(run);
  }
  return [...out.values()];
}

const row = (cells: (string | number)[]) => `| ${cells.join(" | ")} |`;

/** The medians table, also printed at the end of a run. */
export function summaryTable(runs: Run[], mode: Mode): string[] {
  const lines = [
    row([
      "workload",
      "cell",
      "ZooKeeper ops/s",
      "ours ops/s",
      "ratio",
      "p50 ms ZK / ours",
      "p99 ms ZK / ours",
      "p99.9 ms ZK / ours",
      "server CPU µs/op ZK / ours",
      "client CPU µs/op ZK / ours",
      "errors",
    ]),
    "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
  ];
  for (const g of groups(runs, mode)) {
    const zk = g.byKind.get("zookeeper");
    const ours = g.byKind.get("ours");
    const a = zk ? medianFigures(zk) : undefined;
    const b = ours ? medianFigures(ours) : undefined;
    const pair = (f: (x: NonNullable<typeof a>) => number, fmt: (v: number) => string) =>
      `${a ? fmt(f(a)) : "-"} / ${b ? fmt(f(b)) : "-"}`;
    lines.push(
      row([
        workloadTitle[g.workload],
        g.cell,
        a ? fmtInt(a.opsPerSec) : "-",
        b ? fmtInt(b.opsPerSec) : "-",
        a && b ? fmtRatio(b.opsPerSec / a.opsPerSec) : "-",
        pair((x) => x.p50, fmtMs),
        pair((x) => x.p99, fmtMs),
        pair((x) => x.p999, fmtMs),
        pair((x) => x.serverCpuTotal, fmtInt),
        pair((x) => x.clientCpuPerOp, fmtInt),
        (a?.errors ?? 0) + (b?.errors ?? 0),
      ]),
    );
  }
  return lines;
}

function runsTable(runs: Run[]): string[] {
  const lines = [
    row([
      "mode",
      "workload",
      "cell",
      "round",
      "server",
      "ops/s",
      "p50",
      "p90",
      "p99",
      "p99.9",
      "max (ms)",
      "errors",
      "client CPU µs/op",
      "server CPU µs/op per member",
      "server GC pauses per member",
    ]),
    "|---|---|---|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|---|---|",
  ];
  for (const run of runs) {
    const f = figures(run);
    lines.push(
      row([
        run.mode,
        workloadTitle[run.workload],
        cellName(run.sessions, run.inflight),
        run.round,
        run.kind,
        fmtInt(f.opsPerSec),
        fmtMs(f.p50),
        fmtMs(f.p90),
        fmtMs(f.p99),
        fmtMs(f.p999),
        fmtMs(f.max),
        f.errors,
        fmtInt(f.clientCpuPerOp),
        cpuPerMember(f.serverCpuPerOp, run.roles),
        gcPerMember(run.m.serverGc, run.roles),
      ]),
    );
  }
  return lines;
}

function plots(
  runs: Run[],
  ctx: ReportContext,
): { throughput: string; latency: string; latencyCell: string } {
  const cells = [
    ...new Set((ctx.cells.get("ensemble") ?? []).map((c) => cellName(c.sessions, c.inflight))),
  ];
  const ensembleGroups = groups(runs, "ensemble");
  const workloadsSeen = [...new Set(ensembleGroups.map((g) => g.workload))];
  const throughputPanels: Panel[] = workloadsSeen.map((w) => ({
    title: workloadTitle[w],
    series: kinds
      .map((kind) => ({
        kind,
        points: ensembleGroups
          .filter((g) => g.workload === w && g.byKind.has(kind))
          .map(
            (g) =>
              [cells.indexOf(g.cell), medianFigures(g.byKind.get(kind)!).opsPerSec] as [
                number,
                number,
              ],
          ),
      }))
      .filter((s) => s.points.length > 0),
  }));
  // Latency at 16x16 when it was measured (the cell), else at the largest cell measured.
  const latencyCell = cells.includes("16x16") ? "16x16" : (cells[cells.length - 1] ?? "");
  const latencyPanels: Panel[] = workloadsSeen.map((w) => ({
    title: `${workloadTitle[w]}, ${latencyCell}`,
    series: kinds.flatMap((kind) => {
      const g = ensembleGroups.find((x) => x.workload === w && x.cell === latencyCell);
      const rs = g?.byKind.get(kind);
      if (rs === undefined) return [];
      const merged = newHistogram();
      for (const r of rs) mergeInto(merged, r.m.histogram);
      return [
        { kind, points: cdfPoints(merged).map(([us, f]) => [us / 1000, f] as [number, number]) },
      ];
    }),
  }));
  const label = ctx.quick ? " (quick run: not for comparison)" : "";
  return {
    throughput: throughputSvg(
      `3-node ensembles on loopback, fsync on: throughput, median of rounds${label}`,
      cells,
      throughputPanels,
    ),
    latency: latencyCdfSvg(
      `3-node ensembles: latency CDF at ${latencyCell}, every round merged${label}`,
      latencyPanels,
    ),
    latencyCell,
  };
}

export function writeReport(dir: string, runs: Run[], ctx: ReportContext): string {
  mkdirSync(dir, { recursive: true });
  const stem = `${ctx.startedAt.toISOString().slice(0, 10)}${ctx.quick ? "-quick" : ""}`;
  const svg = plots(runs, ctx);
  const throughputFile = join(dir, `${stem}-throughput.svg`);
  const latencyFile = join(dir, `${stem}-latency.svg`);
  writeFileSync(throughputFile, svg.throughput);
  writeFileSync(latencyFile, svg.latency);
  const lines = [
    `# Apache ZooKeeper vs this server, ${ctx.startedAt.toISOString().slice(0, 16)}Z`,
    "",
    ...(ctx.quick
      ? [
          "**Quick run**: short cells on a shared machine, to show the harness works. Its figures",
          "are not a comparison; a full run (`npm run bench:compare` with its defaults, on a quiet",
          "machine) is.",
          "",
        ]
      : []),
    "Ratios are ours / ZooKeeper (above 1: ours is faster). Every figure is the median over the",
    "rounds; CPU per op is CPU time during the measured window divided by the requests answered",
    "in it (for the servers: summed over the members; per member in the table of every run).",
    "That table also gives each of our members' garbage collection in the window (pauses of",
    "every kind, and how many were mark-compacts), from its metrics; ZooKeeper's JVM exports",
    "none here.",
    "",
    "## Setup",
    "",
    ...ctx.machine.map((m) => `- ${m}`),
    ...ctx.settings.map((s) => `- ${s}`),
    `- generator: ${ctx.generator}`,
    "",
  ];
  for (const mode of ["ensemble", "standalone"] as Mode[]) {
    if (!runs.some((r) => r.mode === mode)) continue;
    lines.push(
      `## ${mode === "ensemble" ? "3-node ensembles" : "Standalone servers"}`,
      "",
      ...summaryTable(runs, mode),
      "",
    );
  }
  lines.push(
    `![throughput](${basename(throughputFile)})`,
    "",
    `![latency CDF at ${svg.latencyCell}](${basename(latencyFile)})`,
    "",
  );
  lines.push("## Every run", "", ...runsTable(runs), "");
  const file = join(dir, `${stem}.md`);
  writeFileSync(file, lines.join("\n"));
  return file;
}
