// What every recipe needs: parents made on demand, sequential names ordered by their sequence
// number, and a wait that ends on a watch event, an abort, or the end of the session.

import { randomUUID } from "node:crypto";
import type { ConnectionState, ZooKeeperClient } from "../client/index.ts";
import { ConnectionLossError, NodeExistsError, SessionExpiredError } from "../client/index.ts";

/** Creates `path` and its missing ancestors (as containers unless told otherwise). */
export async function ensurePath(
  client: ZooKeeperClient,
  path: string,
  mode: "container" | "persistent" = "container",
): Promise<void> {
  if (path === "/" || (await client.exists(path)) !== null) return;
  const parent = path.slice(0, path.lastIndexOf("/")) || "/";
  await ensurePath(client, parent, mode);
  try {
    await client.create(path, "", { mode });
  } catch (error) {
    if (!(error instanceof NodeExistsError)) throw error;
  }
}

// Shared with the simulator's recipe machines (core/recipes/lock.ts).
export { bySequence, sequenceOf } from "../../core/recipes/lock.ts";

/** A name prefix unique to one attempt, so that a create whose reply was lost can be found. */
export function protectedPrefix(): string {
  return `_c_${randomUUID()}-`;
}

const terminal = new Set<ConnectionState>(["expired", "closed", "authFailed"]);

export function sessionEnded(client: ZooKeeperClient): boolean {
  return terminal.has(client.state);
}

/**
 * Calls `register` with a callback to hand to a watch; resolves when it fires or `register` says
 * there is nothing to wait for (returns false), rejects when `signal` aborts or the session ends.
 * The caller then looks again: a fired watch says something changed, not what.
 */
export function waitForWatch(
  client: ZooKeeperClient,
  signal: AbortSignal | undefined,
  register: (fired: () => void) => Promise<boolean>,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let done = false;
    const finish = (error?: unknown) => {
      if (done) return;
      done = true;
      off();
      signal?.removeEventListener("abort", onAbort);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onAbort = () => finish(signal!.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    const off = client.on("state", (state) => {
      if (terminal.has(state))
        finish(new SessionExpiredError(undefined, `the session ended (${state})`));
    });
    if (signal?.aborted) return onAbort();
    if (sessionEnded(client)) return finish(new SessionExpiredError());
    // A watch may fire before `register` has returned (a change made by the very calls it made):
    // what `register` returns decides, and an early firing only ends the wait it asks for.
    let registered = false;
    let firedEarly = false;
    register(() => {
      if (registered) finish();
      else firedEarly = true;
    }).then(
      (wait) => {
        registered = true;
        if (!wait || firedEarly) finish();
      },
      (error: unknown) => finish(error),
    );
  });
}

/** Runs `call` again after connection losses (the client reconnects by itself meanwhile). */
export async function retryOnConnectionLoss<T>(call: () => Promise<T>, attempts = 20): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof ConnectionLossError) || attempt >= attempts) throw error;
      await new Promise((r) => setTimeout(r, Math.min(1_000, 20 * 2 ** attempt)));
    }
  }
}
