import { describe, expect, it } from "vitest";
import { findLongLines, isCheckedFile } from "./check-lines.ts";

describe("line width checker", () => {
  it("finds a line over 100 columns and accepts one of exactly 100", () => {
    const text = ["const short = 1;", "x".repeat(100), `const s = "${"y".repeat(91)}";`].join("\n");
    expect(findLongLines("a.ts", text)).toEqual([{ file: "a.ts", line: 3, columns: 104 }]);
  });

  it("counts characters, not UTF-16 units, and accepts a line that is only a URL", () => {
    const url = `https://example.org/${"p".repeat(100)}`;
    const text = ["é".repeat(100), "🙂".repeat(60), `// ${url}`, `  * ${url}`, url].join("\n");
    expect(findLongLines("b.ts", text)).toEqual([]);
    expect(findLongLines("c.ts", `// see ${url}`)).toHaveLength(1);
  });

  it("checks .ts and .mjs under the source folders, not test data", () => {
    expect(isCheckedFile("core/tree.ts")).toBe(true);
    expect(isCheckedFile("net/exit-with-parent.mjs")).toBe(true);
    expect(isCheckedFile("core/replica/testdata/divergent-logs.txt")).toBe(false);
    expect(isCheckedFile("core/replica/testdata/fixture.ts")).toBe(false);
    expect(isCheckedFile("docs/notes.ts")).toBe(false);
  });
});
