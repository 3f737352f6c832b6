// What the HTML report shows, as plain data (Porcupine's computeVisualizationData, adapted): a
// timeline per partition worth showing, latency points and throughput bins. Pure and tested
// exactly; html.ts only turns it into markup.

import type { CheckOutcome } from "../check.ts";
import { describeOperation } from "../describe.ts";
import type { PartitionResult } from "../linearizability.ts";
import type { Operation, Status } from "../operations.ts";
import { verdictWord } from "./text.ts";

export type TimelineRole = "prefix" | "stuck" | "pending" | "linearized" | "leftOut";

export interface TimelineOp {
  readonly id: number;
  /** The row: "p3" for process 3; a session's possible expiry gets a row of its own. */
  readonly lane: string;
  readonly startUs: number;
  /** null: indeterminate (it may take effect any time after its start). */
  readonly endUs: number | null;
  readonly label: string;
  readonly status: Status;
  /** 1-based place in the linearization (passing) or the longest linearizable prefix (failing). */
  readonly order: number | null;
  readonly role: TimelineRole;
}

export interface Timeline {
  readonly partition: number;
  readonly paths: readonly string[];
  readonly model: string;
  readonly verdict: "ok" | "illegal";
  readonly explanation: string;
  /** Rows top to bottom: processes by number, then expiries. */
  readonly lanes: readonly string[];
  readonly ops: readonly TimelineOp[];
  readonly startUs: number;
  readonly endUs: number;
  /** Ops of the partition not drawn (a passing partition is cut to its first ops). */
  readonly hiddenOps: number;
}

export interface LatencyPoint {
  readonly id: number;
  readonly timeUs: number;
  readonly latencyUs: number;
  readonly status: Status;
}

export interface ThroughputBin {
  readonly startUs: number;
  readonly ok: number;
  readonly fail: number;
  readonly info: number;
}

export interface GuaranteeView {
  readonly name: string;
  readonly title: string;
  readonly checked: number;
  readonly violationCount: number;
  readonly violations: readonly { readonly message: string; readonly ops: readonly string[] }[];
}

/**
 * A fault on the history's time axis (a simulator's nemesis schedule, as it happened), drawn in
 * lanes above the client timelines: per server ("n1": down, disk damage, clock) and "net".
 */
export interface FaultSpan {
  readonly lane: string;
  readonly kind: "crash" | "partition" | "clog" | "clock" | "disk";
  readonly startUs: number;
  /** Equal to startUs for an instant (a clock jump, a damaged record). */
  readonly endUs: number;
  readonly label: string;
}

export interface VisualizationData {
  readonly verdict: string;
  readonly linearizability: string;
  readonly guarantees: readonly GuaranteeView[];
  readonly timelines: readonly Timeline[];
  readonly latency: { readonly points: readonly LatencyPoint[]; readonly sampledFrom: number };
  readonly throughput: { readonly binUs: number; readonly bins: readonly ThroughputBin[] };
}

export interface VisualizationLimits {
  readonly failingShownMax: number;
  readonly passingShownMax: number;
  readonly timelineOpsMax: number;
  readonly latencyPointsMax: number;
  readonly throughputBinsMax: number;
}

export const visualizationLimits: VisualizationLimits = {
  failingShownMax: 10,
  passingShownMax: 3,
  timelineOpsMax: 120,
  latencyPointsMax: 4000,
  throughputBinsMax: 100,
};

function timelineOp(op: Operation, order: number | null, role: TimelineRole): TimelineOp {
  const endUs = op.status === "info" || op.completeTimeUs === undefined ? null : op.completeTimeUs;
  const lane = op.synthetic === "expiry" ? `expiry ${op.session}` : `p${op.process}`;
  return {
    id: op.id,
    lane,
    startUs: op.invokeTimeUs,
    endUs,
    label: describeOperation(op),
    status: op.status,
    order,
    role,
  };
}

function lanesOf(ops: readonly TimelineOp[]): string[] {
  const lanes = [...new Set(ops.map((o) => o.lane))];
  const processNumber = (lane: string): number =>
    lane.startsWith("p") ? Number(lane.slice(1)) : Infinity;
  return lanes.sort((a, b) => processNumber(a) - processNumber(b) || (a < b ? -1 : a > b ? 1 : 0));
}

type Roles = (id: number) => [number | null, TimelineRole];

function timelineOf(
  p: PartitionResult,
  ops: readonly Operation[],
  shown: readonly number[],
  roles: Roles,
): Timeline {
  const drawn = shown.map((id) => timelineOp(ops[id]!, ...roles(id)));
  // Folds, not Math.min(...): a failing sub-history has no size limit; a spread overflows.
  const startUs = drawn.reduce((min, o) => Math.min(min, o.startUs), Infinity);
  const lastUs = drawn.reduce((max, o) => Math.max(max, o.endUs ?? o.startUs), -Infinity);
  const endUs = lastUs + Math.max(1, Math.round((lastUs - startUs) * 0.1));
  return {
    partition: p.id,
    paths: p.paths,
    model: p.model,
    verdict: p.verdict === "illegal" ? "illegal" : "ok",
    explanation:
      p.failure?.explanation ?? `linearizable: ${p.linearization.length} ops in the order numbered`,
    lanes: lanesOf(drawn),
    ops: drawn,
    startUs,
    endUs,
    hiddenOps: p.opIds.length - shown.length,
  };
}

