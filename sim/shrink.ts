// Shrinking a failing run: from a scenario that fails, find a smaller one that fails the same way
// (the same failureClass). In order: delta debugging (Zeller's ddmin, removing chunks of the fault
// schedule, down to single faults), then each remaining fault made smaller (fewer nodes crashed,
// fewer links cut or clogged), then fewer clients, then a shorter safety phase; and the fault list
// once more if those changed the run. Every candidate is one deterministic run, so the result
// replays to the same failure. Runs and wall time are bounded: past either, the best so far stands.

import type { Fault } from "./nemesis.ts";
import type { Planted, Scenario } from "./scenario.ts";
import { failureClass, runScenario } from "./scenario.ts";
import type { SimResult } from "./run.ts";

export interface ShrinkLimits {
  maxRuns: number;
  maxWallMs: number;
}

export const shrinkLimits: ShrinkLimits = { maxRuns: 400, maxWallMs: 300_000 };

export interface ShrinkProgress {
  runs: number;
  faults: number;
  clients: number;
  safetyMs: number;
  stage: string;
}

export interface ShrinkResult {
  scenario: Scenario;
  result: SimResult;
  original: { faults: number; clients: number; safetyMs: number; ops: number };
  shrunk: { faults: number; clients: number; safetyMs: number; ops: number };
  runs: number;
  wallMs: number;
  /** Set when a limit stopped the search early (the scenario still fails the same way). */
  stoppedBy: "runs" | "time" | undefined;
}

class Budget extends Error {}

export function shrink(
  start: Scenario,
  planted: Planted = {},
  limits: ShrinkLimits = shrinkLimits,
  progress?: (p: ShrinkProgress) => void,
): ShrinkResult {
  const started = performance.now();
  let runs = 0;
  let stage = "start";
  const run = (scenario: Scenario): SimResult => {
    if (runs >= limits.maxRuns) throw new Budget("runs");
    if (performance.now() - started > limits.maxWallMs) throw new Budget("time");
    runs++;
    return runScenario(scenario, planted);
  };
  const first = run(start);
  if (first.ok) throw new Error("the scenario does not fail: nothing to shrink");
  const target = failureClass(first);
  let best = {
    scenario: { ...start, failure: { class: target, message: first.failure! } },
    result: first,
  };
  const report = () =>
    progress?.({
      runs,
      stage,
      faults: best.scenario.faults.length,
      clients: best.scenario.options.workload.clients,
      safetyMs: best.scenario.options.safetyMs,
    });
  /** Runs a candidate; keeps it if it fails the same way. */
  const tryScenario = (candidate: Scenario): boolean => {
    const result = run(candidate);
    const same = !result.ok && failureClass(result) === target;
    if (same)
      best = {
        scenario: { ...candidate, failure: { class: target, message: result.failure! } },
        result,
      };
    report();
    return same;
  };
  const withFaults = (faults: Fault[]): Scenario => ({ ...best.scenario, faults });

  let stoppedBy: ShrinkResult["stoppedBy"];
  try {
    for (let pass = 0; pass < 3; pass++) {
      const before = JSON.stringify(best.scenario);
      stage = "faults";
      ddmin(best.scenario.faults, (faults) => tryScenario(withFaults(faults)));
      stage = "fault contents";
      shrinkContents(
        () => best.scenario.faults,
        (faults) => tryScenario(withFaults(faults)),
      );
      stage = "clients";
      shrinkClients(best.scenario, tryScenario);
      stage = "safety phase";
      shrinkSafety(() => best.scenario, tryScenario);
      if (JSON.stringify(best.scenario) === before) break;
    }
  } catch (error) {
    if (!(error instanceof Budget)) throw error;
    stoppedBy = error.message as "runs" | "time";
  }
  const size = (s: Scenario, r: SimResult) => ({
    faults: s.faults.length,
    clients: s.options.workload.clients,
    safetyMs: s.options.safetyMs,
    ops: r.history.counts.invoke,
  });
  return {
    scenario: best.scenario,
    result: best.result,
    original: size(start, first),
    shrunk: size(best.scenario, best.result),
    runs,
    wallMs: performance.now() - started,
    stoppedBy,
  };
}

/**
 * ddmin over a list, by complements: remove one of n chunks at a time; on success keep the rest
 * and coarsen, else refine, until single items cannot be removed (1-minimal).
 */
