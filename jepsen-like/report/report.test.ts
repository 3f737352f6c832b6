import { describe, expect, it } from "vitest";
import { checkPaired } from "../check.ts";
import { Builder } from "../test/builder.ts";
import { renderHtml } from "./html.ts";
import { faultsSvg, formatUs, latencySvg, throughputSvg, timelineSvg } from "./svg.ts";
import { textVerdict } from "./text.ts";
import { niceWidth, visualizationData } from "./visualization.ts";
import type { FaultSpan } from "./visualization.ts";

/** A stale sync'ed read after a write, next to an indeterminate write, plus an unrelated path. */
function example() {
  const b = new Builder(); // time = 10 µs per record
  b.invoke(1, "create", "/k", { data: "0" }).ok(1, { path: "/k" });
  b.invoke(1, "setData", "/k", { data: "1", version: -1 }).invoke(2, "setData", "/k", {
    data: "2",
    version: -1,
  });
  b.ok(1, { version: 1 }).info(2);
  b.invoke(3, "getData", "/k", { sync: true }).ok(3, { data: "0", version: 0 });
  b.invoke(4, "create", "/o", { data: "x" }).ok(4, { path: "/o" });
  return checkPaired(b.paired());
}

const limits = {
  failingShownMax: 5,
  passingShownMax: 5,
  timelineOpsMax: 10,
  latencyPointsMax: 2,
  throughputBinsMax: 3,
};

describe("report: visualization data", () => {
  it("draws the failing sub-history with its longest prefix, passing ones with their order", () => {
    const data = visualizationData(example(), limits);
    expect(data.verdict).toBe("INVALID");
    expect(data.linearizability).toBe(
      "illegal: 5 ops in 2 partitions (1 ok, 1 illegal, 0 unknown), zookeeper mode",
    );
    expect(data.timelines).toEqual([
      {
        partition: 0,
        paths: ["/k"],
        model: "per-path",
        verdict: "illegal",
        explanation:
          '#3 p3 s=0x3 getData /k sync -> ok "0" v0 cannot take effect in any order consistent ' +
          "with real time: after the longest linearizable prefix (3 ops) the state is " +
          "/k=<a value no read returns> v2",
        lanes: ["p1", "p2", "p3"],
        ops: [
          {
            id: 0,
            lane: "p1",
            startUs: 0,
            endUs: 10,
            label: '#0 p1 s=0x1 create /k "0" -> ok /k',
            status: "ok",
            order: 1,
            role: "prefix",
          },
          {
            id: 1,
            lane: "p1",
            startUs: 20,
            endUs: 40,
            label: '#1 p1 s=0x1 setData /k "1" -> ok v1',
            status: "ok",
            order: 2,
            role: "prefix",
          },
          {
            id: 2,
            lane: "p2",
            startUs: 30,
            endUs: null,
            label: '#2 p2 s=0x2 setData /k "2" -> ?',
            status: "info",
            order: 3,
            role: "prefix",
          },
          {
            id: 3,
            lane: "p3",
            startUs: 60,
            endUs: 70,
            label: '#3 p3 s=0x3 getData /k sync -> ok "0" v0',
            status: "ok",
            order: null,
            role: "stuck",
          },
        ],
        startUs: 0,
        endUs: 77,
        hiddenOps: 0,
      },
      {
        partition: 1,
        paths: ["/o"],
        model: "per-path",
        verdict: "ok",
        explanation: "linearizable: 1 ops in the order numbered",
        lanes: ["p4"],
        ops: [
          {
            id: 4,
            lane: "p4",
            startUs: 80,
            endUs: 90,
            label: '#4 p4 s=0x4 create /o "x" -> ok /o',
            status: "ok",
            order: 1,
            role: "linearized",
          },
        ],
        startUs: 80,
        endUs: 91,
        hiddenOps: 0,
      },
    ]);
  });

  it("samples latencies and bins throughput into readable widths", () => {
    const data = visualizationData(example(), limits);
    expect(data.latency).toEqual({
      points: [
        { id: 0, timeUs: 10, latencyUs: 10, status: "ok" },
        { id: 3, timeUs: 70, latencyUs: 10, status: "ok" },
      ],
      sampledFrom: 5,
    });
    expect(data.throughput).toEqual({
      binUs: 50,
      bins: [
        { startUs: 0, ok: 2, fail: 0, info: 0 },
        { startUs: 50, ok: 2, fail: 0, info: 1 },
      ],
    });
    expect(data.guarantees.map((g) => [g.name, g.violationCount])).toEqual([
      ["fifo-order", 0],
      ["monotonic-reads", 0],
      ["read-your-writes", 0],
      ["sequential-reads", 0],
      ["watch-order", 0],
      ["ephemerals", 0],
      ["sequential-names", 0],
      ["persistent-watches", 0],
      ["reaping", 0],
    ]);
    expect([1, 7, 10, 11, 21, 99, 101, 4000].map(niceWidth)).toEqual([
      1, 10, 10, 20, 50, 100, 200, 5000,
    ]);
  });
});

