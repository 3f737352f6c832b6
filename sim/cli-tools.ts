// The CLI's shrink and replay commands (sim/cli.ts parses the flags):
//   npm run sim -- --seed N --shrink [--scenario FILE] [--report DIR] [--plant BUG]
//   npm run sim -- --replay FILE [--report DIR]
// A planted bug (sim/test/planted-bugs.ts) is loaded only when a flag or a scenario names one: it
// exists to show the simulator's teeth, and nothing else can reach it.

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { renderHtml } from "../jepsen-like/report/html.ts";
import { textVerdict } from "../jepsen-like/report/text.ts";
import { visualizationData } from "../jepsen-like/report/visualization.ts";
import type { SimOptions, SimResult } from "./run.ts";
import { runSimulation } from "./run.ts";
import type { Planted, Scenario } from "./scenario.ts";
import { failureClass, readScenario, runScenario, scenarioOf, writeScenario } from "./scenario.ts";
import { shrink, shrinkLimits } from "./shrink.ts";
import type { ShrinkLimits } from "./shrink.ts";

export async function loadPlanted(name: string | undefined): Promise<Planted> {
  if (name === undefined) return {};
  const { plantedBugs, plantedSteps, plantedLockRules } = await import("./test/planted-bugs.ts");
  const policy = plantedBugs[name];
  const step = plantedSteps[name];
  const lockRules = plantedLockRules[name];
  if (policy === undefined && step === undefined && lockRules === undefined) {
    const tables = [plantedBugs, plantedSteps, plantedLockRules];
    const known = tables.flatMap((table) => Object.keys(table)).join(", ");
    throw new Error(`no planted bug ${name} (there are: ${known})`);
  }
  return { policy, step, lockRules };
}

/** The checker's report for a run, with its fault lanes, and the history it read (re-checkable). */
export function writeReport(dir: string, result: SimResult): string {
  mkdirSync(dir, { recursive: true });
  const verdictText = textVerdict(result.check.verdict, result.check.ops);
  writeFileSync(join(dir, "verdict.txt"), verdictText);
  // The page heads with the run's own failure when the history check is not what failed.
  const invariant =
    result.ok || result.failure!.startsWith("history check")
      ? ""
      : `simulator: ${result.failure}\n\n`;
  const page = renderHtml(
    visualizationData(result.check),
    invariant + verdictText,
    result.faultSpans,
  );
  writeFileSync(join(dir, "index.html"), page);
  writeFileSync(join(dir, "history.jsonl"), result.history.toJsonLines());
  return join(dir, "index.html");
}

export interface ShrinkCommand {
  options: SimOptions;
  planted: string | undefined;
  scenarioFile: string;
  reportDir: string;
  limits?: ShrinkLimits;
  print: (line: string) => void;
  progress: (text: string) => void;
}

/** Shrinks a failing seed; returns false if the seed does not fail (nothing written). */
export async function shrinkCommand(command: ShrinkCommand): Promise<boolean> {
  const { options, print } = command;
  const planted = await loadPlanted(command.planted);
  const { policy, step, lockRules } = planted;
  const first = runSimulation(options, undefined, policy, step, undefined, lockRules);
  if (first.ok) {
    print(`seed ${options.seed} passes: nothing to shrink`);
    return false;
  }
  const start = scenarioOf(options, first, command.planted);
  print(`seed ${options.seed} fails: ${start.failure!.class}; shrinking...`);
  const limits = command.limits ?? shrinkLimits;
  const shrunk = shrink(start, planted, limits, (p) =>
    command.progress(
      `\r  run ${p.runs}/${limits.maxRuns} (${p.stage}): ` +
        `${p.faults} faults, ${p.clients} clients, ` +
        `safety phase ${(p.safetyMs / 1000).toFixed(0)} s\u001b[K`,
    ),
  );
  command.progress("\n");
  writeScenario(command.scenarioFile, shrunk.scenario);
  const { original: o, shrunk: s } = shrunk;
  const stopped =
    shrunk.stoppedBy === undefined
      ? ""
      : ` (stopped by its ${shrunk.stoppedBy} limit: not minimal)`;
  print(`shrunk in ${shrunk.runs} runs, ${(shrunk.wallMs / 1000).toFixed(1)} s${stopped}:`);
  print(
    `  faults ${o.faults} -> ${s.faults}, clients ${o.clients} -> ${s.clients}, ` +
      `safety phase ${o.safetyMs / 1000} s -> ${s.safetyMs / 1000} s, ops ${o.ops} -> ${s.ops}`,
  );
  for (const fault of shrunk.scenario.faults)
    print(`  fault at ${(fault.atMs / 1000).toFixed(3)} s: ${JSON.stringify(fault)}`);
  print(`  still fails: ${shrunk.result.failure!.split("\n")[0]}`);
  print(
    `scenario: ${command.scenarioFile} ` +
      `(replay with: npm run sim -- --replay ${command.scenarioFile})`,
  );
  print(`report: ${writeReport(command.reportDir, shrunk.result)}`);
  return true;
}

/** Replays a scenario file; returns the run and whether it failed the way the file says it does. */
export async function replayCommand(
  file: string,
): Promise<{ scenario: Scenario; result: SimResult; asRecorded: boolean }> {
  const scenario = readScenario(file);
  const result = runScenario(scenario, await loadPlanted(scenario.planted));
  const expected = scenario.failure?.class ?? "ok";
  return { scenario, result, asRecorded: failureClass(result) === expected };
}
