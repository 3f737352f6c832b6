// Locks: a mutex, a read-write lock (ZooKeeper's lock recipe, with Curator's InterProcessMutex
// semantics). Each contender creates an ephemeral sequential node under the lock's path; the
// lowest one holds a write lock, a reader holds as soon as no writer is below it; a waiter watches
// only the node it waits on (no herd), and looks again whenever that one goes.
//
// The holder gets a fencing token: the czxid of its lock node. Holders follow each other in
// sequence order, which is creation order, which is czxid order, so each holder's token is above
// every earlier holder's: a resource that refuses tokens below the highest it has seen refuses a
// holder that lost its lock (its session expired) but has not yet noticed.

import type { ZooKeeperClient } from "../client/index.ts";
import { ConnectionLossError, NoNodeError, SessionExpiredError } from "../client/index.ts";
import type { LockDecision, LockKind } from "../../core/recipes/lock.ts";
import { decideLock } from "../../core/recipes/lock.ts";
import {
  ensurePath,
  protectedPrefix,
  retryOnConnectionLoss,
  sessionEnded,
  waitForWatch,
} from "./common.ts";

// The decision itself is the simulator's lock machine's too (core/recipes/lock.ts): the sweeps
// that check the lock recipe under faults check this code's choice of holder.
export type { LockDecision, LockKind };
export { decideLock };

export interface AcquireOptions {
  /** Gives up (deleting this attempt's node) when aborted. */
  signal?: AbortSignal;
  /** Gives up after this long; 0 tries once without waiting. */
  timeoutMs?: number;
}

export interface LockHandle {
  /** The lock node this holder owns. */
  readonly node: string;
  /** The lock node's czxid: larger for every later holder. Hand it to the guarded resource. */
  readonly token: bigint;
  /**
   * Aborted when the lock is lost: the session expired (or the client was closed), or the lock node
   * was deleted by someone else. While the client is "disconnected" the lock may already be lost
   * on the servers; a careful holder pauses its work then.
   */
  readonly signal: AbortSignal;
  /** Deletes the lock node; the next waiter takes over. */
  release(): Promise<void>;
}

/** Thrown by acquire when the wait ran out (timeoutMs) or was aborted without a reason. */
export class LockTimeoutError extends Error {
  override name = "LockTimeoutError";
}

class LockContender {
  constructor(
    private readonly client: ZooKeeperClient,
    private readonly path: string,
    private readonly kind: LockKind,
    private readonly marker: string,
    private readonly data: string,
  ) {}

  async acquire(options: AcquireOptions = {}): Promise<LockHandle> {
    const { signal, cancel } = deadline(options);
    try {
      await retryOnConnectionLoss(() => ensurePath(this.client, this.path));
      const own = await this.createOwnNode();
      try {
        for (;;) {
          const children = await retryOnConnectionLoss(() => this.client.getChildren(this.path));
          const decision = decideLock(children, own.name, this.kind);
          if (decision.type === "acquired") return this.holding(own);
          if (decision.type === "lost")
            throw new SessionExpiredError(`${this.path}/${own.name}`, "the lock node is gone");
          if (options.timeoutMs === 0) throw new LockTimeoutError(`${this.path} is held`);
          await waitForWatch(this.client, signal, async (fired) => {
            const watched = `${this.path}/${decision.predecessor}`;
            return (
              (await retryOnConnectionLoss(() => this.client.exists(watched, { watch: fired }))) !==
              null
            );
          });
        }
      } catch (error) {
        if (!sessionEnded(this.client))
          await this.deleteNode(`${this.path}/${own.name}`).catch(() => {});
        throw error;
      }
    } finally {
      cancel();
    }
  }

