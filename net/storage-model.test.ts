// The server's files mean what the driver kit says a durable write means (applyDiskWrite): any
// sequence of appends, truncations, epoch changes and snapshots, once durable, recovers from disk
// to what recoverDiskImage gives for the same sequence. One meaning of a DiskWrite, checked against
// the one implementation that is not a model.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { utf8 } from "../core/bytes.ts";
import { Database } from "../core/database.ts";
import type { DiskWrite } from "../core/replica/index.ts";
import { applyDiskWrite, emptyDiskImage, recoverDiskImage } from "../core/replica/index.ts";
import { encodeSnapshot } from "../core/storage.ts";
import type { Txn } from "../core/txn.ts";
import type { Zxid } from "../core/types.ts";
import { makeZxid, openAclUnsafe, sessionId } from "../core/types.ts";
import { FileStorage } from "./storage.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

type Step =
  | { kind: "append"; count: number }
  | { kind: "truncate"; back: number }
  | { kind: "epochs"; accepted: number; current: number }
  | { kind: "snapshot"; replaceLog: boolean };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant("append" as const),
      count: fc.integer({ min: 1, max: 5 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("truncate" as const),
      back: fc.integer({ min: 0, max: 4 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("epochs" as const),
      accepted: fc.nat(9),
      current: fc.nat(9),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("snapshot" as const), replaceLog: fc.boolean() }),
  },
);

const txn = (zxid: Zxid): Txn => ({
  zxid,
  sessionId: sessionId(1n),
  cxid: Number(zxid & 0xffffn),
  timeMs: 1000,
  body: {
    type: "create",
    path: `/n${zxid}`,
    data: utf8("x"),
    acl: openAclUnsafe,
    ephemeralOwner: 0n,
    parentCversion: 0,
  },
});

/** A snapshot standing at `zxid` (its contents do not matter to storage, its zxid does). */
function snapshotAt(zxid: Zxid): Uint8Array {
  const db = new Database({ extendedTypesEnabled: false });
  db.lastZxid = zxid;
  return encodeSnapshot(db);
}

/**
 * Turns steps into writes the core could issue: zxids increase, truncation keeps what was
 * snapshotted.
 */
function writesOf(steps: readonly Step[]): DiskWrite[] {
  const writes: DiskWrite[] = [];
  let counter = 0;
  let logged: Zxid[] = [];
  let floor = makeZxid(1, 0); // nothing at or below the last snapshot is truncated
  for (const step of steps) {
    if (step.kind === "append") {
      const txns = Array.from({ length: step.count }, () => txn(makeZxid(1, ++counter)));
      logged.push(...txns.map((t) => t.zxid));
      writes.push({ kind: "append", txns });
    } else if (step.kind === "truncate") {
      const keep = Math.max(0, logged.length - step.back);
      const to = keep === 0 ? floor : logged[keep - 1]!;
      if (to < floor) continue;
      logged = logged.slice(0, keep);
      writes.push({ kind: "truncate", zxid: to });
    } else if (step.kind === "epochs") {
      writes.push({ kind: "epochs", acceptedEpoch: step.accepted, currentEpoch: step.current });
    } else {
      const at = logged.length === 0 ? floor : logged[logged.length - 1]!;
      if (step.replaceLog) logged = [];
      floor = at;
      writes.push({
        kind: "snapshot",
        zxid: at,
        bytes: snapshotAt(at),
        replaceLog: step.replaceLog,
      });
    }
  }
  return writes;
}

async function persistAll(dir: string, writes: readonly DiskWrite[]): Promise<void> {
  let durable = 0;
  const { storage } = FileStorage.open({
    dataDir: dir,
    dataLogDir: join(dir, "log"),
    retainSnapshots: 3,
    onDurable: (id) => {
      durable = id; // every persist up to it
    },
  });
  writes.forEach((write, i) => storage.enqueue(i + 1, [write]));
  for (let i = 0; i < 500 && durable < writes.length; i++)
    await new Promise((r) => setTimeout(r, 2));
  expect(durable).toBe(writes.length);
  storage.close();
}

describe("net: file storage means what the driver kit says a durable write means", () => {
  it("recovers every sequence of durable writes as recoverDiskImage does", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 25 }), async (steps) => {
        const writes = writesOf(steps);
        const dir = mkdtempSync(join(tmpdir(), "zkstore-model-"));
        dirs.push(dir);
        await persistAll(dir, writes);
        const image = emptyDiskImage();
        for (const write of writes) applyDiskWrite(image, write);
        const expected = recoverDiskImage(image);
        const { durable } = FileStorage.open({
          dataDir: dir,
          dataLogDir: join(dir, "log"),
          retainSnapshots: 3,
          onDurable: () => {},
        });
        expect(durable.acceptedEpoch).toBe(expected.acceptedEpoch);
        expect(durable.currentEpoch).toBe(expected.currentEpoch);
        expect(durable.snapshot === undefined).toBe(expected.snapshot === undefined);
        if (expected.snapshot !== undefined) expect(durable.snapshot).toEqual(expected.snapshot);
        const base = image.snapshot?.zxid ?? 0n;
        expect(durable.log.filter((t) => t.zxid > base).map((t) => t.zxid)).toEqual(
          expected.log.map((t) => t.zxid),
        );
      }),
      { numRuns: 40 },
    );
  }, 120_000);
});
