// Structured logs: one JSON object per line on stdout ({time, level, msg, ...fields}), so that
// operators can grep them and tools can parse them.

export type Level = "debug" | "info" | "warn" | "error";
export type Logger = (level: Level, msg: string, fields?: Record<string, unknown>) => void;

export function jsonLogger(base: Record<string, unknown>, minLevel: Level = "info", write: (line: string) => void = (l) => process.stdout.write(l)): Logger {
  const order: Level[] = ["debug", "info", "warn", "error"];
  const min = order.indexOf(minLevel);
  return (level, msg, fields) => {
    if (order.indexOf(level) < min) return;
    const record = { time: new Date().toISOString(), level, msg, ...base, ...fields };
    write(JSON.stringify(record, (_k, v) => (typeof v === "bigint" ? `0x${v.toString(16)}` : v)) + "\n");
  };
}
