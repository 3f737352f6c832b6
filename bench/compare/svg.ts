// Hand-written SVG plots (no dependency): throughput against concurrency, and latency CDFs, one
// small panel per workload, ZooKeeper and this server in two fixed colours.

import type { ServerKind } from "./ensembles.ts";

export const colours: Record<ServerKind, string> = { zookeeper: "#d95f02", ours: "#1b6ac9" };
export const labels: Record<ServerKind, string> = {
  zookeeper: "Apache ZooKeeper 3.8",
  ours: "this server",
};

export interface Series {
  kind: ServerKind;
  points: [number, number][];
}

export interface Panel {
  title: string;
  series: Series[];
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** One element: attributes from an object (numbers rounded to 0.1), optional text content. */
function el(tag: string, attrs: Record<string, string | number>, text?: string): string {
  const list = Object.entries(attrs)
    .map(([k, v]) => `${k}="${typeof v === "number" ? +v.toFixed(1) : esc(v)}"`)
    .join(" ");
  return text === undefined ? `<${tag} ${list}/>` : `<${tag} ${list}>${esc(text)}</${tag}>`;
}

function niceStep(max: number, ticks: number): number {
  const raw = max / ticks;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const n = raw / magnitude;
  return (n <= 1 ? 1 : n <= 2 ? 2 : n <= 5 ? 5 : 10) * magnitude;
}

const compact = (v: number) => (v >= 1000 ? `${+(v / 1000).toFixed(1)}k` : `${+v.toFixed(2)}`);

interface Axes {
  x: (v: number) => number;
  y: (v: number) => number;
  body: string[];
}

interface FrameSpec {
  title: string;
  xTicks: { at: number; label: string }[];
  xRange: [number, number];
  xLog: boolean;
  yMax: number;
  yStep?: number;
  yLabel: (v: number) => string;
  xTitle: string;
  yTitle: string;
}

const panelW = 460;
const panelH = 300;
const margin = { left: 62, right: 16, top: 34, bottom: 46 };
const grid = "#e4e4e4";

function frame(spec: FrameSpec, ox: number, oy: number): Axes {
  const w = panelW - margin.left - margin.right;
  const h = panelH - margin.top - margin.bottom;
  const left = ox + margin.left;
  const top = oy + margin.top;
  const t = (v: number) => (spec.xLog ? Math.log10(v) : v);
  const [x0, x1] = [t(spec.xRange[0]), t(spec.xRange[1])];
  const x = (v: number) => left + ((t(v) - x0) / (x1 - x0 || 1)) * w;
  const y = (v: number) => top + h - (v / (spec.yMax || 1)) * h;
  const body = [
    el(
      "text",
      { x: ox + panelW / 2, y: oy + 20, "text-anchor": "middle", "font-weight": "bold" },
      spec.title,
    ),
    el("rect", { x: left, y: top, width: w, height: h, fill: "none", stroke: "#999" }),
  ];
  const step = spec.yStep ?? niceStep(spec.yMax, 5);
  for (let v = 0; v <= spec.yMax + 1e-9; v += step) {
    body.push(el("line", { x1: left, x2: left + w, y1: y(v), y2: y(v), stroke: grid }));
    body.push(el("text", { x: left - 6, y: y(v) + 4, "text-anchor": "end" }, spec.yLabel(v)));
  }
  for (const tick of spec.xTicks) {
    body.push(el("line", { x1: x(tick.at), x2: x(tick.at), y1: top, y2: top + h, stroke: grid }));
    body.push(el("text", { x: x(tick.at), y: top + h + 16, "text-anchor": "middle" }, tick.label));
  }
  const axisTitle = { "text-anchor": "middle", fill: "#555" };
  body.push(el("text", { x: left + w / 2, y: oy + panelH - 8, ...axisTitle }, spec.xTitle));
  const yTitleAt = `translate(${ox + 14},${top + h / 2}) rotate(-90)`;
  body.push(el("text", { transform: yTitleAt, ...axisTitle }, spec.yTitle));
  return { x, y, body };
}

function page(panels: string[][], heading: string): string {
  const columns = Math.min(2, panels.length);
  const rows = Math.ceil(panels.length / columns);
  const width = columns * panelW;
  const height = rows * panelH + 56;
  const legend = (Object.keys(colours) as ServerKind[]).map(
    (k, i) =>
      el("rect", { x: 16 + i * 220, y: height - 22, width: 14, height: 4, fill: colours[k] }) +
      el("text", { x: 36 + i * 220, y: height - 16 }, labels[k]),
  );
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"`,
    ` viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    el("rect", { width: "100%", height: "100%", fill: "white" }),
    el("text", { x: 16, y: 20, "font-size": 14 }, heading),
    `<g transform="translate(0,28)">${panels.flat().join("")}</g>`,
    ...legend,
    "</svg>\n",
  ].join("");
}

const origin = (i: number): [number, number] => [(i % 2) * panelW, Math.floor(i / 2) * panelH];

function polyline(points: string[], kind: ServerKind, width: number): string {
  return el("polyline", {
    points: points.join(" "),
    fill: "none",
    stroke: colours[kind],
    "stroke-width": width,
  });
}

/** Throughput (ops/s) against the concurrency cells, which sit at equal distances on x. */
export function throughputSvg(heading: string, cells: string[], panels: Panel[]): string {
  const drawn = panels.map((panel, i) => {
    const [ox, oy] = origin(i);
    const yMax = Math.max(1, ...panel.series.flatMap((s) => s.points.map((p) => p[1]))) * 1.1;
    const spec: FrameSpec = {
      title: panel.title,
      xTicks: cells.map((c, j) => ({ at: j, label: c })),
      xRange: [-0.3, cells.length - 0.7],
      xLog: false,
      yMax,
      yLabel: compact,
      xTitle: "sessions x requests in flight",
      yTitle: "ops/s",
    };
    const a = frame(spec, ox, oy);
    for (const s of panel.series) {
      const pts = s.points.map(([x, y]) => `${a.x(x).toFixed(1)},${a.y(y).toFixed(1)}`);
      a.body.push(polyline(pts, s.kind, 2));
      for (const [x, y] of s.points) {
        a.body.push(el("circle", { cx: a.x(x), cy: a.y(y), r: 3.5, fill: colours[s.kind] }));
      }
    }
    return a.body;
  });
  return page(drawn, heading);
}

/** Latency CDFs: x the latency in ms (log scale), y the share of requests at most that slow. */
export function latencyCdfSvg(heading: string, panels: Panel[]): string {
  const drawn = panels.map((panel, i) => {
    const [ox, oy] = origin(i);
    const xs = panel.series.flatMap((s) => s.points.map((p) => p[0]));
    const lo = 10 ** Math.floor(Math.log10(Math.max(0.001, Math.min(...xs))));
    const hi = 10 ** Math.ceil(Math.log10(Math.max(lo * 10, ...xs)));
    const xTicks: { at: number; label: string }[] = [];
    for (let v = lo; v <= hi * 1.0001; v *= 10) {
      xTicks.push({ at: v, label: v >= 1 ? `${v}` : `${+v.toPrecision(1)}` });
    }
    const spec: FrameSpec = {
      title: panel.title,
      xTicks,
      xRange: [lo, hi],
      xLog: true,
      yMax: 1,
      yStep: 0.2,
      yLabel: (v) => `${Math.round(v * 100)}%`,
      xTitle: "latency (ms, log scale)",
      yTitle: "requests at most this slow",
    };
    const a = frame(spec, ox, oy);
    for (const s of panel.series) {
      // A step function: each bucket's share is reached at its value.
      const pts: string[] = [];
      let previous = 0;
      for (const [x, y] of s.points) {
        const px = a.x(x).toFixed(1);
        pts.push(`${px},${a.y(previous).toFixed(1)}`, `${px},${a.y(y).toFixed(1)}`);
        previous = y;
      }
      a.body.push(polyline(pts, s.kind, 1.8));
    }
    return a.body;
  });
  return page(drawn, heading);
}