export function ddmin<T>(items: readonly T[], fails: (subset: T[]) => boolean): T[] {
  let current = [...items];
  if (current.length > 0 && fails([])) return [];
  let n = 2;
  while (current.length >= 2) {
    const chunk = Math.ceil(current.length / n);
    let reduced = false;
    for (let i = 0; i < current.length; i += chunk) {
      const complement = [...current.slice(0, i), ...current.slice(i + chunk)];
      if (fails(complement)) {
        current = complement;
        n = Math.max(n - 1, 2);
        reduced = true;
        break;
      }
    }
    if (!reduced) {
      if (chunk === 1) break;
      n = Math.min(n * 2, current.length);
    }
  }
  if (current.length === 1 && fails([])) return [];
  return current;
}

/** Makes each fault smaller in place of the list: fewer victims, cuts and clogged links. */
function shrinkContents(faults: () => Fault[], fails: (faults: Fault[]) => boolean): void {
  for (let i = 0; i < faults().length; i++) {
    const replace = (fault: Fault) => fails(faults().map((f, j) => (j === i ? fault : f)));
    const fault = faults()[i]!;
    if (fault.kind === "crash" && fault.nodes.length > 1) {
      const pairs = fault.nodes.map((node, k) => ({ node, downMs: fault.downMs[k]! }));
      ddmin(
        pairs,
        (kept) =>
          kept.length > 0 &&
          replace({
            ...fault,
            label: kept.length === 1 ? "crash" : "power-loss",
            nodes: kept.map((p) => p.node),
            downMs: kept.map((p) => p.downMs),
          }),
      );
    } else if (fault.kind === "partition" && fault.cuts.length > 1) {
      ddmin(fault.cuts, (cuts) => cuts.length > 0 && replace({ ...fault, cuts }));
    } else if (fault.kind === "clog" && fault.links.length > 1) {
      ddmin(fault.links, (links) => links.length > 0 && replace({ ...fault, links }));
    } else if (fault.kind === "stall") {
      if (fault.crash.length > 0) ddmin(fault.crash, (crash) => replace({ ...fault, crash }));
      const current = () => faults()[i] as typeof fault;
      if (current().nodes.length > 1)
        ddmin(current().nodes, (nodes) => nodes.length > 0 && replace({ ...current(), nodes }));
    } else if (fault.kind === "window") {
      if (fault.others.length > 0) ddmin(fault.others, (others) => replace({ ...fault, others }));
      // A shorter crash loop: drop restarts from the end.
      const current = () => faults()[i] as typeof fault;
      for (let keep = 0; keep < fault.upMs.length; keep++) {
        const upMs = current().upMs.slice(0, keep);
        if (replace({ ...current(), upMs, downMs: current().downMs.slice(0, keep + 1) })) break;
      }
    }
  }
}

/** The fewest clients that still fail: clients are numbered, so the first k keep their streams. */
function shrinkClients(scenario: Scenario, tryScenario: (s: Scenario) => boolean): void {
  const clients = scenario.options.workload.clients;
  const candidates = [...new Set([1, 2, Math.floor(clients / 2), clients - 1])].filter(
    (c) => c >= 1 && c < clients,
  );
  for (const c of candidates.sort((a, b) => a - b)) {
    const options = { ...scenario.options, workload: { ...scenario.options.workload, clients: c } };
    if (tryScenario({ ...scenario, options })) return;
  }
}

/**
 * The shortest safety phase that still fails, by bisection on whole seconds; faults after its end
 * go (they would never fire).
 */
function shrinkSafety(best: () => Scenario, tryScenario: (s: Scenario) => boolean): void {
  const withSafety = (ms: number): Scenario => {
    const scenario = best();
    return {
      ...scenario,
      options: { ...scenario.options, safetyMs: ms },
      faults: scenario.faults.filter((f) => f.atMs < ms),
    };
  };
  let low = 0; // seconds known (or assumed) too short
  let high = Math.ceil(best().options.safetyMs / 1000);
  if (high * 1000 !== best().options.safetyMs && !tryScenario(withSafety(high * 1000))) return;
  while (high - low > 1) {
    const mid = Math.floor((low + high) / 2);
    if (tryScenario(withSafety(mid * 1000))) high = mid;
    else low = mid;
  }
}