  /**
   * Creates this attempt's node. Its name starts with a prefix unique to the attempt, so that after
   * a connection loss the node can be found again if the create did apply (Curator's protection).
   */
  private async createOwnNode(): Promise<{ name: string; token: bigint }> {
    const prefix = `${protectedPrefix()}${this.marker}`;
    for (;;) {
      try {
        const created = await this.client.create2(`${this.path}/${prefix}`, this.data, {
          mode: "ephemeralSequential",
        });
        return { name: created.path.slice(this.path.length + 1), token: created.stat.czxid };
      } catch (error) {
        if (error instanceof NoNodeError) {
          // The parent was a container reaped between ensurePath and create.
          await retryOnConnectionLoss(() => ensurePath(this.client, this.path));
          continue;
        }
        if (!(error instanceof ConnectionLossError)) throw error;
      }
      const children = await retryOnConnectionLoss(() => this.client.getChildren(this.path));
      const name = children.find((c) => c.startsWith(prefix));
      if (name === undefined) continue;
      const stat = await retryOnConnectionLoss(() => this.client.exists(`${this.path}/${name}`));
      if (stat !== null) return { name, token: stat.czxid };
    }
  }

  private async holding(own: { name: string; token: bigint }): Promise<LockHandle> {
    const node = `${this.path}/${own.name}`;
    const lost = new AbortController();
    const off = this.client.on("state", (state) => {
      if (state === "expired" || state === "closed" || state === "authFailed") {
        lost.abort(new SessionExpiredError(node, `the lock is lost: the session ended (${state})`));
      }
    });
    let released = false;
    const watchOwn = () => {
      this.client
        .exists(node, {
          watch: (event) => {
            if (released) return;
            if (event.type === "NodeDeleted")
              lost.abort(new NoNodeError(node, "the lock node was deleted"));
            else watchOwn();
          },
        })
        .then(
          (stat) => {
            if (stat === null && !released)
              lost.abort(new NoNodeError(node, "the lock node was deleted"));
          },
          () => {},
        );
    };
    watchOwn();
    return {
      node,
      token: own.token,
      signal: lost.signal,
      release: async () => {
        if (released) return;
        released = true;
        off();
        if (!lost.signal.aborted) await this.deleteNode(node);
      },
    };
  }

  private async deleteNode(node: string): Promise<void> {
    try {
      await retryOnConnectionLoss(() => this.client.delete(node));
    } catch (error) {
      if (!(error instanceof NoNodeError)) throw error;
    }
  }
}

/** An AbortSignal that fires on the caller's signal or after timeoutMs, whichever comes first. */
function deadline(options: AcquireOptions): {
  signal: AbortSignal | undefined;
  cancel: () => void;
} {
  if (options.timeoutMs === undefined || options.timeoutMs === 0)
    return { signal: options.signal, cancel: () => {} };
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new LockTimeoutError(`not acquired within ${options.timeoutMs} ms`)),
    options.timeoutMs,
  );
  const onAbort = () => controller.abort(options.signal!.reason);
  options.signal?.addEventListener("abort", onAbort, { once: true });
  if (options.signal?.aborted) onAbort();
  return {
    signal: controller.signal,
    cancel: () => {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
    },
  };
}

/** A distributed mutex: at most one holder at a time among every client using `path`. */
export class Mutex {
  private readonly contender: LockContender;

  /** `data` is stored in the lock node (e.g. who holds it), for operators and tools. */
  constructor(
    client: ZooKeeperClient,
    readonly path: string,
    data = "",
  ) {
    this.contender = new LockContender(client, path, "write", "lock-", data);
  }

  /** Waits until this caller holds the lock (or the options give up). */
  acquire(options: AcquireOptions = {}): Promise<LockHandle> {
    return this.contender.acquire(options);
  }

  /** Runs `body` holding the lock, and releases it however `body` ends. */
  async withLock<T>(
    body: (lock: LockHandle) => Promise<T>,
    options: AcquireOptions = {},
  ): Promise<T> {
    const lock = await this.acquire(options);
    try {
      return await body(lock);
    } finally {
      await lock.release();
    }
  }
}

/** Many readers or one writer; a waiting writer holds back readers that come after it. */
export class ReadWriteLock {
  readonly readLock: { acquire(options?: AcquireOptions): Promise<LockHandle> };
  readonly writeLock: { acquire(options?: AcquireOptions): Promise<LockHandle> };

  constructor(
    client: ZooKeeperClient,
    readonly path: string,
    data = "",
  ) {
    const reader = new LockContender(client, path, "read", "read-", data);
    const writer = new LockContender(client, path, "write", "write-", data);
    this.readLock = { acquire: (options) => reader.acquire(options) };
    this.writeLock = { acquire: (options) => writer.acquire(options) };
  }
}
