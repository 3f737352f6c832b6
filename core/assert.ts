// Assertions are documentation that runs (TigerBeetle's TIGER_STYLE): they stay on in production
// and are never caught inside core/. A failed assertion means a bug, never bad input: bad input
// becomes a ZooKeeper error code.

export class InvariantViolation extends Error {
  override name = "InvariantViolation";
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InvariantViolation(message);
}

export function assertNever(value: never, message = "unreachable"): never {
  throw new InvariantViolation(
    `${message}: ${JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v))}`,
  );
}
