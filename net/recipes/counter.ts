// A shared counter: an integer (decimal text) in one znode, changed by compare-and-set on the
// node's version, so concurrent increments never lose one another.

import type { ZooKeeperClient } from "../client/index.ts";
import { BadVersionError, NodeExistsError, NoNodeError, text } from "../client/index.ts";
import { ensurePath, retryOnConnectionLoss } from "./common.ts";

export interface CounterValue {
  value: bigint;
  /** The version this value was read at: trySet succeeds only if it is still current. */
  version: number;
}

export class SharedCounter {
  constructor(
    private readonly client: ZooKeeperClient,
    readonly path: string,
    private readonly initial = 0n,
  ) {}

  async get(): Promise<CounterValue> {
    for (;;) {
      try {
        const { data, stat } = await retryOnConnectionLoss(() => this.client.getData(this.path));
        return { value: parse(text(data)), version: stat.version };
      } catch (error) {
        if (!(error instanceof NoNodeError)) throw error;
        await this.createIfMissing();
      }
    }
  }

  /** Sets the value if nobody changed it since `seen` was read; false if someone did. */
  async trySet(seen: CounterValue, value: bigint): Promise<boolean> {
    try {
      await this.client.setData(this.path, value.toString(), seen.version);
      return true;
    } catch (error) {
      if (error instanceof BadVersionError) return false;
      throw error;
    }
  }

  /**
   * Adds `delta` and returns the new value. A ConnectionLossError from here is ambiguous (the
   * write may have applied), as with any ZooKeeper write: it is not retried behind the caller.
   */
  async add(delta: bigint): Promise<bigint> {
    for (;;) {
      const seen = await this.get();
      if (await this.trySet(seen, seen.value + delta)) return seen.value + delta;
    }
  }

  increment(): Promise<bigint> {
    return this.add(1n);
  }

  private async createIfMissing(): Promise<void> {
    const parent = this.path.slice(0, this.path.lastIndexOf("/")) || "/";
    await retryOnConnectionLoss(() => ensurePath(this.client, parent, "persistent"));
    try {
      await retryOnConnectionLoss(() => this.client.create(this.path, this.initial.toString()));
    } catch (error) {
      if (!(error instanceof NodeExistsError)) throw error;
    }
  }
}

function parse(value: string): bigint {
  return value === "" ? 0n : BigInt(value);
}
