// One measured run, its summary figures, and the medians over rounds that the report compares.

import type { ServerKind } from "./ensembles.ts";
import { gcSummary } from "./gc.ts";
import type { GcFigures } from "./gc.ts";
import { percentile } from "./histogram.ts";
import type { Measurement } from "./loadgen.ts";
import type { Workload } from "./workloads.ts";

export type Mode = "ensemble" | "standalone";

export interface Run {
  kind: ServerKind;
  mode: Mode;
  workload: Workload;
  sessions: number;
  inflight: number;
  round: number;
  /** Each member's role letter (L leader, F follower, S standalone), in member order. */
  roles: string[];
  m: Measurement;
}

export const cellName = (sessions: number, inflight: number) => `${sessions}x${inflight}`;

export interface Figures {
  opsPerSec: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  errors: number;
  clientCpuPerOp: number;
  /** The generator's CPU time over the window's length: how close it came to its threads' limit. */
  clientCores: number;
  serverCpuPerOp: number[];
}

/** Latencies in ms, CPU in µs per op. */
export function figures(run: Run): Figures {
  const { m } = run;
  // A bucket's middle can lie above the largest value recorded in it.
  const ms = (p: number) => Math.min(percentile(m.histogram, p), m.maxMicros) / 1000;
  const perOp = (micros: number) => (m.ops > 0 ? micros / m.ops : NaN);
  return {
    opsPerSec: m.ops / m.seconds,
    p50: ms(50),
    p90: ms(90),
    p99: ms(99),
    p999: ms(99.9),
    max: m.maxMicros / 1000,
    errors: m.errors,
    clientCpuPerOp: perOp(m.clientCpuMicros),
    clientCores: m.clientCpuMicros / (m.seconds * 1e6),
    serverCpuPerOp: m.serverCpuMicros.map(perOp),
  };
}

export function median(values: number[]): number {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Medians over the rounds of one cell (per field; CPU summed over the members first). */
export function medianFigures(runs: Run[]): Figures & { serverCpuTotal: number } {
  const f = runs.map(figures);
  const pick = (g: (x: Figures) => number) => median(f.map(g));
  return {
    opsPerSec: pick((x) => x.opsPerSec),
    p50: pick((x) => x.p50),
    p90: pick((x) => x.p90),
    p99: pick((x) => x.p99),
    p999: pick((x) => x.p999),
    max: pick((x) => x.max),
    errors: f.reduce((a, x) => a + x.errors, 0),
    clientCpuPerOp: pick((x) => x.clientCpuPerOp),
    clientCores: pick((x) => x.clientCores),
    serverCpuPerOp: f[0]!.serverCpuPerOp.map((_, i) => median(f.map((x) => x.serverCpuPerOp[i]!))),
    serverCpuTotal: pick((x) => x.serverCpuPerOp.reduce((a, b) => a + b, 0)),
  };
}

export const fmtInt = (v: number) =>
  Number.isNaN(v) ? "-" : Math.round(v).toLocaleString("en-US");
export const fmtMs = (v: number) => (Number.isNaN(v) ? "-" : v < 10 ? v.toFixed(2) : v.toFixed(1));
export const fmtRatio = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : "-");

/**
 * "38 ms, 0 MC F / 61 ms, 1 MC L / ...": each member's GC pauses in the window and its
 * mark-compacts, with its role; "-" for a server whose members do not tell (ZooKeeper's).
 */
export function gcPerMember(gc: readonly (GcFigures | undefined)[], roles: string[]): string {
  if (gc.length === 0 || gc.every((g) => g === undefined)) return "-";
  return gc.map((g, i) => `${gcSummary(g)} ${roles[i] ?? ""}`.trim()).join(" / ");
}

/** "41 L / 20 F / 19 F": CPU µs per op of each member with its role. */
export function cpuPerMember(perOp: number[], roles: string[]): string {
  return perOp.map((v, i) => `${fmtInt(v)} ${roles[i] ?? ""}`.trim()).join(" / ");
}

export function runLine(run: Run): string {
  const f = figures(run);
  const ms = (label: string, v: number) => `  ${label} ${fmtMs(v).padStart(6)}`;
  return [
    `  ${run.kind.padEnd(9)} ${fmtInt(f.opsPerSec).padStart(8)} ops/s`,
    ms("p50", f.p50),
    ms("p90", f.p90),
    ms("p99", f.p99),
    ms("p99.9", f.p999),
    ms("max", f.max),
    " ms",
    `  err ${f.errors}${errorDetail(run.m.errorCodes)}`,
    `  cpu µs/op client ${fmtInt(f.clientCpuPerOp)} (${f.clientCores.toFixed(2)} cores)`,
    `, servers ${cpuPerMember(f.serverCpuPerOp, run.roles)}`,
    run.m.serverGc.some((g) => g !== undefined)
      ? `; GC ${gcPerMember(run.m.serverGc, run.roles)}`
      : "",
  ].join("");
}

function errorDetail(codes: Record<number, number>): string {
  const entries = Object.entries(codes);
  if (entries.length === 0) return "";
  return ` (${entries.map(([code, n]) => `${n}× err ${code}`).join(", ")})`;
}
