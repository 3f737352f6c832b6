// The comparison harness's own pieces: the histogram's buckets and percentiles, the pre-encoded
// requests (decoded back by the server's own decoder after the generator's patches), and one short
// cell of the raw generator against a real standalone server, which must see no errors.

import { describe, expect, it } from "vitest";
import { openAclUnsafe } from "../../core/types.ts";
import { decodeClientFrame } from "../../net/wire.ts";
import { ZkClient } from "../../net/zk-client.ts";
import { freePort, startEnsemble } from "../../net/test/ensemble.ts";
import { gcBetween, gcSummary, parseGc } from "./gc.ts";
import { bucketCount, bucketLow, bucketOf, newHistogram, percentile } from "./histogram.ts";
import { runRawCell } from "./loadgen.ts";
import { sessionPlan, valueBytes } from "./workloads.ts";

const payloadOf = (frame: Uint8Array) => frame.subarray(4);

describe("histogram", () => {
  it("puts every value in a bucket at most 1/64 wide that contains it", () => {
    for (let v = 0; v < 5_000_000; v = Math.floor(v * 1.07) + 1) {
      const i = bucketOf(v);
      expect(i).toBeLessThan(bucketCount);
      expect(bucketLow(i)).toBeLessThanOrEqual(v);
      expect(bucketLow(i + 1)).toBeGreaterThan(v);
      const width = bucketLow(i + 1) - bucketLow(i);
      expect(width).toBeLessThanOrEqual(Math.max(1, bucketLow(i) / 64));
    }
  });

  it("reports percentiles within a bucket's width", () => {
    const h = newHistogram();
    for (let v = 1; v <= 10_000; v++) h[bucketOf(v)]!++;
    expect(Math.abs(percentile(h, 50) - 5_000) / 5_000).toBeLessThan(0.02);
    expect(Math.abs(percentile(h, 99) - 9_900) / 9_900).toBeLessThan(0.02);
  });
});

describe("pre-encoded requests", () => {
  it("decode as the ops they stand for, with the xid patched in", () => {
    const plan = sessionPlan("setData", 3, 2181);
    const copy = Uint8Array.from(plan.primary);
    new DataView(copy.buffer).setInt32(4, 77);
    const decoded = decodeClientFrame(payloadOf(copy));
    expect(decoded.xid).toBe(77);
    expect(decoded.op).toMatchObject({ op: "setData", path: "/bench/n3", version: -1 });
    expect((decoded.op as { data: Uint8Array }).data.length).toBe(valueBytes);
  });

  it("turn the delete template into the delete of the name a create returned", () => {
    const plan = sessionPlan("createDelete", 5, 2181);
    const remove = Uint8Array.from(plan.secondary!);
    remove.set(new TextEncoder().encode("0000000042"), plan.digitsAt);
    expect(decodeClientFrame(payloadOf(remove)).op).toEqual({
      op: "delete",
      path: "/bench/c5/q-0000000042",
      version: -1,
    });
    expect(decodeClientFrame(payloadOf(plan.primary)).op).toMatchObject({
      op: "create",
      path: "/bench/c5/q-",
      flags: 2,
    });
  });
});

describe("garbage collection figures", () => {
  it("reads prom-client's GC histogram by kind; a window is the difference of two", () => {
    const text = (minor: number, major: number) =>
      [
        "# TYPE zk_process_nodejs_gc_duration_seconds histogram",
        `zk_process_nodejs_gc_duration_seconds_bucket{le="0.001",kind="minor"} ${minor - 1}`,
        `zk_process_nodejs_gc_duration_seconds_sum{kind="minor"} ${minor * 0.002}`,
        `zk_process_nodejs_gc_duration_seconds_count{kind="minor"} ${minor}`,
        `zk_process_nodejs_gc_duration_seconds_sum{kind="incremental"} 0.0125`,
        `zk_process_nodejs_gc_duration_seconds_count{kind="incremental"} 7`,
        `zk_process_nodejs_gc_duration_seconds_sum{kind="major"} ${major * 0.008}`,
        `zk_process_nodejs_gc_duration_seconds_count{kind="major"} ${major}`,
        'zk_process_nodejs_gc_duration_seconds_count{kind="weakcb"} 99',
      ].join("\n");
    const before = parseGc(text(10, 1));
    expect(before.scavenges).toBe(10);
    expect(before.scavengeMs).toBeCloseTo(20);
    expect(before.markCompacts).toBe(1);
    expect(before.markCompactMs).toBeCloseTo(8);
    expect(before.incrementalMs).toBeCloseTo(12.5);
    const window = gcBetween(before, parseGc(text(25, 3)));
    expect(window).toMatchObject({ scavenges: 15, markCompacts: 2, incrementalMs: 0 });
    expect(gcSummary(window)).toBe("46 ms, 2 MC");
    expect(gcSummary(undefined)).toBe("-");
  });
});

describe("raw generator", () => {
  it("runs create-sequential+delete against a real server without an error", async () => {
    const metricsPort = await freePort();
    const server = await startEnsemble(1, `metricsProvider.httpPort=${metricsPort}`);
    try {
      const zk = await ZkClient.connect("127.0.0.1", server.clientPorts[0]!);
      const create = (path: string) =>
        zk.request({
          op: "create",
          path,
          data: new Uint8Array(0),
          acl: openAclUnsafe,
          flags: 0,
          ttl: -1,
        });
      await create("/bench");
      for (let s = 0; s < 2; s++) await create(`/bench/c${s}`);
      await zk.close();
      const m = await runRawCell(
        { clientPorts: server.clientPorts, pids: [process.pid], metricsPorts: [metricsPort] },
        {
          workload: "createDelete",
          sessions: 2,
          inflight: 4,
          warmupSeconds: 0.2,
          seconds: 1,
          workers: 2,
        },
        () => {},
      );
      expect(m.errorCodes).toEqual({});
      expect(m.ops).toBeGreaterThan(50);
      expect(m.serverCpuMicros[0]).toBeGreaterThan(0);
      // The server's metrics port answered both reads (its collections are this process's).
      expect(m.serverGc).toHaveLength(1);
      expect(m.serverGc[0]?.scavenges).toBeGreaterThanOrEqual(0);
    } finally {
      await server.stop();
    }
  });
});
