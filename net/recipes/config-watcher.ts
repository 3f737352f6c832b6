// A configuration value kept current by watches: read once, then re-read on every change of the
// node (created, changed, deleted). The watches survive reconnects (the client re-registers them);
// after a session expiry the watcher stops and says so.

import type { ZooKeeperClient } from "../client/index.ts";
import { NoNodeError } from "../client/index.ts";
import { retryOnConnectionLoss, sessionEnded } from "./common.ts";

export interface ConfigWatcherOptions<T> {
  /** Turns the node's bytes (undefined: no node) into the value. */
  decode: (data: Uint8Array | undefined) => T;
}

export class ConfigWatcher<T> {
  private current: T;
  private currentVersion = -1;
  /** The mzxid of the value (0 for no node): a node deleted and made again restarts its version. */
  private currentMzxid = -1n;
  private readonly listeners = new Set<(value: T) => void>();
  private stopped = false;
  private offState: (() => void) | undefined;

  private constructor(
    private readonly client: ZooKeeperClient,
    readonly path: string,
    private readonly options: ConfigWatcherOptions<T>,
  ) {
    this.current = options.decode(undefined);
  }

  /** Reads the value and keeps it current; resolves once the first read is done. */
  static async start<T>(
    client: ZooKeeperClient,
    path: string,
    options: ConfigWatcherOptions<T>,
  ): Promise<ConfigWatcher<T>> {
    const watcher = new ConfigWatcher(client, path, options);
    watcher.offState = client.on("state", () => {
      if (sessionEnded(client)) watcher.stop();
    });
    await watcher.refresh();
    return watcher;
  }

  /** The latest value read. */
  get value(): T {
    return this.current;
  }

  /** The node's version of the latest value (-1: no node). */
  get version(): number {
    return this.currentVersion;
  }

  get running(): boolean {
    return !this.stopped;
  }

  /** Called with each new value. */
  onChange(listener: (value: T) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stop(): void {
    this.stopped = true;
    this.offState?.();
  }

  private async refresh(): Promise<void> {
    if (this.stopped) return;
    const again = () => {
      this.refresh().catch(() => {
        // the session ended while re-reading: the state listener has stopped the watcher
      });
    };
    let data: Uint8Array | undefined;
    let version = -1;
    let mzxid = 0n;
    try {
      const read = await retryOnConnectionLoss(() =>
        this.client.getData(this.path, { watch: again }),
      );
      data = read.data;
      version = read.stat.version;
      mzxid = read.stat.mzxid;
    } catch (error) {
      if (!(error instanceof NoNodeError)) throw error;
      const stat = await retryOnConnectionLoss(() =>
        this.client.exists(this.path, { watch: again }),
      );
      if (stat !== null) return again(); // created between the two reads
    }
    if (this.stopped || mzxid === this.currentMzxid) return;
    this.current = this.options.decode(data);
    this.currentVersion = version;
    this.currentMzxid = mzxid;
    for (const listener of [...this.listeners]) listener(this.current);
  }
}

/** A decoder for JSON values with a default for a missing or empty node. */
export function jsonConfig<T>(fallback: T): ConfigWatcherOptions<T> {
  return {
    decode: (data) =>
      data === undefined || data.length === 0
        ? fallback
        : (JSON.parse(new TextDecoder().decode(data)) as T),
  };
}
