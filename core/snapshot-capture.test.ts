// A snapshot encoded a piece at a time from a capture is, byte for byte, the snapshot of the
// database as it was when captured, however the tree changed between the pieces.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { concatBytes, utf8 } from "./bytes.ts";
import { Database } from "./database.ts";
import { decodeSnapshot, encodeSnapshot, SnapshotEncoder } from "./storage.ts";
import type { TxnBody } from "./txn.ts";
import { openAclUnsafe, readAclUnsafe, sessionId, zxid } from "./types.ts";

const names = ["/a", "/b", "/a/x", "/a/y", "/b/x", "/a/x/deep"];

/** A txn that applies to `db` as it is: the step's draw picks among what is possible. */
function nextTxn(db: Database, draw: number, value: number): TxnBody | undefined {
  const path = names[draw % names.length]!;
  const node = db.tree.get(path);
  const parent = db.tree.get(path.slice(0, path.lastIndexOf("/")) || "/");
  const data = utf8(`v${value}`);
  if (node === undefined) {
    if (parent === undefined) return undefined;
    const ephemeralOwner = value % 5 === 0 ? 7n : 0n;
    return { type: "create", path, data, acl: openAclUnsafe, ephemeralOwner, parentCversion: 0 };
  }
  switch (value % 4) {
    case 0:
      if (node.children !== null && node.children.size > 0) return undefined;
      return { type: "delete", path };
    case 1:
      return { type: "setACL", path, acl: readAclUnsafe, aversion: node.aversion + 1 };
    default:
      return { type: "setData", path, data: value % 7 === 0 ? null : data, version: value };
  }
}

class Applier {
  private next = 1n;
  constructor(readonly db: Database) {}
  apply(body: TxnBody | undefined): void {
    if (body === undefined) return;
    const at = this.next++;
    const txn = { zxid: zxid(at), sessionId: sessionId(7n), cxid: 1, timeMs: Number(at), body };
    this.db.applyTxn(txn);
  }
}

