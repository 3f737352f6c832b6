// Structured logs: one JSON object per line on stderr ({time, level, msg, ...fields}), so that
// operators can grep them and tools can parse them. stdout stays free for whatever a wrapper wants.

export type Level = "debug" | "info" | "warn" | "error";
export const levels: readonly Level[] = ["debug", "info", "warn", "error"];

export interface Logger {
  (level: Level, msg: string, fields?: Record<string, unknown>): void;
  /** Whether a line at `level` is written: callers build costly fields only when it is. */
  enabled?(level: Level): boolean;
}

export function isLevel(value: string): value is Level {
  return (levels as readonly string[]).includes(value);
}

export function jsonLogger(
  base: Record<string, unknown>,
  minLevel: Level = "info",
  write: (line: string) => void = (l) => process.stderr.write(l),
): Logger {
  const min = levels.indexOf(minLevel);
  const enabled = (level: Level) => levels.indexOf(level) >= min;
  const log: Logger = (level, msg, fields) => {
    if (!enabled(level)) return;
    const record = { time: new Date().toISOString(), level, msg, ...base, ...fields };
    write(JSON.stringify(record, (_k, v) => (typeof v === "bigint" ? unsignedHex(v) : v)) + "\n");
  };
  log.enabled = enabled;
  return log;
}

/** Ids and zxids as ZooKeeper prints them: unsigned 64-bit hex (server 200's sessions: 0xc8...). */
function unsignedHex(value: bigint): string {
  return `0x${BigInt.asUintN(64, value).toString(16)}`;
}
