// The whole check of one history: linearizability per partition plus ZooKeeper's guarantees,
// merged into one verdict. Depends only on the history format, so the simulator and real-process
// tests feed it alike.

import type { GuaranteeResult } from "./guarantees.ts";
import {
  checkFifoOrder,
  checkMonotonicReads,
  checkReadYourWrites,
  checkWatchOrder,
  SessionGrouping,
} from "./guarantees.ts";
import { checkEphemerals, checkSequentialNames, checkSequentialReads } from "./guarantees-data.ts";
import type { HistoryRecord } from "./history.ts";
import type { LinearizabilityOptions, LinearizabilityResult } from "./linearizability.ts";
import { checkLinearizability } from "./linearizability.ts";
import type { Operation, PairedHistory } from "./operations.ts";
import { pairedFromJson } from "./operations.ts";
import type { ReapingOptions } from "./reaping.ts";
import { checkReaping } from "./reaping.ts";
import { checkPersistentWatches } from "./guarantees-watches.ts";
import { WriteIndex } from "./write-index.ts";

export type CheckOptions = LinearizabilityOptions & ReapingOptions;

export interface HistoryCounts {
  readonly operations: number;
  readonly ok: number;
  readonly fail: number;
  readonly info: number;
  readonly events: number;
}

/** valid: true when every check passed, false on any violation, "unknown" when a search ran out. */
export interface CheckVerdict {
  readonly valid: true | false | "unknown";
  readonly counts: HistoryCounts;
  readonly linearizability: LinearizabilityResult;
  readonly guarantees: readonly GuaranteeResult[];
  readonly elapsedMs: number;
  /** Of elapsedMs: the linearizability search (partitioning included) and the guarantees. */
  readonly linearizabilityMs: number;
  readonly guaranteesMs: number;
}

export interface CheckOutcome {
  readonly verdict: CheckVerdict;
  /** The history's operations followed by the synthetic ones (ids are positions). */
  readonly ops: readonly Operation[];
  readonly history: PairedHistory;
}

function countsOf(history: PairedHistory): HistoryCounts {
  const operations = history.operations.length;
  const events = history.events.length;
  if (history.statusCounts !== undefined) return { operations, ...history.statusCounts, events };
  const counts = { operations, ok: 0, fail: 0, info: 0, events };
  for (const op of history.operations) counts[op.status]++;
  return counts;
}

export function checkGuarantees(
  history: PairedHistory,
  options: ReapingOptions = {},
): GuaranteeResult[] {
  // Grouped by session in the write index's walk over the operations: one walk instead of two.
  const grouping = new SessionGrouping(history);
  const writes = new WriteIndex(history, grouping);
  const sessions = grouping.sessions;
  return [
    checkFifoOrder(sessions),
    checkMonotonicReads(sessions),
    checkReadYourWrites(sessions),
    checkSequentialReads(history, writes),
    checkWatchOrder(history, writes, sessions),
    checkEphemerals(history, writes),
    checkSequentialNames(history, writes.namingCandidates),
    checkPersistentWatches(history),
    checkReaping(history, options),
  ];
}

/** Checks an already paired history. */
export function checkPaired(history: PairedHistory, options: CheckOptions = {}): CheckOutcome {
  const started = performance.now();
  const linearizability = checkLinearizability(history, options);
  const searched = performance.now();
  const guarantees = checkGuarantees(history, options);
  const guaranteed = performance.now();
  const violated =
    linearizability.verdict === "illegal" || guarantees.some((g) => g.violationCount > 0);
  const valid = violated ? false : linearizability.verdict === "unknown" ? "unknown" : true;
  const verdict: CheckVerdict = {
    valid,
    counts: countsOf(history),
    linearizability,
    guarantees,
    elapsedMs: performance.now() - started,
    linearizabilityMs: searched - started,
    guaranteesMs: guaranteed - searched,
  };
  return { verdict, ops: [...history.operations, ...linearizability.synthetic], history };
}

/**
 * Checks records: parsed ones, or in-memory objects shaped like the JSON (zxids as hex strings),
 * which are validated first (HistoryFormatError names the bad record).
 */
export function checkHistory(
  records: readonly HistoryRecord[] | readonly unknown[],
  options: CheckOptions = {},
): CheckOutcome {
  return checkPaired(pairedFromJson(records), options);
}
