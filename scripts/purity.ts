// The purity contract of core/ (../shared/DESIGN.md), checked by a machine rather than by review:
// no I/O, no clocks, no ambient randomness, no timers, no async, no imports from outside core/.
// Time and randomness reach the core as inputs; anything else would break determinism.

export interface PurityViolation {
  file: string;
  line: number;
  rule: string;
  text: string;
}

/** Packages core/ may import: pure, audited, no I/O. */
export const allowedPackages: readonly string[] = ["@noble/hashes"];

const forbiddenPatterns: ReadonlyArray<{ rule: string; pattern: RegExp }> = [
  { rule: "Date (time must be an input)", pattern: /\bDate\b/ },
  { rule: "Math.random (randomness must be an input)", pattern: /\bMath\s*\.\s*random\b/ },
  { rule: "performance clock", pattern: /\bperformance\b/ },
  {
    rule: "timers",
    pattern: /\b(setTimeout|setInterval|setImmediate|queueMicrotask|clearTimeout|clearInterval)\b/,
  },
  { rule: "process", pattern: /\bprocess\s*\./ },
  { rule: "Buffer (use Uint8Array)", pattern: /\bBuffer\b/ },
  { rule: "async/await", pattern: /\b(async|await)\b/ },
  { rule: "global crypto", pattern: /\bcrypto\s*\./ },
  { rule: "require", pattern: /\brequire\s*\(/ },
  { rule: "dynamic import", pattern: /\bimport\s*\(/ },
  { rule: "globalThis", pattern: /\bglobalThis\b/ },
];

/** Blanks out comments and the contents of string literals, keeping line numbers. */
export function stripCommentsAndStrings(source: string): string {
  let out = "";
  let i = 0;
  const n = source.length;
  while (i < n) {
    const c = source[i]!;
    const next = source[i + 1];
    if (c === "/" && next === "/") {
      while (i < n && source[i] !== "\n") i++;
    } else if (c === "/" && next === "*") {
      i += 2;
      while (i < n && !(source[i] === "*" && source[i + 1] === "/")) {
        if (source[i] === "\n") out += "\n";
        i++;
      }
      i += 2;
    } else if (c === '"' || c === "'" || c === "`") {
      out += c;
      i++;
      while (i < n && source[i] !== c) {
        if (source[i] === "\\") i++;
        else if (source[i] === "\n") out += "\n";
        i++;
      }
      out += c;
      i++;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

const importPattern =
  /(?:^|\s)(?:import|export)\s[^;]*?from\s*["']([^"']+)["']|^\s*import\s*["']([^"']+)["']/gm;

/**
 * Returns every place in `source` (a core/ file at `file`, relative to core/) that breaks purity.
 */
export function findPurityViolations(file: string, source: string): PurityViolation[] {
  const violations: PurityViolation[] = [];
  const lines = source.split("\n");
  const lineOf = (index: number) => source.slice(0, index).split("\n").length;

  for (const match of source.matchAll(importPattern)) {
    const specifier = match[1] ?? match[2] ?? "";
    const line = lineOf((match.index ?? 0) + match[0].search(/\S/));
    const problem = importProblem(file, specifier);
    if (problem) violations.push({ file, line, rule: problem, text: lines[line - 1]!.trim() });
  }

  const code = stripCommentsAndStrings(source).split("\n");
  code.forEach((text, index) => {
    if (/^\s*(import|export)\s.*from\s*["']/.test(text)) return; // checked above
    for (const { rule, pattern } of forbiddenPatterns) {
      if (pattern.test(text)) {
        violations.push({ file, line: index + 1, rule, text: lines[index]!.trim() });
      }
    }
  });
  return violations;
}

function importProblem(file: string, specifier: string): string | undefined {
  if (specifier.startsWith("node:")) return `node built-in import '${specifier}'`;
  if (specifier.startsWith(".")) {
    const depth = file.split("/").length - 1;
    const ups = specifier.split("/").filter((part) => part === "..").length;
    return ups > depth ? `import from outside core/ '${specifier}'` : undefined;
  }
  const allowed = allowedPackages.some((p) => specifier === p || specifier.startsWith(p + "/"));
  return allowed ? undefined : `package import not on the core allow-list '${specifier}'`;
}

/**
 * The replicated core's door: outside core/, a file may import core/replica/ only through its
 * index (tests may also use the interaction-test harness under core/replica/test/), so no harness
 * can reach into ReplicaState. `file` is relative to the project root.
 */
export function findDoorViolations(file: string, source: string): PurityViolation[] {
  if (file.startsWith("core/")) return [];
  const violations: PurityViolation[] = [];
  const lines = source.split("\n");
  const isTest = file.endsWith(".test.ts");
  for (const match of source.matchAll(importPattern)) {
    const specifier = match[1] ?? match[2] ?? "";
    if (!specifier.startsWith(".")) continue;
    const target = resolvePath(file, specifier);
    if (!target.startsWith("core/replica/")) continue;
    if (target === "core/replica/index.ts") continue;
    if (isTest && target.startsWith("core/replica/test/")) continue;
    const line = source.slice(0, (match.index ?? 0) + match[0].search(/\S/)).split("\n").length;
    violations.push({
      file,
      line,
      rule: "import past the door of core/replica (use core/replica/index.ts)",
      text: lines[line - 1]!.trim(),
    });
  }
  return violations;
}

function resolvePath(file: string, specifier: string): string {
  const parts = file.split("/").slice(0, -1);
  for (const part of specifier.split("/")) {
    if (part === "..") parts.pop();
    else if (part !== ".") parts.push(part);
  }
  return parts.join("/");
}
