// Barriers. A Barrier holds everyone waiting on it until it is removed. A DoubleBarrier lets its
// members start together once `count` have entered, and finish together once all have left
// (ZooKeeper's double-barrier recipe: an ephemeral node per member and a "ready" node).

import type { ZooKeeperClient } from "../client/index.ts";
import { NodeExistsError, NoNodeError } from "../client/index.ts";
import { ensurePath, retryOnConnectionLoss, waitForWatch } from "./common.ts";

export class Barrier {
  constructor(
    private readonly client: ZooKeeperClient,
    readonly path: string,
  ) {}

  /** Raises the barrier (idempotent). */
  async set(): Promise<void> {
    const parent = this.path.slice(0, this.path.lastIndexOf("/")) || "/";
    await retryOnConnectionLoss(() => ensurePath(this.client, parent, "persistent"));
    try {
      await retryOnConnectionLoss(() => this.client.create(this.path));
    } catch (error) {
      if (!(error instanceof NodeExistsError)) throw error;
    }
  }

  /** Lowers it: everyone waiting goes on. */
  async remove(): Promise<void> {
    try {
      await retryOnConnectionLoss(() => this.client.delete(this.path));
    } catch (error) {
      if (!(error instanceof NoNodeError)) throw error;
    }
  }

  /** Resolves once the barrier is down (at once if it is not up). */
  async wait(signal?: AbortSignal): Promise<void> {
    for (;;) {
      let up = false;
      await waitForWatch(this.client, signal, async (fired) => {
        up =
          (await retryOnConnectionLoss(() => this.client.exists(this.path, { watch: fired }))) !==
          null;
        return up;
      });
      if (!up) return;
    }
  }
}

const readyNode = "ready";

export class DoubleBarrier {
  private readonly ownNode: string;

  constructor(
    private readonly client: ZooKeeperClient,
    readonly path: string,
    readonly count: number,
    /** This member's name (unique among the members). */
    readonly member: string,
  ) {
    if (member === readyNode) throw new Error(`"${readyNode}" is the barrier's own node`);
    this.ownNode = `${path}/${member}`;
  }

  /** Joins; resolves once `count` members have joined. */
  async enter(signal?: AbortSignal): Promise<void> {
    await retryOnConnectionLoss(() => ensurePath(this.client, this.path, "persistent"));
    try {
      await retryOnConnectionLoss(() =>
        this.client.create(this.ownNode, "", { mode: "ephemeral" }),
      );
    } catch (error) {
      if (!(error instanceof NodeExistsError)) throw error;
    }
    const members = await this.members();
    if (members.length >= this.count) {
      try {
        await retryOnConnectionLoss(() => this.client.create(`${this.path}/${readyNode}`));
      } catch (error) {
        if (!(error instanceof NodeExistsError)) throw error;
      }
    }
    for (;;) {
      let ready = false;
      await waitForWatch(this.client, signal, async (fired) => {
        ready =
          (await retryOnConnectionLoss(() =>
            this.client.exists(`${this.path}/${readyNode}`, { watch: fired }),
          )) !== null;
        return !ready;
      });
      if (ready) return;
    }
  }

  /** Leaves; resolves once every member has left. */
  async leave(signal?: AbortSignal): Promise<void> {
    try {
      await retryOnConnectionLoss(() => this.client.delete(this.ownNode));
    } catch (error) {
      if (!(error instanceof NoNodeError)) throw error;
    }
    for (;;) {
      let left = 0;
      await waitForWatch(this.client, signal, async (fired) => {
        const children = await retryOnConnectionLoss(() =>
          this.client.getChildren(this.path, { watch: fired }),
        );
        left = children.filter((c) => c !== readyNode).length;
        return left > 0;
      });
      if (left === 0) break;
    }
    // The last to see the room empty takes the ready node down, for the barrier's next round.
    try {
      await retryOnConnectionLoss(() => this.client.delete(`${this.path}/${readyNode}`));
    } catch (error) {
      if (!(error instanceof NoNodeError)) throw error;
    }
  }

  private async members(): Promise<string[]> {
    const children = await retryOnConnectionLoss(() => this.client.getChildren(this.path));
    return children.filter((c) => c !== readyNode);
  }
}
