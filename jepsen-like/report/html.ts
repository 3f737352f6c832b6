// The report page: one self-contained HTML file (inline CSS, SVG and a few lines of JS; the data
// inlined as JSON; nothing fetched), viewable offline and attachable to a bug report.

import {
  escapeXml,
  faultColors,
  faultsSvg,
  latencySvg,
  roleColors,
  throughputSvg,
  timelineSvg,
} from "./svg.ts";
import type { FaultSpan, GuaranteeView, Timeline, VisualizationData } from "./visualization.ts";

const css = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; max-width: 1060px; }
h1 .VALID { color: #2e7d32; } h1 .INVALID { color: #c62828; } h1 .UNKNOWN { color: #ef6c00; }
pre { background: #f6f6f6; padding: 8px; overflow-x: auto; font-size: 12px; }
table { border-collapse: collapse; }
td, th { padding: 3px 8px; border-bottom: 1px solid #eee; text-align: left; }
.fail { color: #c62828; font-weight: bold; } .pass { color: #2e7d32; }
.tick { font-size: 10px; fill: #666; } .lane { font-size: 11px; fill: #333; }
.order { font-size: 10px; fill: #fff; }
.op { cursor: pointer; } .op.dim rect { opacity: 0.25; }
.op.sel rect { stroke: #000; stroke-width: 2; }
.legend span {
  display: inline-block; padding: 0 6px; margin-right: 6px; color: #fff; border-radius: 3px;
}
.detail { font-family: monospace; font-size: 12px; min-height: 1.4em; }
`;

// Step through a linearization: ops numbered above the slider are dimmed; click an op for its text.
const script = `
const data = JSON.parse(document.getElementById("data").textContent);
document.querySelectorAll("section.timeline").forEach((section) => {
  const t = data.timelines[Number(section.dataset.index)];
  const slider = section.querySelector("input");
  const detail = section.querySelector(".detail");
  const byId = new Map(t.ops.map((op) => [String(op.id), op]));
  const show = () => {
    const k = Number(slider.value);
    section.querySelector(".step").textContent = k;
    section.querySelectorAll(".op").forEach((g) => {
      const order = g.dataset.order === "" ? Infinity : Number(g.dataset.order);
      g.classList.toggle("dim", order > k && g.dataset.role !== "stuck");
    });
  };
  slider.addEventListener("input", show);
  section.querySelectorAll(".op").forEach((g) => g.addEventListener("click", () => {
    section.querySelectorAll(".op.sel").forEach((s) => s.classList.remove("sel"));
    g.classList.add("sel");
    detail.textContent = byId.get(g.dataset.id).label;
  }));
  show();
});
`;

function legend(): string {
  const names: Record<string, string> = {
    prefix: "linearized prefix",
    stuck: "cannot be linearized",
    pending: "not linearized",
    linearized: "linearization",
    leftOut: "indeterminate, took no effect",
  };
  const swatches = Object.entries(roleColors).map(
    ([role, color]) => `<span style="background:${color}">${names[role]}</span>`,
  );
  return (
    `<p class="legend">${swatches.join("")} ` +
    "dashed outline: indeterminate (may take effect any time after its start)</p>"
  );
}

/** A partition's paths for a heading: a sequential parent can have thousands of children. */
const pathsShownMax = 6;
function pathsTitle(paths: readonly string[]): string {
  const shown = paths.slice(0, pathsShownMax).join(" ");
  return paths.length > pathsShownMax
    ? `${shown} and ${paths.length - pathsShownMax} more paths`
    : shown;
}

function faultLegend(): string {
  const names: Record<FaultSpan["kind"], string> = {
    crash: "server down",
    partition: "partition",
    clog: "clogged links",
    clock: "clock jump or drift",
    disk: "disk damage or stall",
  };
  const swatches = Object.entries(faultColors).map(
    ([kind, color]) =>
      `<span style="background:${color}">${names[kind as FaultSpan["kind"]]}</span>`,
  );
  return `<p class="legend">faults: ${swatches.join("")} hover a fault for what it was</p>`;
}

/** The whole run's faults, on an axis spanning them and every completed operation. */
function faultsSection(data: VisualizationData, faults: readonly FaultSpan[]): string {
  if (faults.length === 0) return "";
  const bins = data.throughput.bins;
  const first = bins[0];
  const last = bins[bins.length - 1];
  const starts = [...faults.map((f) => f.startUs), ...(first === undefined ? [] : [first.startUs])];
  const lastEnd = last === undefined ? [] : [last.startUs + data.throughput.binUs];
  const ends = [...faults.map((f) => f.endUs), ...lastEnd];
  const svg = faultsSvg(faults, Math.min(...starts), Math.max(...ends));
  return (
    `<h2>Faults</h2>${faultLegend()}${svg}` +
    `<p>Each timeline below shows the faults of its own time span above its clients.</p>`
  );
}

function timelineSection(t: Timeline, index: number, faults: readonly FaultSpan[]): string {
  const steps = t.ops.reduce((n, op) => Math.max(n, op.order ?? 0), 0);
  const hidden =
    t.hiddenOps > 0
      ? ` (first ${t.ops.length} ops drawn, ${t.hiddenOps} more in the partition)`
      : "";
  return (
    `<section class="timeline" data-index="${index}">` +
    `<h3 class="${t.verdict === "illegal" ? "fail" : "pass"}">partition ${t.partition}: ` +
    `${escapeXml(pathsTitle(t.paths))} — ${t.verdict} (${t.model} model)${hidden}</h3>` +
    `<p>${escapeXml(t.explanation)}</p>` +
    `<label>linearization step <input type="range" min="0" max="${steps}" value="${steps}"> ` +
    `<span class="step">${steps}</span>/${steps}</label>` +
    timelineSvg(t, faults) +
    `<div class="detail"></div></section>`
  );
}

function guaranteesTable(guarantees: readonly GuaranteeView[]): string {
  const rows = guarantees
    .map((g) => {
      const count = `${g.violationCount} violation${g.violationCount === 1 ? "" : "s"}`;
      const status =
        g.violationCount === 0 ? `<td class="pass">ok</td>` : `<td class="fail">${count}</td>`;
      return (
        `<tr>${status}<td>${escapeXml(g.name)}</td><td>${escapeXml(g.title)}</td>` +
        `<td>${g.checked} checked</td></tr>`
      );
    })
    .join("");
  const details = guarantees
    .filter((g) => g.violationCount > 0)
    .map(
      (g) =>
        `<h3 class="fail">${escapeXml(g.name)}</h3>` +
        g.violations
          .map((v) => `<p>${escapeXml(v.message)}</p><pre>${v.ops.map(escapeXml).join("\n")}</pre>`)
          .join(""),
    )
    .join("");
  return `<table>${rows}</table>${details}`;
}

/** Escapes what would end the inline JSON script early. */
function inlineJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

/** The report; `faults` (a simulator's nemesis, as it happened) go on the timelines' axis. */
export function renderHtml(
  data: VisualizationData,
  verdictText: string,
  faults: readonly FaultSpan[] = [],
): string {
  const timelines = data.timelines.map((t, i) => timelineSection(t, i, faults)).join("");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>history check: ${data.verdict}</title><style>${css}</style></head>
<body>
<h1>History check: <span class="${data.verdict}">${data.verdict}</span></h1>
<pre>${escapeXml(verdictText)}</pre>
<h2>ZooKeeper guarantees</h2>
${guaranteesTable(data.guarantees)}
${faultsSection(data, faults)}
<h2>Linearizability</h2>
<p>${escapeXml(data.linearizability)}</p>
${legend()}
${timelines || "<p>No partition to draw.</p>"}
<h2>Latency</h2>
<p>${data.latency.points.length} of ${data.latency.sampledFrom} completed operations drawn.</p>
${latencySvg(data.latency.points)}
<h2>Throughput</h2>
${throughputSvg(data.throughput.bins, data.throughput.binUs)}
<script type="application/json" id="data">${inlineJson(data)}</script>
<script>${script}</script>
</body></html>
`;
}
