// Null znode data (jute length -1) is kept apart from empty data, as ZooKeeper keeps it: through
// create, setData, multi, reads, the digest, log records and snapshots.

import { describe, expect, it } from "vitest";
import { utf8 } from "./bytes.ts";
import { ByteReader, ByteWriter } from "./codec.ts";
import { decodeLog, decodeSnapshot, encodeLogRecord, encodeSnapshot } from "./storage.ts";
import { replay } from "./standalone.ts";
import { Harness } from "./test/helpers.ts";
import { openAclUnsafe } from "./types.ts";
import type { Request } from "./requests.ts";

const create = (path: string, data: Uint8Array | null): Request => ({
  op: "create2",
  path,
  data,
  acl: openAclUnsafe,
  flags: 0,
  ttl: -1,
});
const getData = (path: string): Request => ({ op: "getData", path, watch: false });
const options = { extendedTypesEnabled: false };

/** A server with /null (created null), /empty, /set-null (set to null) and /multi (in a multi). */
function populated(): Harness {
  const h = new Harness();
  expect(h.send(create("/null", null)).stat!.dataLength).toBe(0);
  h.send(create("/empty", new Uint8Array(0)));
  h.send(create("/set-null", utf8("x")));
  const setNull = h.send({ op: "setData", path: "/set-null", data: null, version: -1 });
  expect(setNull.stat!.dataLength).toBe(0);
  const multi = h.send({
    op: "multi",
    ops: [
      { op: "create", path: "/multi", data: utf8("y"), acl: openAclUnsafe, flags: 0, ttl: -1 },
      { op: "setData", path: "/multi", data: null, version: 0 },
    ],
  });
  expect(multi.results!.map((r) => r.op)).toEqual(["create", "setData"]);
  return h;
}

describe("null znode data", () => {
  it("reads back as null, empty data as empty; both report dataLength 0", () => {
    const h = populated();
    for (const path of ["/null", "/set-null", "/multi"]) {
      const reply = h.send(getData(path));
      expect(reply.data).toBeNull();
      expect(reply.stat!.dataLength).toBe(0);
    }
    expect(h.send(getData("/empty")).data).toEqual(new Uint8Array(0));
    const read = h.send({ op: "multiRead", ops: [getData("/null"), getData("/empty")] as never });
    const datas = read.results!.map((r) => (r.op === "getData" ? r.data : r.op));
    expect(datas).toEqual([null, new Uint8Array(0)]);
    h.send({ op: "setData", path: "/null", data: utf8("z"), version: -1 });
    expect(h.send(getData("/null")).data).toEqual(utf8("z"));
  });

  it("the digest tells null from empty", () => {
    const nulled = new Harness();
    nulled.send(create("/a", null));
    const emptied = new Harness();
    emptied.send(create("/a", new Uint8Array(0)));
    const digest = nulled.server.db.tree.digest();
    expect(digest).not.toBe(emptied.server.db.tree.digest());
    expect(nulled.server.db.tree.recomputeDigest()).toBe(digest);
  });

  it("survives log records and replay", () => {
    const h = populated();
    const records = h.server.log.map(encodeLogRecord);
    const bytes = new Uint8Array(records.reduce((n, r) => n + r.length, 0));
    records.reduce((offset, r) => (bytes.set(r, offset), offset + r.length), 0);
    const decoded = decodeLog(bytes);
    expect(decoded.tornTail).toBe(false);
    expect(decoded.txns).toEqual(h.server.log);
    const db = replay(decoded.txns, options);
    expect(db.tree.digest()).toBe(h.server.db.tree.digest());
    expect(db.tree.get("/null")!.data).toBeNull();
    expect(db.tree.get("/empty")!.data).toEqual(new Uint8Array(0));
  });

  it("survives snapshots; a version 1 snapshot (no null data) still reads", () => {
    const h = populated();
    const restored = decodeSnapshot(encodeSnapshot(h.server.db), options);
    expect(restored.tree.digest()).toBe(h.server.db.tree.digest());
    for (const path of ["/null", "/set-null", "/multi"]) {
      expect(restored.tree.get(path)!.data).toBeNull();
    }
    expect(restored.tree.get("/empty")!.data).toEqual(new Uint8Array(0));

    const withoutNull = new Harness();
    withoutNull.send(create("/a", utf8("v")));
    const snapshot = encodeSnapshot(withoutNull.server.db);
    const versionAt = 4; // after the magic; the checksum covers the body only
    const version1 = snapshot.slice();
    new DataView(version1.buffer).setUint32(versionAt, 1);
    const digest = withoutNull.server.db.tree.digest();
    expect(decodeSnapshot(version1, options).tree.digest()).toBe(digest);
    const version3 = snapshot.slice();
    new DataView(version3.buffer).setUint32(versionAt, 3);
    expect(() => decodeSnapshot(version3, options)).toThrow(/version/);
  });

  it("the byte codec keeps null apart and never misreads a short buffer", () => {
    const w = new ByteWriter();
    const bytes = w
      .nullableBytes(null)
      .nullableBytes(new Uint8Array(0))
      .nullableBytes(utf8("ab"))
      .finish();
    const r = new ByteReader(bytes);
    const read = [r.nullableBytes(), r.nullableBytes(), r.nullableBytes()];
    expect(read).toEqual([null, new Uint8Array(0), utf8("ab")]);
    expect(() => new ByteReader(new Uint8Array([0xff, 0xff, 0xff])).nullableBytes()).toThrow();
  });
});
