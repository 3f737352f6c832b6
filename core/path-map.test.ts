import { describe, expect, it } from "vitest";
import { PathMap } from "./path-map.ts";

describe("core: the path map", () => {
  it("lets go of a deleted or replaced value at once unless a reader holds the slots", () => {
    const map = new PathMap<{ name: string }>();
    map.set("/a", { name: "a" });
    map.set("/b", { name: "b" });
    map.delete("/a");
    expect(map.slotValue(0)).toBeUndefined(); // not kept alive until a sweep comes by
    expect(map.isLive(0)).toBe(false);
    map.set("/b", { name: "b2" });
    expect(map.slotValue(1)).toBeUndefined();
    expect([...map].map(([path, v]) => `${path}=${v.name}`)).toEqual(["/b=b2"]);

    map.hold(); // a snapshot walking slot numbers still needs what they held at its moment
    const c = { name: "c" };
    map.set("/c", c);
    const slot = map.slotCount - 1;
    map.delete("/c");
    expect(map.slotValue(slot)).toBe(c);
    expect(map.slotPath(slot)).toBe("/c");
    expect(map.isLive(slot)).toBe(false);
    map.release();
    expect(map.get("/b")?.name).toBe("b2");
    expect(map.size).toBe(1);
  });

  it("keeps lookups right while a sweep moves live slots down", () => {
    const map = new PathMap<number>();
    for (let i = 0; i < 3000; i++) map.set(`/n${i}`, i);
    for (let i = 0; i < 3000; i += 2) map.delete(`/n${i}`);
    for (let round = 0; round < 100; round++) {
      map.set("/churn", round);
      map.delete("/churn");
      for (let i = 1; i < 3000; i += 2) if (map.get(`/n${i}`) !== i) throw new Error(`/n${i}`);
    }
    expect(map.slotCount).toBeLessThan(2 * map.size + 1100);
    expect([...map].map(([, v]) => v)).toEqual(Array.from({ length: 1500 }, (_, i) => 2 * i + 1));
  });
});