describe("core: snapshots from a tree capture", () => {
  it("encodes the database as it was when captured, while it changes", () => {
    const step = fc.tuple(fc.nat(), fc.nat(1000));
    fc.assert(
      fc.property(
        fc.array(step, { maxLength: 40 }),
        fc.array(fc.array(step, { maxLength: 6 }), { maxLength: 12 }),
        fc.integer({ min: 1, max: 200 }),
        (before, between, pieceBytes) => {
          const db = new Database({ extendedTypesEnabled: false });
          db.sessions.set(sessionId(7n), 4000);
          const applier = new Applier(db);
          for (const [draw, value] of before) applier.apply(nextTxn(db, draw, value));
          const expected = encodeSnapshot(db);
          const encoder = new SnapshotEncoder(db);
          const pieces: Uint8Array[] = [];
          let round = 0;
          while (!encoder.done) {
            pieces.push(encoder.nextPiece(pieceBytes).slice()); // its buffer is reused
            for (const [draw, value] of between[round++] ?? []) {
              applier.apply(nextTxn(db, draw, value));
            }
          }
          expect(concatBytes([encoder.header(), ...pieces])).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("stops keeping copies once the last piece is out or the encoder gives up", () => {
    const db = new Database({ extendedTypesEnabled: false });
    const applier = new Applier(db);
    applier.apply(nextTxn(db, 0, 2)); // create /a
    const finished = new SnapshotEncoder(db);
    const abandoned = new SnapshotEncoder(db);
    applier.apply({ type: "setData", path: "/a", data: utf8("x"), version: 1 });
    expect(finished.changedSince).toBe(1);
    expect(abandoned.changedSince).toBe(1);
    while (!finished.done) finished.nextPiece(1 << 20);
    abandoned.release();
    applier.apply({ type: "setData", path: "/a", data: utf8("y"), version: 2 });
    applier.apply({ type: "delete", path: "/a" });
    expect(finished.changedSince).toBe(1);
    expect(abandoned.changedSince).toBe(1);
    const open = new SnapshotEncoder(db);
    applier.apply(nextTxn(db, 0, 2));
    applier.apply({ type: "delete", path: "/a" });
    expect(open.changedSince).toBe(1); // the root's change; a node made after it is not kept
  });

  it("is a snapshot that restores the captured tree", () => {
    const db = new Database({ extendedTypesEnabled: false });
    const applier = new Applier(db);
    for (let i = 0; i < 30; i++) applier.apply(nextTxn(db, i, i * 3 + 2));
    const captured = encodeSnapshot(db);
    const encoder = new SnapshotEncoder(db);
    const pieces = [encoder.nextPiece(64).slice()];
    for (let i = 0; i < 30; i++) applier.apply(nextTxn(db, i * 5, i));
    while (!encoder.done) pieces.push(encoder.nextPiece(64).slice());
    const restored = decodeSnapshot(concatBytes([encoder.header(), ...pieces]), {
      extendedTypesEnabled: false,
    });
    expect(encodeSnapshot(restored)).toEqual(captured);
    expect(restored.lastZxid).toBe(encoder.zxid);
  });

  it("holds its slots through churn that would sweep them, which resumes once released", () => {
    const db = new Database({ extendedTypesEnabled: false });
    const applier = new Applier(db);
    const churn = (rounds: number, path: string) => {
      for (let i = 0; i < rounds; i++) {
        const data = utf8(`c${i}`);
        applier.apply({
          type: "create",
          path,
          data,
          acl: openAclUnsafe,
          ephemeralOwner: 0n,
          parentCversion: 0,
        });
        applier.apply({ type: "delete", path });
      }
    };
    for (let i = 0; i < 20; i++) applier.apply(nextTxn(db, i, i * 3 + 2));
    churn(3000, "/lock"); // swept along the way: slots stay near the node count
    expect(db.tree.nodes.slotCount).toBeLessThan(2 * db.tree.size + 1100);
    const expected = encodeSnapshot(db);
    const encoder = new SnapshotEncoder(db);
    const pieces = [encoder.nextPiece(40).slice()];
    churn(3000, "/lock");
    for (let i = 0; i < 20; i++) applier.apply(nextTxn(db, i * 7, i));
    expect(db.tree.nodes.slotCount).toBeGreaterThan(3000); // held: not swept
    while (!encoder.done) pieces.push(encoder.nextPiece(40).slice());
    expect(concatBytes([encoder.header(), ...pieces])).toEqual(expected);
    // Released: the sweep resumes, a few slots per change. Nodes made after the dead slots are
    // moved down past them, leaving stale copies behind; a walk over the tree or a capture in
    // the middle of it sees every node once.
    for (let i = 0; i < 300; i++) {
      const path = `/late${i}`;
      applier.apply({
        type: "create",
        path,
        data: null,
        acl: openAclUnsafe,
        ephemeralOwner: 0n,
        parentCversion: 0,
      });
    }
    // Step until the sweep has moved some of them down (its gap then holds their stale copies).
    const staleCopies = () => {
      const { start, end } = db.tree.nodes.skipped;
      let stale = 0;
      const nodes = db.tree.nodes;
      for (let slot = start; slot < end; slot++) {
        const value = nodes.slotValue(slot);
        if (value !== undefined && nodes.get(nodes.slotPath(slot)) === value) stale++;
      }
      return stale;
    };
    for (let i = 0; i < 200 && staleCopies() === 0; i++) churn(1, "/lock");
    expect(staleCopies()).toBeGreaterThan(0);
    const walked = [...db.tree.nodes].map(([path]) => path);
    expect(new Set(walked).size).toBe(walked.length);
    expect(walked.length).toBe(db.tree.size);
    const midSweep = encodeSnapshot(db);
    const during = new SnapshotEncoder(db);
    const more = [during.nextPiece(40).slice()];
    churn(50, "/lock");
    while (!during.done) more.push(during.nextPiece(40).slice());
    expect(concatBytes([during.header(), ...more])).toEqual(midSweep);
    churn(100, "/lock");
    expect(db.tree.nodes.skipped.end).toBe(0);
    expect(db.tree.nodes.slotCount).toBeLessThan(2 * db.tree.size + 1100);
  });
});