describe("report: text and HTML", () => {
  it("states the verdict per check, with the failing sub-history", () => {
    const outcome = example();
    const text = textVerdict(outcome.verdict, outcome.ops);
    expect(text).toContain(
      "linearizability (writes, check and sync'ed reads): ILLEGAL: 5 ops in 2 partitions " +
        "(1 ok, 1 illegal, 0 unknown)",
    );
    expect(text).toContain('     ! #3 p3 s=0x3 getData /k sync -> ok "0" v0\n');
    expect(text).toContain(
      "  ok   fifo-order: FIFO order: a session's writes commit in issue order (0 checked)\n",
    );
    expect(text.endsWith("verdict: INVALID\n")).toBe(true);
  });

  it("renders one self-contained page: inline SVG, script and data, nothing fetched", () => {
    const data = visualizationData(example());
    const html = renderHtml(data, "verdict: INVALID\n");
    expect(html.match(/<svg /g)).toHaveLength(4); // two timelines, latency, throughput
    expect(html).not.toMatch(/\b(src|href)=/);
    const inlined = /<script type="application\/json" id="data">(.*?)<\/script>/s.exec(html)![1]!;
    expect(JSON.parse(inlined)).toEqual(JSON.parse(JSON.stringify(data)));
    expect(html).toContain("&lt;a value no read returns&gt;");
    const many = {
      ...data,
      timelines: [
        { ...data.timelines[0]!, paths: Array.from({ length: 40 }, (_, i) => `/q/n-${i}`) },
      ],
    };
    expect(renderHtml(many, "")).toContain(
      "/q/n-0 /q/n-1 /q/n-2 /q/n-3 /q/n-4 /q/n-5 and 34 more paths",
    );
  });

  it("draws one bar per op and one mark per point", () => {
    const data = visualizationData(example());
    expect(timelineSvg(data.timelines[0]!).match(/<rect /g)).toHaveLength(4);
    // The indeterminate write.
    expect(timelineSvg(data.timelines[0]!)).toContain('stroke-dasharray="4 3"');
    expect(latencySvg(data.latency.points).match(/<circle /g)).toHaveLength(5);
    expect(
      throughputSvg(data.throughput.bins, data.throughput.binUs).match(/<rect /g)!.length,
    ).toBeGreaterThan(1);
    const points = Array.from({ length: 300_000 }, (_, i) => ({
      id: i,
      timeUs: i,
      latencyUs: i % 1000,
      status: "ok" as const,
    }));
    expect(latencySvg(points)).toContain("<circle "); // its scales are no spread of every point
    expect([formatUs(1500, 100), formatUs(1500, 20_000), formatUs(1_500_000, 20_000_000)]).toEqual([
      "1500µs",
      "2ms",
      "1.5s",
    ]);
  });

  it("draws the faults in lanes above the clients, on the timeline's own time axis", () => {
    const data = visualizationData(example());
    const t = data.timelines[0]!; // 0..77 µs, 1000 px wide with 110 px of labels: 1 µs = 11.56 px
    const faults: FaultSpan[] = [
      { lane: "n2", kind: "crash", startUs: 20, endUs: 40, label: "n2 down 0.02 s" },
      { lane: "net", kind: "partition", startUs: 50, endUs: 500, label: "partition: 1 | 2 3" },
      { lane: "n1", kind: "disk", startUs: 30, endUs: 30, label: "n1 torn record" },
      { lane: "n1", kind: "clock", startUs: 900, endUs: 900, label: "n1 clock jumps 5 ms" },
    ];
    const svg = timelineSvg(t, faults);
    const rect = /<rect class="fault (\w+)" x="([\d.]+)" y="(\d+)" width="([\d.]+)"/g;
    const rects = [...svg.matchAll(rect)].map(([, kind, x, y, w]) => [
      kind,
      Number(x),
      Number(y),
      Number(w),
    ]);
    const px = (us: number) => 110 + (us / 77) * 880;
    expect(rects).toEqual([
      // Server 1's lane first, an instant as a tick; the partition is cut at the timeline's end.
      ["disk", Number((px(30) - 1).toFixed(1)), 0, 3],
      ["crash", Number(px(20).toFixed(1)), 18, Number((px(40) - px(20)).toFixed(1))],
      ["partition", Number(px(50).toFixed(1)), 34, Number((px(77) - px(50)).toFixed(1))],
    ]); // the clock jump at 900 µs is outside this timeline
    expect(svg).toContain("<title>partition: 1 | 2 3</title>");
    // The clients' lanes below three fault lanes.
    expect(svg).toContain('<g transform="translate(0 54)">');
    expect(timelineSvg(t)).not.toContain("fault");
    expect(faultsSvg(faults, 0, 1000).match(/class="fault /g)).toHaveLength(4);
    const html = renderHtml(data, "", faults);
    expect(html).toContain("<h2>Faults</h2>");
    // The whole run's and the first timeline's: the second (/o) begins after n2 is back.
    expect(data.timelines[1]!.startUs).toBeGreaterThan(40);
    expect(html.match(/class="fault crash"/g)).toHaveLength(2);
  });
});
