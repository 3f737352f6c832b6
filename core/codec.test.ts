import { describe, expect, it } from "vitest";
import { ByteReader, ByteSlab, ByteWriter, crc32, DecodeError } from "./codec.ts";
import { decodeLog, encodeLogRecord } from "./storage.ts";
import { makeZxid, sessionId } from "./types.ts";

describe("codec", () => {
  it("reads int53 without BigInts over the whole safe range, refuses what is outside", () => {
    const values = [
      0,
      1,
      -1,
      2 ** 32,
      -(2 ** 32) - 1,
      1_700_000_000_123,
      Number.MAX_SAFE_INTEGER,
      Number.MIN_SAFE_INTEGER,
    ];
    const w = new ByteWriter();
    for (const v of values) w.int53(v);
    const r = new ByteReader(w.finish());
    expect(values.map(() => r.int53())).toEqual(values);
    for (const outside of [2n ** 53n, -(2n ** 53n), 2n ** 63n - 1n, -(2n ** 63n)]) {
      expect(() => new ByteReader(new ByteWriter().i64(outside).finish()).int53()).toThrow(
        DecodeError,
      );
    }
  });

  it("computes CRC-32 (IEEE) for every length and alignment", () => {
    expect(crc32(new TextEncoder().encode("123456789"))).toBe(0xcbf43926);
    // Against the bit-at-a-time definition, over lengths that end inside and on 8-byte steps.
    const reference = (bytes: Uint8Array): number => {
      let c = 0xffffffff;
      for (const byte of bytes) {
        c ^= byte;
        for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      }
      return (c ^ 0xffffffff) >>> 0;
    };
    const bytes = Uint8Array.from({ length: 100 }, (_, i) => (i * 37 + 11) & 0xff);
    for (let start = 0; start < 9; start++) {
      for (let end = start; end <= bytes.length; end += 7) {
        expect(crc32(bytes.subarray(start, end))).toBe(reference(bytes.subarray(start, end)));
      }
    }
  });

  it("copies byte strings into shared slabs, each its own view, unaffected by the input", () => {
    const w = new ByteWriter();
    for (let i = 0; i < 3; i++) w.bytes(Uint8Array.of(i, i + 1, i + 2));
    const input = w.finish();
    const r = new ByteReader(input, new ByteSlab());
    const read = [r.bytes(), r.bytes(), r.bytes()];
    input.fill(0);
    expect(read.map((b) => [...b])).toEqual([
      [0, 1, 2],
      [1, 2, 3],
      [2, 3, 4],
    ]);
    expect(read[0]!.buffer).toBe(read[2]!.buffer);
  });
});

describe("storage encoders", () => {
  it("count UTF-8 bytes as TextEncoder writes them", async () => {
    const { utf8, utf8Length } = await import("./bytes.ts");
    for (const text of [
      "",
      "abc",
      "é",
      "日本",
      "😀x",
      "\ud800lone",
      "end\udc00",
      "\ud83d\ude00\ud83d",
    ]) {
      expect(utf8Length(text)).toBe(utf8(text).length);
    }
  });

  it("decodes the open ACL through its shortcut and every other ACL in full", async () => {
    const { decodeTxn, encodeTxn } = await import("./storage.ts");
    const { openAclUnsafe } = await import("./types.ts");
    const id = (scheme: string, name: string) => ({ scheme, id: name });
    const acls = [
      openAclUnsafe,
      [{ perms: 1, id: id("world", "anyone") }],
      [{ perms: 31, id: id("world", "anyones") }],
      [{ perms: 31, id: id("worlds", "anyone") }],
      [
        { perms: 31, id: id("world", "anyone") },
        { perms: 1, id: id("ip", "10.0.0.1") },
      ],
      [
        { perms: 1, id: id("ip", "10.0.0.1") },
        { perms: 31, id: id("world", "anyone") },
      ],
      [],
    ];
    for (const acl of acls) {
      const txn = {
        zxid: makeZxid(1, 2),
        sessionId: sessionId(3n),
        cxid: 4,
        timeMs: 5,
        body: {
          type: "create" as const,
          path: "/a",
          data: new Uint8Array([1]),
          acl,
          ephemeralOwner: 0n,
          parentCversion: 1,
        },
      };
      const decoded = decodeTxn(encodeTxn(txn));
      expect(decoded.body).toEqual(txn.body);
      // The shortcut's ACL is shared by every record: nobody may change it.
      if (decoded.body.type === "create" && acl === openAclUnsafe) {
        expect(Object.isFrozen(decoded.body.acl) && Object.isFrozen(decoded.body.acl[0])).toBe(
          true,
        );
      }
    }
  });

  it("size a snapshot exactly (no copy), round-trip non-ASCII paths and ACLs", async () => {
    const { StandaloneServer } = await import("./standalone.ts");
    const { decodeSnapshot, encodeSnapshot, decodeLog, encodeLogRecord } = await import(
      "./storage.ts"
    );
    const { openAclUnsafe } = await import("./types.ts");
    const server = new StandaloneServer();
    const ctx = { sessionId: server.createSession(10_000, 0).sessionId, cxid: 0, authIds: [] };
    const acls = [
      openAclUnsafe,
      [
        { perms: 1, id: { scheme: "world", id: "anyone" } },
        { perms: 31, id: { scheme: "ip", id: "10.0.0.1" } },
      ],
    ];
    // Paths forbid surrogates (see utf8Length's test).
    const names = ["a", "é", "日本", "Ωx", "ÿ"];
    for (const [i, name] of names.entries()) {
      const reply = server.submit(
        ctx,
        {
          op: "create",
          path: `/${name}`,
          data: new TextEncoder().encode(name),
          acl: acls[i % 2]!,
          flags: 0,
          ttl: -1,
        },
        i,
      );
      expect(reply.err).toBe(0);
    }
    const bytes = encodeSnapshot(server.db);
    expect(bytes.buffer.byteLength).toBe(bytes.length);
    const restored = decodeSnapshot(bytes, { extendedTypesEnabled: false });
    expect(restored.tree.digest()).toBe(server.db.tree.digest());
    expect([...restored.tree.nodes].map(([p]) => p)).toEqual(
      [...server.db.tree.nodes].map(([p]) => p),
    );
    const txn = {
      zxid: server.db.lastZxid,
      sessionId: ctx.sessionId,
      cxid: 1,
      timeMs: 5,
      body: { type: "setData" as const, path: "/日本", data: new Uint8Array(300), version: 1 },
    };
    expect(decodeLog(encodeLogRecord(txn)).txns).toEqual([txn]);
  });

  it("reads zeros after a log's records as its end; a torn record starting 0 0 0 as damage", () => {
    const txn = {
      zxid: makeZxid(1, 1),
      sessionId: sessionId(1n),
      cxid: 1,
      timeMs: 5,
      body: { type: "delete" as const, path: "/a" },
    };
    const record = encodeLogRecord(txn);
    const withZeros = new Uint8Array(record.length + 4096);
    withZeros.set(record);
    expect(decodeLog(withZeros)).toEqual({
      txns: [txn],
      validBytes: record.length,
      tornTail: false,
    });
    // A record cut after the high bytes of its length: zeros, but shorter than a header.
    const torn = new Uint8Array(record.length + 3);
    torn.set(record);
    expect(decodeLog(torn)).toMatchObject({ validBytes: record.length, tornTail: true });
    // Zeros with anything after them are damage, not the end.
    withZeros[withZeros.length - 1] = 7;
    expect(decodeLog(withZeros)).toMatchObject({ validBytes: record.length, tornTail: true });
  });
});
