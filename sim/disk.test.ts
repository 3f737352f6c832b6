import { describe, expect, it } from "vitest";
import type { Txn } from "../core/txn.ts";
import { sessionId, zxid } from "../core/types.ts";
import { SimDisk } from "./disk.ts";
import type { DiskFaults } from "./disk.ts";
import { runSimulation, swarmOptions } from "./run.ts";
import { Rng } from "./rng.ts";

const txn = (n: number): Txn => ({
  zxid: zxid(BigInt(n)),
  sessionId: sessionId(7n),
  cxid: n,
  timeMs: 1000 + n,
  body: {
    type: "setData",
    path: `/k${n}`,
    data: new TextEncoder().encode(`value ${n}`),
    version: -1,
  },
});

const noDamage: DiskFaults = {
  fsyncMeanMs: 1,
  slowFsyncChance: 0,
  partialFlushChance: 1,
  tornWriteChance: 0,
  bitFlipChance: 0,
  misdirectedWriteChance: 0,
  outOfOrderFlushChance: 0,
};

/**
 * Two durable records, then a crash with an unsynced persist of three in flight, on disks with
 * `faults`, until one crash damages the next record; returns what it said and what recovery read.
 */
function damagedRecovery(faults: Partial<DiskFaults>) {
  for (let seed = 0; seed < 50; seed++) {
    const disk = new SimDisk(new Rng(`disk-test-${seed}`), { ...noDamage, ...faults });
    disk.submit(1, [{ kind: "append", txns: [txn(1), txn(2)] }]);
    disk.durableAt(0);
    disk.completeDue(0);
    disk.submit(2, [{ kind: "append", txns: [txn(3), txn(4), txn(5)] }]);
    const damage = disk.crash();
    if (damage === undefined) continue;
    const first = disk.recover().log.map((t) => Number(t.zxid));
    // The damage was cut off by that recovery: the next one reads the same, and appends go on.
    disk.submit(3, [{ kind: "append", txns: [txn(3)] }]);
    disk.durableAt(0);
    disk.completeDue(0);
    const second = disk.recover().log.map((t) => Number(t.zxid));
    return { damage, first, second, damaged: disk.tornRecords };
  }
  throw new Error("no crash damaged a record");
}

describe("sim: the harsher disk's damage is caught by recovery's checksum", () => {
  it("a torn record", () => {
    expect(damagedRecovery({ tornWriteChance: 1 })).toEqual({
      damage: "torn record",
      first: [1, 2],
      second: [1, 2, 3],
      damaged: 1,
    });
  });

  it("a whole record with a bit flipped, and whole records flushed after it", () => {
    const { damage, first, second } = damagedRecovery({
      bitFlipChance: 1,
      outOfOrderFlushChance: 1,
    });
    expect(damage).toMatch(/^bit \d+ of a record flipped, 2 whole records after it$/);
    expect([first, second]).toEqual([
      [1, 2],
      [1, 2, 3],
    ]); // 4 and 5 were valid, but never durable
  });

  it("a misdirected write over a record", () => {
    const { damage, first } = damagedRecovery({ misdirectedWriteChance: 1 });
    expect([damage, first]).toEqual(["misdirected write over a record", [1, 2]]);
  });

  it("fsynced records are never touched: with no unsynced write a crash damages nothing", () => {
    const disk = new SimDisk(new Rng("disk-test"), {
      ...noDamage,
      tornWriteChance: 1,
      bitFlipChance: 1,
    });
    disk.submit(1, [{ kind: "append", txns: [txn(1)] }]);
    disk.durableAt(0);
    disk.completeDue(0);
    expect(disk.crash()).toBeUndefined();
    expect(disk.recover().log.map((t) => Number(t.zxid))).toEqual([1]);
  });
});

describe("sim: aimed crashes and the fault spans", () => {
  it("crashes land in their windows, and every crash shows as a server down in the spans", () => {
    const result = runSimulation(swarmOptions(19, { safetyMs: 20_000 }));
    expect(result.ok).toBe(true);
    for (const window of ["write-fsync", "recovery"])
      expect(result.faults[`crash:${window}`]).toBeGreaterThan(0);
    const down = result.faultSpans.filter((s) => s.kind === "crash");
    const labels = down.map((s) => s.label).join("\n");
    expect(labels).toMatch(/crashed between write and fsync/);
    expect(labels).toMatch(/crashed during recovery/);
    expect(labels).toMatch(/crashed between fsync and its step/);
    for (const fault of result.schedule) {
      if (fault.kind !== "crash") continue;
      for (const node of fault.nodes) {
        const atUs = Math.round(fault.atMs * 1000);
        expect(
          down.some((s) => s.lane === `n${node}` && s.startUs <= atUs && s.endUs >= atUs),
          `n${node} at ${atUs}`,
        ).toBe(true);
      }
    }
    expect(result.faultSpans.filter((s) => s.kind === "clock").length).toBe(result.faults.clock);
  });

  it("disk stalls are drawn, often end in a power loss, and show on their servers' lanes", () => {
    const result = runSimulation(swarmOptions(1, { safetyMs: 20_000 }));
    expect(result.ok).toBe(true);
    const stalls = result.schedule.filter((f) => f.kind === "stall");
    expect(stalls.length).toBe(8);
    const spans = result.faultSpans;
    const stalled = spans.filter((s) => s.label.endsWith("disk stalled"));
    expect(stalled.length).toBe(stalls.reduce((n, f) => n + f.nodes.length, 0));
    expect(
      spans.filter((s) => s.label.endsWith("(crashed in a disk stall)")).length,
    ).toBeGreaterThan(0);
    // The crash in a stall damaged what it interrupted, and the lane says how.
    expect(
      spans.filter((s) => / (torn record|misdirected write over a record)$/.test(s.label)),
    ).not.toHaveLength(0);
  });
});
