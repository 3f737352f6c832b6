// The simulator's record of every client operation, in the checker's JSON Lines history format
// (jepsen-like/README.md): an invoke, then ok / fail (definite ZooKeeper error) / info (indeterminate:
// timed out or connection lost, may or may not have happened). Times are virtual microseconds.

export type HistoryOp = "create" | "delete" | "setData" | "getData" | "exists" | "getChildren" | "multi" | "closeSession";

export interface HistoryEvent {
  type: "invoke" | "ok" | "fail" | "info" | "event";
  index: number;
  process: number;
  session: string;
  time: number;
  op: HistoryOp | string;
  path?: string;
  args?: Record<string, unknown>;
  result?: Record<string, unknown>;
  err?: number;
  zxid?: string;
}

export class History {
  readonly events: HistoryEvent[] = [];
  counts = { invoke: 0, ok: 0, fail: 0, info: 0 };

  add(event: Omit<HistoryEvent, "index">): void {
    this.events.push({ ...event, index: this.events.length });
    if (event.type !== "event") this.counts[event.type]++;
  }

  toJsonLines(): string {
    return this.events.map((e) => JSON.stringify(e)).join("\n") + "\n";
  }
}
