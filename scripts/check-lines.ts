// CI entry point: fails when a tracked source file has a line wider than 100 columns. Biome keeps
// code within that width but leaves long strings, test names and comments alone; this catches them.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const maxColumns = 100;
export const checkedDirs = ["core", "sim", "net", "jepsen-like", "bench", "scripts"];

export type LongLine = { file: string; line: number; columns: number };

/** Test expectations are data, not code: their width is what the output is. */
export function isExemptFile(path: string): boolean {
  return path.startsWith("core/replica/testdata/");
}

export function isCheckedFile(path: string): boolean {
  return (
    (path.endsWith(".ts") || path.endsWith(".mjs")) &&
    checkedDirs.some((dir) => path.startsWith(`${dir}/`)) &&
    !isExemptFile(path)
  );
}

// A URL cannot be broken, so a line holding only one (in a comment or not) may be any width.
const urlOnly = /^\s*(\/\/|\*)?\s*<?https?:\/\/\S+>?\s*$/;

export function findLongLines(file: string, text: string): LongLine[] {
  return text.split("\n").flatMap((line, i) => {
    // Columns are code points (as grep counts them), not UTF-16 units.
    const columns = [...line.replace(/\r$/, "")].length;
    return columns > maxColumns && !urlOnly.test(line) ? [{ file, line: i + 1, columns }] : [];
  });
}

function main(): void {
  const rootDir = fileURLToPath(new URL("../", import.meta.url));
  const tracked = execFileSync("git", ["ls-files", "-z", "--", ...checkedDirs], {
    cwd: rootDir,
    encoding: "utf8",
  })
    .split("\0")
    .filter(isCheckedFile);
  const long = tracked.flatMap((file) =>
    findLongLines(file, readFileSync(resolve(rootDir, file), "utf8")),
  );
  for (const l of long) console.error(`${l.file}:${l.line}: ${l.columns} columns`);
  if (long.length > 0) {
    const files = new Set(long.map((l) => l.file)).size;
    console.error(`lines: ${long.length} line(s) over ${maxColumns} columns in ${files} file(s)`);
    process.exit(1);
  }
  console.log(`lines: ${tracked.length} files, every line within ${maxColumns} columns`);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url))
  main();
