// CI entry point: fails when any non-test file under core/ breaks the purity contract, or when a
// file outside core/ reaches past core/replica's door (its index).
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { findDoorViolations, findPurityViolations } from "./purity.ts";

const rootDir = new URL("../", import.meta.url).pathname;
const coreDir = join(rootDir, "core");

function sourceFiles(dir: string, withTests = false): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory())
      return name === "testdata" || name === "node_modules" ? [] : sourceFiles(path, withTests);
    return name.endsWith(".ts") && (withTests || !name.endsWith(".test.ts")) ? [path] : [];
  });
}

const files = sourceFiles(coreDir);
const violations = files.flatMap((path) =>
  findPurityViolations(relative(coreDir, path), readFileSync(path, "utf8")),
);
for (const v of violations) console.error(`core/${v.file}:${v.line}: ${v.rule}: ${v.text}`);
const outside = ["sim", "net", "jepsen-like", "bench", "scripts"].flatMap((dir) =>
  sourceFiles(join(rootDir, dir), true),
);
const doorViolations = outside.flatMap((path) =>
  findDoorViolations(relative(rootDir, path), readFileSync(path, "utf8")),
);
for (const v of doorViolations) console.error(`${v.file}:${v.line}: ${v.rule}: ${v.text}`);
if (violations.length + doorViolations.length > 0) {
  console.error(
    `purity: ${violations.length} violation(s) in core/, ${doorViolations.length} past the door`,
  );
  process.exit(1);
}
console.log(
  `purity: ${files.length} core/ files clean; ${outside.length} files outside core/ use its door`,
);
