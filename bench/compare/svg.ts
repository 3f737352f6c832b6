// Hand-written SVG plots (no dependency): throughput against concurrency, and latency CDFs, one
// small panel per workload, ZooKeeper and this server in two fixed colours.

import type { ServerKind } from "./ensembles.ts";

export const colours: Record<ServerKind, string> = { zookeeper: "#d95f02", ours: "#1b6ac9" };
export const labels: Record<ServerKind, string> = { zookeeper: "Apache ZooKeeper 3.8", ours: "this server" };

export interface Series {
  kind: ServerKind;
  points: [number, number][];
}

export interface Panel {
  title: string;
  series: Series[];
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

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

const panelW = 460;
const panelH = 300;
const margin = { left: 62, right: 16, top: 34, bottom: 46 };

function frame(
  title: string, ox: number, oy: number, xTicks: { at: number; label: string }[], xRange: [number, number],
  xLog: boolean, yMax: number, yLabel: (v: number) => string, xTitle: string, yTitle: string, yStep?: number,
): Axes {
  const w = panelW - margin.left - margin.right;
  const h = panelH - margin.top - margin.bottom;
  const t = (v: number) => (xLog ? Math.log10(v) : v);
  const [x0, x1] = [t(xRange[0]), t(xRange[1])];
  const x = (v: number) => ox + margin.left + ((t(v) - x0) / (x1 - x0 || 1)) * w;
  const y = (v: number) => oy + margin.top + h - (v / (yMax || 1)) * h;
  const body: string[] = [];
  body.push(`<text x="${ox + panelW / 2}" y="${oy + 20}" text-anchor="middle" font-weight="bold">${esc(title)}</text>`);
  body.push(`<rect x="${ox + margin.left}" y="${oy + margin.top}" width="${w}" height="${h}" fill="none" stroke="#999"/>`);
  const step = yStep ?? niceStep(yMax, 5);
  for (let v = 0; v <= yMax + 1e-9; v += step) {
    body.push(`<line x1="${ox + margin.left}" x2="${ox + margin.left + w}" y1="${y(v)}" y2="${y(v)}" stroke="#e4e4e4"/>`);
    body.push(`<text x="${ox + margin.left - 6}" y="${y(v) + 4}" text-anchor="end">${yLabel(v)}</text>`);
  }
  for (const tick of xTicks) {
    body.push(`<line x1="${x(tick.at)}" x2="${x(tick.at)}" y1="${oy + margin.top}" y2="${oy + margin.top + h}" stroke="#e4e4e4"/>`);
    body.push(`<text x="${x(tick.at)}" y="${oy + margin.top + h + 16}" text-anchor="middle">${esc(tick.label)}</text>`);
  }
  body.push(`<text x="${ox + margin.left + w / 2}" y="${oy + panelH - 8}" text-anchor="middle" fill="#555">${esc(xTitle)}</text>`);
  body.push(`<text transform="translate(${ox + 14},${oy + margin.top + h / 2}) rotate(-90)" text-anchor="middle" fill="#555">${esc(yTitle)}</text>`);
  return { x, y, body };
}

function page(panels: string[][], count: number, heading: string): string {
  const columns = Math.min(2, count);
  const rows = Math.ceil(count / columns);
  const width = columns * panelW;
  const height = rows * panelH + 56;
  const legend = (Object.keys(colours) as ServerKind[]).map((k, i) =>
    `<rect x="${16 + i * 220}" y="${height - 22}" width="14" height="4" fill="${colours[k]}"/>` +
    `<text x="${36 + i * 220}" y="${height - 16}">${labels[k]}</text>`).join("");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
    `font-family="sans-serif" font-size="12"><rect width="100%" height="100%" fill="white"/>` +
    `<text x="16" y="20" font-size="14">${esc(heading)}</text><g transform="translate(0,28)">${panels.flat().join("")}</g>${legend}</svg>\n`;
}

const origin = (i: number): [number, number] => [(i % 2) * panelW, Math.floor(i / 2) * panelH];

/** Throughput (ops/s) against the concurrency cells, which sit at equal distances on x. */
export function throughputSvg(heading: string, cells: string[], panels: Panel[]): string {
  const drawn = panels.map((panel, i) => {
    const [ox, oy] = origin(i);
    const yMax = Math.max(1, ...panel.series.flatMap((s) => s.points.map((p) => p[1]))) * 1.1;
    const a = frame(panel.title, ox, oy, cells.map((c, j) => ({ at: j, label: c })), [-0.3, cells.length - 0.7], false, yMax,
      compact, "sessions x requests in flight", "ops/s");
    for (const s of panel.series) {
      const pts = s.points.map(([x, y]) => `${a.x(x).toFixed(1)},${a.y(y).toFixed(1)}`);
      a.body.push(`<polyline points="${pts.join(" ")}" fill="none" stroke="${colours[s.kind]}" stroke-width="2"/>`);
      for (const [x, y] of s.points) {
        a.body.push(`<circle cx="${a.x(x).toFixed(1)}" cy="${a.y(y).toFixed(1)}" r="3.5" fill="${colours[s.kind]}"/>`);
      }
    }
    return a.body;
  });
  return page(drawn, panels.length, heading);
}

/** Latency CDFs: x the latency in ms on a log scale, y the fraction of requests at most that slow. */
export function latencyCdfSvg(heading: string, panels: Panel[]): string {
  const drawn = panels.map((panel, i) => {
    const [ox, oy] = origin(i);
    const xs = panel.series.flatMap((s) => s.points.map((p) => p[0]));
    const lo = 10 ** Math.floor(Math.log10(Math.max(0.001, Math.min(...xs))));
    const hi = 10 ** Math.ceil(Math.log10(Math.max(lo * 10, ...xs)));
    const ticks: { at: number; label: string }[] = [];
    for (let v = lo; v <= hi * 1.0001; v *= 10) ticks.push({ at: v, label: v >= 1 ? `${v}` : `${+v.toPrecision(1)}` });
    const a = frame(panel.title, ox, oy, ticks, [lo, hi], true, 1, (v) => `${Math.round(v * 100)}%`, "latency (ms, log scale)",
      "requests at most this slow", 0.2);
    for (const s of panel.series) {
      // A step function: each bucket's share is reached at its value.
      const pts: string[] = [];
      let previous = 0;
      for (const [x, y] of s.points) {
        pts.push(`${a.x(x).toFixed(1)},${a.y(previous).toFixed(1)}`, `${a.x(x).toFixed(1)},${a.y(y).toFixed(1)}`);
        previous = y;
      }
      a.body.push(`<polyline points="${pts.join(" ")}" fill="none" stroke="${colours[s.kind]}" stroke-width="1.8"/>`);
    }
    return a.body;
  });
  return page(drawn, panels.length, heading);
}
