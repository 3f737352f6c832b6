// Test helper: writes histories tersely. Process p runs session 0x{p} unless told otherwise; time
// advances 10 µs per record; zxids are given as numbers and stored as bigints.

import type { HistoryRecord, OpArgs, OpResult, RecordType } from "../history.ts";
import { pairOperations } from "../operations.ts";
import type { PairedHistory } from "../operations.ts";

export class Builder {
  readonly records: HistoryRecord[] = [];
  private readonly open = new Map<number, HistoryRecord>();
  private readonly sessions = new Map<number, string>();
  private elapsedUs = 0;

  /** Lets `us` microseconds pass before the next record. */
  wait(us: number): this {
    this.elapsedUs += us;
    return this;
  }

  session(process: number, session: string): this {
    this.sessions.set(process, session);
    return this;
  }

  private push(record: Omit<HistoryRecord, "index" | "time" | "session">): HistoryRecord {
    const full: HistoryRecord = {
      ...record,
      index: this.records.length,
      time: this.records.length * 10 + this.elapsedUs,
      session: this.sessions.get(record.process) ?? `0x${record.process.toString(16)}`,
    };
    this.records.push(full);
    return full;
  }

  invoke(process: number, op: string, path?: string, args?: OpArgs): this {
    const record = this.push({
      type: "invoke",
      process,
      op,
      ...(path === undefined ? {} : { path }),
      ...(args === undefined ? {} : { args }),
    });
    this.open.set(process, record);
    return this;
  }

  private complete(type: RecordType, process: number, extra: Partial<HistoryRecord>): this {
    const invoke = this.open.get(process);
    if (invoke === undefined) throw new Error(`process ${process} has nothing outstanding`);
    this.open.delete(process);
    this.push({
      type,
      process,
      op: invoke.op,
      ...(invoke.path === undefined ? {} : { path: invoke.path }),
      ...extra,
    });
    return this;
  }

  ok(process: number, result?: OpResult, zxid?: number | bigint): this {
    return this.complete("ok", process, {
      ...(result === undefined ? {} : { result }),
      ...(zxid === undefined ? {} : { zxid: BigInt(zxid) }),
    });
  }

  fail(process: number, err: number, zxid?: number): this {
    return this.complete("fail", process, {
      err,
      ...(zxid === undefined ? {} : { zxid: BigInt(zxid) }),
    });
  }

  info(process: number, err?: number): this {
    return this.complete("info", process, err === undefined ? {} : { err });
  }

  event(
    process: number,
    kind: string,
    extra: { path?: string; event?: string; zxid?: number } = {},
  ): this {
    this.push({
      type: "event",
      process,
      op: kind,
      ...(extra.path === undefined ? {} : { path: extra.path }),
      ...(extra.event === undefined ? {} : { result: { event: extra.event } }),
      ...(extra.zxid === undefined ? {} : { zxid: BigInt(extra.zxid) }),
    });
    return this;
  }

  paired(): PairedHistory {
    return pairOperations(this.records);
  }
}
