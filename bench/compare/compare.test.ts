// The comparison harness's own pieces: the histogram's buckets and percentiles, the pre-encoded
// requests (decoded back by the server's own decoder after the generator's patches), and one short
// cell of the raw generator against a real standalone server, which must see no errors.

import { describe, expect, it } from "vitest";
import { openAclUnsafe } from "../../core/types.ts";
import { decodeClientFrame } from "../../net/wire.ts";
import { ZkClient } from "../../net/zk-client.ts";
import { startEnsemble } from "../../net/test/ensemble.ts";
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

describe("raw generator", () => {
  it("runs create-sequential+delete against a real server without an error", async () => {
    const server = await startEnsemble(1);
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
        { clientPorts: server.clientPorts, pids: [process.pid] },
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
    } finally {
      await server.stop();
    }
  });
});
