// CI entry point: fails when any non-test file under core/ breaks the purity contract.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { findPurityViolations } from "./purity.ts";

const coreDir = new URL("../core/", import.meta.url).pathname;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === "testdata" ? [] : sourceFiles(path);
    return name.endsWith(".ts") && !name.endsWith(".test.ts") ? [path] : [];
  });
}

const files = sourceFiles(coreDir);
const violations = files.flatMap((path) =>
  findPurityViolations(relative(coreDir, path), readFileSync(path, "utf8")),
);
for (const v of violations) console.error(`core/${v.file}:${v.line}: ${v.rule}: ${v.text}`);
if (violations.length > 0) {
  console.error(`purity: ${violations.length} violation(s) in core/`);
  process.exit(1);
}
console.log(`purity: ${files.length} core/ files clean`);
