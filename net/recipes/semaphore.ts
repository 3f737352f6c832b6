// A counting semaphore with `leases` leases: each contender makes an ephemeral sequential node;
// the first `leases` nodes in sequence order hold a lease. Every holder that leaves lets the next
// one in, so waiters watch the children (any earlier node going may admit them).

import type { ZooKeeperClient } from "../client/index.ts";
import { NoNodeError, SessionExpiredError } from "../client/index.ts";
import {
  bySequence,
  ensurePath,
  retryOnConnectionLoss,
  sessionEnded,
  waitForWatch,
} from "./common.ts";

export interface Lease {
  readonly node: string;
  /** Aborted when the session ends: the lease is gone. */
  readonly signal: AbortSignal;
  release(): Promise<void>;
}

/** The semaphore's decision on its children: does `own` hold a lease? No I/O. */
export function holdsLease(
  children: readonly string[],
  own: string,
  leases: number,
): boolean | "lost" {
  const index = bySequence(children).indexOf(own);
  return index < 0 ? "lost" : index < leases;
}

export class Semaphore {
  constructor(
    private readonly client: ZooKeeperClient,
    readonly path: string,
    readonly leases: number,
  ) {
    if (!Number.isInteger(leases) || leases < 1)
      throw new Error("a semaphore needs at least one lease");
  }

  async acquire(signal?: AbortSignal): Promise<Lease> {
    await retryOnConnectionLoss(() => ensurePath(this.client, this.path));
    const created = await this.client.create(`${this.path}/lease-`, "", {
      mode: "ephemeralSequential",
    });
    const own = created.slice(this.path.length + 1);
    try {
      for (;;) {
        let decision = false as boolean | "lost";
        await waitForWatch(this.client, signal, async (fired) => {
          const children = await retryOnConnectionLoss(() =>
            this.client.getChildren(this.path, { watch: fired }),
          );
          decision = holdsLease(children, own, this.leases);
          return decision === false;
        });
        if (decision === "lost") throw new SessionExpiredError(created, "the lease node is gone");
        if (decision === true) return this.lease(created);
      }
    } catch (error) {
      if (!sessionEnded(this.client)) await this.remove(created).catch(() => {});
      throw error;
    }
  }

  private lease(node: string): Lease {
    const lost = new AbortController();
    const off = this.client.on("state", () => {
      if (sessionEnded(this.client)) lost.abort(new SessionExpiredError(node, "the lease is lost"));
    });
    let released = false;
    return {
      node,
      signal: lost.signal,
      release: async () => {
        if (released) return;
        released = true;
        off();
        if (!lost.signal.aborted) await this.remove(node);
      },
    };
  }

  private async remove(node: string): Promise<void> {
    try {
      await retryOnConnectionLoss(() => this.client.delete(node));
    } catch (error) {
      if (!(error instanceof NoNodeError)) throw error;
    }
  }
}
