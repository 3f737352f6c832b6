// Room for the old generation to grow between full collections. V8 starts a mark-compact when
// the old generation reaches a limit it sets at a small multiple of what the last one left live.
// A server's heap is small (about 11 MB live for a small tree). Write load promoted about a
// megabyte per scavenge, and each member ran a mark-compact every 0.6-0.9 s, pausing it 3-15 ms:
// the tail of the write latency. (That megabyte was kept by hash tables a Map had left behind and
// by the in-memory log, plus a spread in prep; see turn-cache.ts, core/replica/apply.ts and
// core/prep.ts. Under write load at 16x16 every member now promotes a few KB per scavenge.)
// While the heap is small, the growing factor is raised so that the next limit is at least
// `headroomBytes` above it; once the live heap is a third of the headroom or more, V8's own factor
// (up to 4) gives as much, and it is left to decide. The factor is V8's --heap-growing-percent,
// read at each collection.

import { constants, PerformanceObserver } from "node:perf_hooks";
import type { PerformanceEntry } from "node:perf_hooks";
import { getHeapStatistics, setFlagsFromString } from "node:v8";

/** V8's own factor for a small heap is up to 4; above this it needs no help. */
const ownFactorMax = 3;
/** Ten times the live heap at most, however small it is. */
const percentMax = 900;

/** The --heap-growing-percent that gives `headroomBytes` above `liveBytes`; 0 is V8's own. */
export function growingPercentFor(liveBytes: number, headroomBytes: number): number {
  if (headroomBytes <= 0 || liveBytes * ownFactorMax >= headroomBytes) return 0;
  return Math.min(percentMax, Math.ceil((100 * headroomBytes) / Math.max(liveBytes, 1)));
}

/**
 * Keeps the factor in step with the heap: set at start, then after each mark-compact from the heap
 * it left (the used heap read then, about what is live). Returns a function that stops and gives
 * V8 its own factor back.
 */
export function keepHeapHeadroom(headroomBytes: number): () => void {
  let applied = -1;
  const apply = () => {
    const percent = growingPercentFor(getHeapStatistics().used_heap_size, headroomBytes);
    if (percent === applied) return;
    applied = percent;
    setFlagsFromString(`--heap-growing-percent=${percent}`);
  };
  apply();
  const observer = new PerformanceObserver((list) => {
    const entries = list.getEntries() as (PerformanceEntry & { detail?: { kind?: number } })[];
    if (entries.some((e) => e.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR)) apply();
  });
  observer.observe({ entryTypes: ["gc"] });
  return () => {
    observer.disconnect();
    setFlagsFromString("--heap-growing-percent=0");
  };
}
