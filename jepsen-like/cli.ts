// npm run check -- history.jsonl [--out report-dir] [--mode zookeeper|strict] [--steps-max N]
//                                [--memory-max-mb MB] [--time-limit-s S]
// Prints the verdict (linearizability per partition, each guarantee) and, with --out, writes
// report-dir/index.html and report-dir/verdict.txt.
// Exit status: 0 valid, 1 a violation, 2 unknown (a partition's search ran out of steps, memory
// or time) or a usage / format error.

import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { CheckOptions } from "./check.ts";
import { checkPaired } from "./check.ts";
import { HistoryFormatError } from "./history.ts";
import type { PairedHistory } from "./operations.ts";
import { pairedFromText } from "./operations.ts";
import { renderHtml } from "./report/html.ts";
import { textVerdict } from "./report/text.ts";
import { visualizationData } from "./report/visualization.ts";

const usage =
  "usage: npm run check -- history.jsonl [--out report-dir] " +
  "[--mode zookeeper|strict] [--steps-max N] [--memory-max-mb MB] [--time-limit-s S]";

interface Args {
  file: string;
  out: string | undefined;
  options: CheckOptions;
}

class UsageError extends Error {
  override name = "UsageError";
}

function positive(flag: string, value: string | undefined): number {
  const n = Number(value);
  if (value === undefined || !Number.isFinite(n) || n <= 0)
    throw new UsageError(`${flag} needs a positive number`);
  return n;
}

function parseArgs(argv: readonly string[]): Args {
  let file: string | undefined;
  let out: string | undefined;
  const options: {
    mode?: "zookeeper" | "strict";
    stepsMax?: number;
    memoryMaxMb?: number;
    timeLimitMs?: number;
  } = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--out") out = argv[++i];
    else if (arg === "--mode") {
      const mode = argv[++i];
      if (mode !== "zookeeper" && mode !== "strict")
        throw new UsageError("--mode is zookeeper or strict");
      options.mode = mode;
    } else if (arg === "--steps-max") options.stepsMax = positive(arg, argv[++i]);
    else if (arg === "--memory-max-mb") options.memoryMaxMb = positive(arg, argv[++i]);
    else if (arg === "--time-limit-s") options.timeLimitMs = positive(arg, argv[++i]) * 1000;
    else if (arg.startsWith("--")) throw new UsageError(`unknown option ${arg}`);
    else if (file === undefined) file = arg;
    else throw new UsageError(`one history at a time (got ${file} and ${arg})`);
  }
  if (file === undefined) throw new UsageError("no history file given");
  if (argv.includes("--out") && out === undefined) throw new UsageError("--out needs a directory");
  return { file, out, options };
}

/** Runs the CLI; returns the exit status. Output goes through `print` (stdout) and `warn`. */
export function main(
  argv: readonly string[],
  print: (text: string) => void,
  warn: (text: string) => void,
): number {
  let args: Args;
  let text: string;
  try {
    args = parseArgs(argv);
    text = readFileSync(args.file, "utf8");
  } catch (error) {
    if (!(error instanceof UsageError) && !(error instanceof Error && "code" in error)) throw error;
    warn(`${error.message}\n${usage}\n`);
    return 2;
  }
  let history: PairedHistory;
  try {
    // Paired while parsed: a history of millions is never held as records and operations at once.
    history = pairedFromText(text);
  } catch (error) {
    if (!(error instanceof HistoryFormatError)) throw error;
    warn(`${args.file}: ${error.message}\n`);
    return 2;
  }
  const outcome = checkPaired(history, args.options);
  const verdictText = textVerdict(outcome.verdict, outcome.ops);
  print(verdictText + `checked in ${(outcome.verdict.elapsedMs / 1000).toFixed(2)} s\n`);
  if (args.out !== undefined) {
    mkdirSync(args.out, { recursive: true });
    writeFileSync(join(args.out, "verdict.txt"), verdictText);
    writeFileSync(
      join(args.out, "index.html"),
      renderHtml(visualizationData(outcome), verdictText),
    );
    print(`report: ${join(args.out, "index.html")}\n`);
  }
  return outcome.verdict.valid === true ? 0 : outcome.verdict.valid === false ? 1 : 2;
}

// Run only as a script, so tests can import main().
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main(
    process.argv.slice(2),
    (t) => process.stdout.write(t),
    (t) => process.stderr.write(t),
  );
}
