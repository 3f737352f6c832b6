// The typed history recorder of both harnesses (the simulator and the real-process run): records
// in the checker's own HistoryRecord type, indexed in the order they are added and stamped with the
// harness's clock, counted by type, written out as JSON Lines (jepsen-like/README.md).

import type { HistoryRecord } from "./history.ts";
import { serializeHistory } from "./history.ts";

export class HistoryRecorder {
  readonly records: HistoryRecord[] = [];
  readonly counts = { invoke: 0, ok: 0, fail: 0, info: 0 };

  /** `clockMicros` gives integer microseconds (virtual in the simulator, real elsewhere). */
  constructor(private readonly clockMicros: () => number) {}

  /** `record` is a fresh object of the caller's: it is completed in place, not copied. */
  add(record: Omit<HistoryRecord, "index" | "time">): void {
    const full = record as HistoryRecord;
    full.index = this.records.length;
    full.time = this.clockMicros();
    this.records.push(full);
    if (record.type !== "event") this.counts[record.type]++;
  }

  toJsonLines(): string {
    return serializeHistory(this.records);
  }
}
