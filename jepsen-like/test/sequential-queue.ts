// Test helper: the history shape that exhausted the checker's heap (sim seed 58 with 10 clients for
// 180 s): many clients appending sequential nodes to /q, a few of the creates timing out. Each op
// takes effect at its invoke, so the history is linearizable; the timed-out ones take effect or
// not at random. One namespace partition holds every create, and every timed-out create is
// interchangeable with the others.

import { sequenceSuffix } from "../semantics.ts";
import { Builder } from "./builder.ts";

export interface QueueShape {
  readonly creates: number;
  readonly clients: number;
  /** One create in this many times out. */
  readonly timeoutEvery: number;
  readonly seed: number;
}

export function sequentialQueue(shape: QueueShape): Builder {
  let x = shape.seed >>> 0 || 1;
  const random = (n: number): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
  const b = new Builder();
  b.invoke(1, "create", "/q", { data: "" }).ok(1, { path: "/q" });
  // What each client's outstanding create will return: a name, or undefined for a timeout.
  const pending = new Map<number, string | undefined>();
  let cversion = 0;
  let invoked = 0;
  while (invoked < shape.creates || pending.size > 0) {
    const client = 1 + random(shape.clients);
    if (pending.has(client)) {
      const name = pending.get(client);
      pending.delete(client);
      if (name === undefined) b.info(client);
      else b.ok(client, { path: name });
      continue;
    }
    if (invoked === shape.creates) continue;
    invoked++;
    b.invoke(client, "create", "/q/n-", { data: `v${invoked}`, mode: "sequential" });
    const timesOut = random(shape.timeoutEvery) === 0;
    const name = `/q/n-${sequenceSuffix(cversion)}`;
    if (!timesOut || random(2) === 0) cversion++;
    pending.set(client, timesOut ? undefined : name);
  }
  return b;
}
