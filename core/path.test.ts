import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { childName, parentPath, pathProblem } from "./path.ts";

describe("path validation (ZooKeeper PathUtils)", () => {
  it.each([
    "/",
    "/a",
    "/a/b",
    "/a.b",
    "/..a",
    "/a..",
    "/.a/b.",
    "/zookeeper",
    "/a b",
    "/ü",
    "/a-_:@",
  ])("accepts %j", (path) => expect(pathProblem(path)).toBeUndefined());

  it.each([
    ["", "length"],
    ["a", "start with /"],
    ["a/b", "start with /"],
    ["/a/", "end with /"],
    ["//", "end with /"],
    ["/a//b", "empty node name"],
    ["/.", "relative"],
    ["/..", "relative"],
    ["/a/./b", "relative"],
    ["/a/../b", "relative"],
    ["/a\u0000", "null character"],
    ["/a\u0001", "invalid character"],
    ["/a\u001f", "invalid character"],
    ["/a\u007f", "invalid character"],
    ["/a\u009f", "invalid character"],
    ["/a\ud800", "invalid character"],
    ["/a\uf8ff", "invalid character"],
    ["/a\ufff0", "invalid character"],
    ["/a\uffff", "invalid character"],
  ])("rejects %j (%s)", (path, reason) => {
    expect(pathProblem(path)).toContain(reason);
  });

  it("parent and child names split at the last slash", () => {
    expect(parentPath("/a")).toBe("/");
    expect(parentPath("/a/b/c")).toBe("/a/b");
    expect(childName("/a/b/c")).toBe("c");
    fc.assert(
      fc.property(
        fc.array(fc.stringMatching(/^[a-z]{1,4}$/), { minLength: 1, maxLength: 5 }),
        (segments) => {
          const path = "/" + segments.join("/");
          expect(pathProblem(path)).toBeUndefined();
          const parent = parentPath(path);
          expect((parent === "/" ? "" : parent) + "/" + childName(path)).toBe(path);
        },
      ),
    );
  });
});
