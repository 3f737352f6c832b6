// A distributed FIFO queue: items are persistent sequential nodes under the queue's path; a
// consumer takes the lowest by reading and then deleting it at the version it read, and only the
// consumer whose delete succeeded has it, so no item is handed to two consumers. A delete whose
// reply was lost is ambiguous: that item is then reported to the caller, never silently retried.

import type { ZooKeeperClient } from "../client/index.ts";
import { ConnectionLossError, NoNodeError } from "../client/index.ts";
import { bySequence, ensurePath, retryOnConnectionLoss, waitForWatch } from "./common.ts";

const itemPrefix = "item-";

/** A delete's reply was lost: the item may or may not have been taken by this consumer. */
export class AmbiguousTakeError extends Error {
  override name = "AmbiguousTakeError";
  constructor(
    readonly node: string,
    readonly data: Uint8Array,
  ) {
    super(`the take of ${node} may or may not have applied (connection lost)`);
  }
}

export class DistributedQueue {
  constructor(
    private readonly client: ZooKeeperClient,
    readonly path: string,
  ) {}

  /** Appends an item; resolves with its node's path. */
  async put(data: Uint8Array | string): Promise<string> {
    await retryOnConnectionLoss(() => ensurePath(this.client, this.path, "persistent"));
    return this.client.create(`${this.path}/${itemPrefix}`, data, { mode: "persistentSequential" });
  }

  /** The oldest item, removed; undefined when the queue is empty. */
  async poll(): Promise<Uint8Array | undefined> {
    return (await this.tryTake(undefined))?.data;
  }

  /** Waits for an item and removes it. */
  async take(signal?: AbortSignal): Promise<Uint8Array> {
    for (;;) {
      let taken: { data: Uint8Array } | undefined;
      await waitForWatch(this.client, signal, async (fired) => {
        taken = await this.tryTake(fired);
        return taken === undefined;
      });
      if (taken !== undefined) return taken.data;
    }
  }

  /** Items waiting, oldest first (names only). */
  async items(): Promise<string[]> {
    try {
      return bySequence(await retryOnConnectionLoss(() => this.client.getChildren(this.path)));
    } catch (error) {
      if (error instanceof NoNodeError) return [];
      throw error;
    }
  }

  private async tryTake(
    watch: (() => void) | undefined,
  ): Promise<{ data: Uint8Array } | undefined> {
    let children: string[];
    try {
      children = await retryOnConnectionLoss(() =>
        this.client.getChildren(this.path, watch === undefined ? {} : { watch }),
      );
    } catch (error) {
      if (!(error instanceof NoNodeError)) throw error;
      await retryOnConnectionLoss(() => ensurePath(this.client, this.path, "persistent"));
      return this.tryTake(watch);
    }
    for (const name of bySequence(children)) {
      const node = `${this.path}/${name}`;
      let read: { data: Uint8Array; stat: { version: number } };
      try {
        read = await retryOnConnectionLoss(() => this.client.getData(node));
      } catch (error) {
        if (error instanceof NoNodeError) continue; // another consumer took it
        throw error;
      }
      try {
        await this.client.delete(node, read.stat.version);
        return { data: read.data };
      } catch (error) {
        if (error instanceof NoNodeError) continue;
        if (error instanceof ConnectionLossError) throw new AmbiguousTakeError(node, read.data);
        throw error;
      }
    }
    return undefined;
  }
}
