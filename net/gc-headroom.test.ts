import { describe, expect, it } from "vitest";
import { growingPercentFor } from "./gc-headroom.ts";

const mib = 1024 * 1024;

describe("net: heap headroom", () => {
  it("raises the growing factor only while the live heap is small next to the headroom", () => {
    expect(growingPercentFor(16 * mib, 128 * mib)).toBe(800); // next limit 16 + 128 MiB
    expect(growingPercentFor(1 * mib, 128 * mib)).toBe(900); // never past ten times
    expect(growingPercentFor(43 * mib, 128 * mib)).toBe(0); // V8's own factor gives as much
    expect(growingPercentFor(600 * mib, 128 * mib)).toBe(0);
    expect(growingPercentFor(16 * mib, 0)).toBe(0); // turned off
  });
});
