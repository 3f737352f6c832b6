// Inline SVG for the report: a Porcupine-style timeline (one row per client, one bar per op from
// invoke to completion, the linearization numbered on the bars), a latency scatter and a
// throughput chart. Pure string builders over visualizationData's output; no layout engine.

import type {
  FaultSpan,
  LatencyPoint,
  ThroughputBin,
  Timeline,
  TimelineOp,
} from "./visualization.ts";

export function escapeXml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/\u0000/g, "\\0");
}

const widthPx = 1000;
const laneLabelPx = 110;
const laneHeightPx = 26;
const axisPx = 22;

export const roleColors: Record<TimelineOp["role"], string> = {
  prefix: "#43a047",
  linearized: "#42a5f5",
  stuck: "#e53935",
  pending: "#9e9e9e",
  leftOut: "#e0e0e0",
};
export const statusColors = { ok: "#43a047", fail: "#fb8c00", info: "#e53935" } as const;

/** Seconds or milliseconds, whichever reads better for the span shown. */
export function formatUs(us: number, spanUs: number): string {
  if (spanUs >= 10_000_000) return `${(us / 1_000_000).toFixed(1)}s`;
  if (spanUs >= 10_000) return `${(us / 1000).toFixed(0)}ms`;
  return `${us}µs`;
}

function ticks(fromUs: number, toUs: number, count: number): number[] {
  const step = (toUs - fromUs) / count;
  return Array.from({ length: count + 1 }, (_, i) => Math.round(fromUs + i * step));
}

function timeAxis(fromUs: number, toUs: number, x: (us: number) => number, y: number): string {
  const anchors = ["start", "middle", "middle", "middle", "middle", "end"];
  return ticks(fromUs, toUs, 5)
    .map((t, i) => {
      const label = escapeXml(formatUs(t, toUs - fromUs));
      const at = `x="${x(t).toFixed(1)}" y="${y}"`;
      return `<text ${at} class="tick" text-anchor="${anchors[i]}">${label}</text>`;
    })
    .join("");
}

function opBar(op: TimelineOp, x: (us: number) => number, lane: number, rightPx: number): string {
  const x1 = x(op.startUs);
  const x2 = op.endUs === null ? rightPx : Math.max(x1 + 3, x(op.endUs));
  const y = lane * laneHeightPx + 4;
  const open = op.endUs === null ? ` stroke-dasharray="4 3" stroke="#555"` : "";
  const text = op.order === null ? (op.role === "stuck" ? "!" : "") : String(op.order);
  // A number wider than its bar only hides others.
  const label = x2 - x1 >= text.length * 7 + 4 ? text : "";
  return (
    `<g class="op" data-id="${op.id}" data-order="${op.order ?? ""}" data-role="${op.role}">` +
    `<rect x="${x1.toFixed(1)}" y="${y}" width="${(x2 - x1).toFixed(1)}" ` +
    `height="${laneHeightPx - 8}" rx="3" ` +
    `fill="${roleColors[op.role]}"${open}>` +
    `<title>${escapeXml(op.label)}</title></rect>` +
    (label === ""
      ? ""
      : `<text x="${(x1 + 3).toFixed(1)}" y="${y + 13}" class="order">${label}</text>`) +
    `</g>`
  );
}

export const faultColors: Record<FaultSpan["kind"], string> = {
  crash: "#616161",
  partition: "#ef6c00",
  clog: "#c0a000",
  clock: "#8e24aa",
  disk: "#d81b60",
};

const faultLaneHeightPx = 16;

