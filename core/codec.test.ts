import { describe, expect, it } from "vitest";
import { ByteReader, ByteSlab, ByteWriter, crc32, DecodeError } from "./codec.ts";

describe("codec", () => {
  it("reads int53 without BigInts, over the whole safe range, and refuses what is outside it", () => {
    const values = [0, 1, -1, 2 ** 32, -(2 ** 32) - 1, 1_700_000_000_123, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER];
    const w = new ByteWriter();
    for (const v of values) w.int53(v);
    const r = new ByteReader(w.finish());
    expect(values.map(() => r.int53())).toEqual(values);
    for (const outside of [2n ** 53n, -(2n ** 53n), 2n ** 63n - 1n, -(2n ** 63n)]) {
      expect(() => new ByteReader(new ByteWriter().i64(outside).finish()).int53()).toThrow(DecodeError);
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
    expect(read.map((b) => [...b])).toEqual([[0, 1, 2], [1, 2, 3], [2, 3, 4]]);
    expect(read[0]!.buffer).toBe(read[2]!.buffer);
  });
});