function failingTimeline(p: PartitionResult, ops: readonly Operation[]): Timeline {
  const order = new Map(p.linearization.map((id, i) => [id, i + 1]));
  return timelineOf(p, ops, p.failure!.subHistory, (id) =>
    id === p.failure!.stuck
      ? [null, "stuck"]
      : order.has(id)
        ? [order.get(id)!, "prefix"]
        : [null, "pending"],
  );
}

function passingTimeline(p: PartitionResult, ops: readonly Operation[], opsMax: number): Timeline {
  const order = new Map(p.linearization.map((id, i) => [id, i + 1]));
  const shown = [...p.opIds]
    .sort((a, b) => ops[a]!.invokeIndex - ops[b]!.invokeIndex || a - b)
    .slice(0, opsMax);
  return timelineOf(p, ops, shown, (id) =>
    order.has(id) ? [order.get(id)!, "linearized"] : [null, "leftOut"],
  );
}

/**
 * Failing partitions first; then the largest passing ones, so a valid run still shows its shape.
 */
function timelines(outcome: CheckOutcome, limits: VisualizationLimits): Timeline[] {
  const parts = outcome.verdict.linearizability.partitions;
  const failing = parts.filter((p) => p.verdict === "illegal").slice(0, limits.failingShownMax);
  const passing = parts
    .filter((p) => p.verdict === "ok" && p.opIds.length > 0)
    .sort((a, b) => b.opIds.length - a.opIds.length || a.id - b.id)
    .slice(0, limits.passingShownMax);
  return [
    ...failing.map((p) => failingTimeline(p, outcome.ops)),
    ...passing.map((p) => passingTimeline(p, outcome.ops, limits.timelineOpsMax)),
  ];
}

/** Completed ops as (time, latency) points, every k-th one when there are too many. */
function latency(ops: readonly Operation[], pointsMax: number): VisualizationData["latency"] {
  const done = ops.filter((op) => op.completeTimeUs !== undefined && op.synthetic === undefined);
  const stride = Math.max(1, Math.ceil(done.length / pointsMax));
  const points = done
    .filter((_, i) => i % stride === 0)
    .map((op) => ({
      id: op.id,
      timeUs: op.completeTimeUs!,
      latencyUs: op.completeTimeUs! - op.invokeTimeUs,
      status: op.status,
    }));
  return { points, sampledFrom: done.length };
}

/** 1, 2 or 5 times a power of ten: bin widths people read at a glance. */
export function niceWidth(raw: number): number {
  let power = 1;
  while (power * 10 <= raw) power *= 10;
  for (const step of [1, 2, 5, 10]) if (power * step >= raw) return power * step;
  return power * 10;
}

/** Completions per time bin, by outcome. */
function throughput(ops: readonly Operation[], binsMax: number): VisualizationData["throughput"] {
  const times = ops.filter((op) => op.completeTimeUs !== undefined && op.synthetic === undefined);
  if (times.length === 0) return { binUs: 1, bins: [] };
  let first = Infinity;
  let last = -Infinity;
  for (const op of times) {
    first = Math.min(first, op.completeTimeUs!);
    last = Math.max(last, op.completeTimeUs!);
  }
  const binUs = niceWidth(Math.max(1, Math.ceil((last - first + 1) / binsMax)));
  const origin = Math.floor(first / binUs) * binUs;
  const count = Math.floor((last - origin) / binUs) + 1;
  const bins = Array.from({ length: count }, (_, i) => ({
    startUs: origin + i * binUs,
    ok: 0,
    fail: 0,
    info: 0,
  }));
  for (const op of times) bins[Math.floor((op.completeTimeUs! - origin) / binUs)]![op.status]++;
  return { binUs, bins };
}

function guaranteeViews(outcome: CheckOutcome): GuaranteeView[] {
  return outcome.verdict.guarantees.map((g) => ({
    name: g.guarantee,
    title: g.title,
    checked: g.checked,
    violationCount: g.violationCount,
    violations: g.violations.map((v) => ({
      message: v.message,
      ops: v.ops.map((id) => describeOperation(outcome.ops[id]!)),
    })),
  }));
}

export function visualizationData(
  outcome: CheckOutcome,
  limits: VisualizationLimits = visualizationLimits,
): VisualizationData {
  const lin = outcome.verdict.linearizability;
  const counts = { ok: 0, illegal: 0, unknown: 0 };
  for (const p of lin.partitions) counts[p.verdict]++;
  return {
    verdict: verdictWord(outcome.verdict.valid),
    linearizability:
      `${lin.verdict}: ${lin.checkedOps} ops in ${lin.partitions.length} partitions ` +
      `(${counts.ok} ok, ${counts.illegal} illegal, ${counts.unknown} unknown), ${lin.mode} mode`,
    guarantees: guaranteeViews(outcome),
    timelines: timelines(outcome, limits),
    latency: latency(outcome.history.operations, limits.latencyPointsMax),
    throughput: throughput(outcome.history.operations, limits.throughputBinsMax),
  };
}