/** Server lanes by number, then the network's. */
function faultLanes(faults: readonly FaultSpan[]): string[] {
  const lanes = [...new Set(faults.map((f) => f.lane))];
  const rank = (lane: string) => (lane === "net" ? Infinity : Number(lane.replace(/\D/g, "")) || 0);
  return lanes.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/** One fault lane's row: spans as bars (crash and network), instants as ticks (clock, disk). */
type Scale = (us: number) => number;

function faultRow(
  faults: readonly FaultSpan[],
  y: number,
  x: Scale,
  fromUs: number,
  toUs: number,
): string {
  const leftPx = x(fromUs);
  return faults
    .filter((f) => f.endUs >= fromUs && f.startUs <= toUs)
    .map((f) => {
      const x1 = Math.max(leftPx, x(Math.max(f.startUs, fromUs)));
      const x2 = Math.max(x1 + 3, x(Math.min(f.endUs, toUs)));
      const instant = f.endUs === f.startUs;
      const top = instant ? y : y + 2;
      const h = instant ? faultLaneHeightPx : faultLaneHeightPx - 4;
      const w = instant ? 3 : x2 - x1;
      return (
        `<rect class="fault ${f.kind}" x="${(instant ? x1 - 1 : x1).toFixed(1)}" y="${top}" ` +
        `width="${w.toFixed(1)}" height="${h}" fill="${faultColors[f.kind]}" opacity="0.85">` +
        `<title>${escapeXml(f.label)}</title></rect>`
      );
    })
    .join("");
}

/**
 * The fault lanes from `fromUs` to `toUs` on the scale `x`, from `topPx` down; and their height.
 */
function faultBlock(
  faults: readonly FaultSpan[],
  x: Scale,
  fromUs: number,
  toUs: number,
  topPx: number,
) {
  const lanes = faultLanes(faults);
  const rows = lanes.map((lane, i) => {
    const y = topPx + i * faultLaneHeightPx;
    const bandWidth = widthPx - 10 - laneLabelPx;
    const band =
      i % 2 === 0
        ? `<rect x="${laneLabelPx}" y="${y}" width="${bandWidth}" height="${faultLaneHeightPx}" ` +
          `fill="#f7f7f7"/>`
        : "";
    const name = lane === "net" ? "network" : `server ${lane.slice(1)}`;
    return (
      band +
      `<text x="4" y="${y + 12}" class="lane">${escapeXml(name)}</text>` +
      faultRow(
        faults.filter((f) => f.lane === lane),
        y,
        x,
        fromUs,
        toUs,
      )
    );
  });
  return { svg: rows.join(""), heightPx: lanes.length * faultLaneHeightPx };
}

/** The client timeline; with `faults`, the nemesis lanes on top, on the same time axis. */
export function timelineSvg(t: Timeline, faults: readonly FaultSpan[] = []): string {
  const rightPx = widthPx - 10;
  const spanUs = Math.max(1, t.endUs - t.startUs);
  const x = (us: number): number =>
    laneLabelPx + ((us - t.startUs) / spanUs) * (rightPx - laneLabelPx);
  const shown = faults.filter((f) => f.endUs >= t.startUs && f.startUs <= t.endUs);
  const block = faultBlock(shown, x, t.startUs, t.endUs, 0);
  const gapPx = block.heightPx === 0 ? 0 : 6;
  const top = block.heightPx + gapPx;
  const lanes = new Map(t.lanes.map((lane, i) => [lane, i]));
  const heightPx = top + t.lanes.length * laneHeightPx + axisPx;
  const labels = t.lanes
    .map(
      (lane, i) =>
        `<text x="4" y="${i * laneHeightPx + 17}" class="lane">${escapeXml(lane)}</text>`,
    )
    .join("");
  const bars = t.ops.map((op) => opBar(op, x, lanes.get(op.lane)!, rightPx)).join("");
  return (
    `<svg class="timeline" data-partition="${t.partition}" ` +
    `width="${widthPx}" height="${heightPx}" ` +
    `viewBox="0 0 ${widthPx} ${heightPx}" xmlns="http://www.w3.org/2000/svg">` +
    block.svg +
    `<g transform="translate(0 ${top})">${labels}${bars}</g>` +
    timeAxis(t.startUs, t.endUs, x, heightPx - 6) +
    `</svg>`
  );
}

/** The whole run's fault lanes alone, from the history's first event to its last. */
export function faultsSvg(faults: readonly FaultSpan[], fromUs: number, toUs: number): string {
  if (faults.length === 0) return "<p>No faults were injected.</p>";
  const rightPx = widthPx - 10;
  const spanUs = Math.max(1, toUs - fromUs);
  const x = (us: number): number =>
    laneLabelPx + ((us - fromUs) / spanUs) * (rightPx - laneLabelPx);
  const block = faultBlock(faults, x, fromUs, toUs, 0);
  const heightPx = block.heightPx + axisPx;
  const axis = timeAxis(fromUs, toUs, x, heightPx - 6);
  return (
    `<svg class="faults" width="${widthPx}" height="${heightPx}" ` +
    `viewBox="0 0 ${widthPx} ${heightPx}" xmlns="http://www.w3.org/2000/svg">` +
    `${block.svg}${axis}</svg>`
  );
}

const plotTopPx = 20;
const plotHeightPx = 220;
const plotLeftPx = 60;
const plotBottomPx = plotTopPx + plotHeightPx;

function frame(title: string, yMax: string, body: string, axis: string): string {
  const h = plotBottomPx + axisPx;
  return (
    `<svg class="plot" width="${widthPx}" height="${h}" viewBox="0 0 ${widthPx} ${h}" ` +
    `xmlns="http://www.w3.org/2000/svg">` +
    `<text x="${plotLeftPx}" y="13" class="tick">${escapeXml(title)}</text>` +
    `<rect x="${plotLeftPx}" y="${plotTopPx}" width="${widthPx - plotLeftPx - 10}" ` +
    `height="${plotHeightPx}" fill="none" stroke="#ccc"/>` +
    `<text x="4" y="${plotTopPx + 10}" class="tick">${escapeXml(yMax)}</text>` +
    `<text x="4" y="${plotBottomPx}" class="tick">0</text>` +
    body +
    axis +
    `</svg>`
  );
}

function xScale(fromUs: number, toUs: number): (us: number) => number {
  const span = Math.max(1, toUs - fromUs);
  return (us) => plotLeftPx + ((us - fromUs) / span) * (widthPx - plotLeftPx - 10);
}

export function latencySvg(points: readonly LatencyPoint[]): string {
  if (points.length === 0) return "<p>No completed operations.</p>";
  // Folds, not Math.min(...points): a spread of a long array overflows the stack.
  const fromUs = points.reduce((min, p) => Math.min(min, p.timeUs), Infinity);
  const toUs = points.reduce((max, p) => Math.max(max, p.timeUs), -Infinity);
  const maxUs = points.reduce((max, p) => Math.max(max, p.latencyUs), 1);
  const x = xScale(fromUs, toUs);
  const y = (us: number): number => plotBottomPx - (us / maxUs) * (plotHeightPx - 6);
  const dots = points.map(
    (p) =>
      `<circle cx="${x(p.timeUs).toFixed(1)}" cy="${y(p.latencyUs).toFixed(1)}" r="2" ` +
      `fill="${statusColors[p.status]}"/>`,
  );
  const title = "latency per completed op (green ok, orange fail, red indeterminate)";
  return frame(
    title,
    formatUs(maxUs, maxUs),
    dots.join(""),
    timeAxis(fromUs, toUs, x, plotBottomPx + axisPx - 6),
  );
}

export function throughputSvg(bins: readonly ThroughputBin[], binUs: number): string {
  if (bins.length === 0) return "<p>No completed operations.</p>";
  const fromUs = bins[0]!.startUs;
  const toUs = bins[bins.length - 1]!.startUs + binUs;
  const most = bins.reduce((max, b) => Math.max(max, b.ok + b.fail + b.info), 1);
  const x = xScale(fromUs, toUs);
  const barPx = Math.max(1, x(fromUs + binUs) - x(fromUs) - 1);
  const bars = bins
    .map((b) => {
      let top = plotBottomPx;
      return (["ok", "fail", "info"] as const)
        .map((status) => {
          const h = (b[status] / most) * (plotHeightPx - 6);
          top -= h;
          if (h === 0) return "";
          const at = `x="${x(b.startUs).toFixed(1)}" y="${top.toFixed(1)}"`;
          const size = `width="${barPx.toFixed(1)}" height="${h.toFixed(1)}"`;
          return `<rect ${at} ${size} fill="${statusColors[status]}"/>`;
        })
        .join("");
    })
    .join("");
  const title =
    `completions per ${formatUs(binUs, binUs)} ` + "(green ok, orange fail, red indeterminate)";
  return frame(title, `${most}`, bars, timeAxis(fromUs, toUs, x, plotBottomPx + axisPx - 6));
}
