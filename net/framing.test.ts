import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { frame, FrameError, Framer } from "./framing.ts";

describe("net: framing", () => {
  it("reassembles frames fed one byte at a time, or in any split", () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 50 }), { maxLength: 10 }),
        fc.array(fc.integer({ min: 1, max: 17 })),
        (payloads, cuts) => {
          const stream = new Uint8Array(payloads.reduce((n, p) => n + p.length + 4, 0));
          let offset = 0;
          for (const p of payloads) {
            stream.set(frame(p), offset);
            offset += p.length + 4;
          }
          for (const sizes of [[1], cuts.length > 0 ? cuts : [5]]) {
            const framer = new Framer(1000);
            const out: Uint8Array[] = [];
            let at = 0;
            for (let i = 0; at < stream.length; i++) {
              const size = sizes[i % sizes.length]!;
              out.push(...framer.push(stream.subarray(at, at + size)));
              at += size;
            }
            expect(out).toEqual(payloads);
            expect(framer.pendingBytes).toBe(0);
          }
        },
      ),
    );
  });

  it("refuses negative and oversized lengths", () => {
    expect(() => new Framer(10).push(new Uint8Array([0xff, 0xff, 0xff, 0xff]))).toThrow(FrameError);
    expect(() => new Framer(10).push(new Uint8Array([0, 0, 0, 11]))).toThrow(FrameError);
    expect(new Framer(10).push(new Uint8Array([0, 0, 0, 10]))).toEqual([]);
  });
});
