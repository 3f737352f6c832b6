// A scenario file: one run as data, replayable without its seed's draws of faults. It holds the
// seed (which still drives the network, disks and clients), every option, the explicit fault
// schedule, and the name of a planted bug if a test of the simulator's teeth made it fail.
// `npm run sim -- --replay file` runs it; the shrinker (sim/shrink.ts) writes the small ones.

import { readFileSync, writeFileSync } from "node:fs";
import type { ProtocolPolicy, StepFunction } from "../core/replica/index.ts";
import type { LockRules } from "../core/recipes/lock.ts";
import type { Fault } from "./nemesis.ts";
import { runSimulation } from "./run.ts";
import type { SimOptions, SimResult } from "./run.ts";

export const scenarioFormat = "zk-sim-scenario/1";

export interface Scenario {
  format: typeof scenarioFormat;
  options: SimOptions;
  faults: Fault[];
  /** A bug from sim/test/planted-bugs.ts (plantedBugs or plantedSteps) the run is made under. */
  planted?: string;
  /** The failure this scenario reproduces, as found (its class first: see failureClass). */
  failure?: { class: string; message: string };
}

/** A planted bug resolved by name: a policy, a step function, or neither. */
export interface Planted {
  policy?: ProtocolPolicy;
  step?: StepFunction;
  lockRules?: LockRules;
}

export function scenarioOf(options: SimOptions, result: SimResult, planted?: string): Scenario {
  const scenario: Scenario = { format: scenarioFormat, options, faults: result.schedule };
  if (planted !== undefined) scenario.planted = planted;
  if (!result.ok) scenario.failure = { class: failureClass(result), message: result.failure! };
  return scenario;
}

export function runScenario(scenario: Scenario, planted: Planted = {}): SimResult {
  const { policy, step, lockRules } = planted;
  return runSimulation(scenario.options, undefined, policy, step, scenario.faults, lockRules);
}

// JSON has no Infinity: a fault kind turned off (a rate of Infinity) is written as the string.
export function scenarioJson(scenario: Scenario): string {
  return (
    JSON.stringify(scenario, (_key, value) => (value === Infinity ? "Infinity" : value), 1) + "\n"
  );
}

export function parseScenario(text: string): Scenario {
  const scenario = JSON.parse(text, (_key, value) =>
    value === "Infinity" ? Infinity : value,
  ) as Scenario;
  if (scenario.format !== scenarioFormat)
    throw new Error(`not a scenario file (format ${String(scenario.format)})`);
  return scenario;
}

export function writeScenario(path: string, scenario: Scenario): void {
  writeFileSync(path, scenarioJson(scenario));
}

export function readScenario(path: string): Scenario {
  return parseScenario(readFileSync(path, "utf8"));
}

/**
 * What kind of failure a run had, without its particulars (times, ids, zxids, paths, values): a
 * shrunk run must fail the same way, not merely fail. Invariants keep their rule's words; history
 * failures name the properties that failed; liveness is one class.
 */
export function failureClass(result: SimResult): string {
  const failure = result.failure;
  if (failure === undefined) return "ok";
  if (failure.startsWith("liveness")) return "liveness";
  if (failure.startsWith("recipe check failed")) {
    // The first finding's kind, without who, when or which token.
    const [head, first] = failure.split("\n");
    const kind = (first ?? "")
      .trim()
      .replace(/\([^)]*\)/g, "")
      .replace(/\b0x[0-9a-f]+\b|\b[\d.]+\b|\b[ps]\d+(-\d+)?\b/g, "#");
    return `${head!.replace(/:$/, "")}: ${kind}`;
  }
  if (failure.startsWith("history check failed")) {
    const verdict = result.check.verdict;
    const failed: string[] = verdict.guarantees
      .filter((g) => g.violationCount > 0)
      .map((g) => g.guarantee);
    if (verdict.linearizability.verdict === "illegal") failed.unshift("linearizability");
    return `history: ${failed.join(", ")}`;
  }
  const message = failure.replace(/^invariant violated at \d+ ms: /, "");
  const words = message
    .replace(/"[^"]*"/g, '"…"')
    .replace(/\s\(.*$/s, "")
    .replace(/\/\S*/g, "/…")
    .replace(/\b0x[0-9a-f]+\b|\b\d+\b/g, "#");
  return `invariant: ${words.split(": ").slice(0, 2).join(": ")}`;
}
