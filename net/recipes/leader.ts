// Leader election on the lock recipe: the lowest ephemeral sequential node under the election's
// path leads. A leader's term is its node's czxid, so terms grow with each new leader and a
// follower of the system can refuse orders from an older term. Leadership ends when the leader
// closes the latch, or its session ends (then `isLeader` turns false and "notLeader" fires).

import type { ZooKeeperClient } from "../client/index.ts";
import { NoNodeError, text } from "../client/index.ts";
import { bySequence } from "./common.ts";
import type { LockHandle } from "./lock.ts";
import { Mutex } from "./lock.ts";

export type LeaderListener = (event: "leader" | "notLeader", term: bigint) => void;

/** Curator's LeaderLatch: join the election and stay in it until closed. */
export class LeaderLatch {
  private readonly mutex: Mutex;
  private readonly stop = new AbortController();
  private readonly listeners = new Set<LeaderListener>();
  private held: LockHandle | undefined;
  private running: Promise<void> | undefined;
  private waiters: (() => void)[] = [];

  constructor(
    private readonly client: ZooKeeperClient,
    readonly path: string,
    readonly id = "",
  ) {
    this.mutex = new Mutex(client, path, id);
  }

  get isLeader(): boolean {
    return this.held !== undefined && !this.held.signal.aborted;
  }

  /** The current term while leading (the leader node's czxid). */
  get term(): bigint | undefined {
    return this.isLeader ? this.held!.token : undefined;
  }

  /** The signal of the current term: aborted when this leadership ends. */
  get leadershipSignal(): AbortSignal | undefined {
    return this.held?.signal;
  }

  on(listener: LeaderListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Joins the election; leadership comes later (awaitLeadership, isLeader, "leader" events). */
  start(): void {
    if (this.running !== undefined) throw new Error("the latch is already started");
    this.running = this.mutex.acquire({ signal: this.stop.signal }).then(
      (handle) => {
        this.held = handle;
        this.emit("leader", handle.token);
        for (const wake of this.waiters.splice(0)) wake();
        handle.signal.addEventListener("abort", () => this.emit("notLeader", handle.token), {
          once: true,
        });
      },
      () => {
        for (const wake of this.waiters.splice(0)) wake();
      },
    );
  }

  /** Resolves with the term once this latch leads; rejects if it is closed or loses its session. */
  async awaitLeadership(signal?: AbortSignal): Promise<bigint> {
    if (this.running === undefined) this.start();
    if (!this.isLeader) {
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => reject(signal!.reason);
        signal?.addEventListener("abort", onAbort, { once: true });
        this.waiters.push(() => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        });
      });
    }
    if (!this.isLeader) throw new Error("the latch was closed or its session ended before it led");
    return this.term!;
  }

  /** The id of the participant leading now (undefined if nobody is in the election). */
  async leaderId(): Promise<string | undefined> {
    return (await this.participants()).find((p) => p.isLeader)?.id;
  }

  /** Everyone in the election, in the order they will lead. */
  async participants(): Promise<{ id: string; isLeader: boolean }[]> {
    let children: string[];
    try {
      children = bySequence(await this.client.getChildren(this.path));
    } catch (error) {
      if (error instanceof NoNodeError) return [];
      throw error;
    }
    const out: { id: string; isLeader: boolean }[] = [];
    for (const child of children) {
      try {
        const { data } = await this.client.getData(`${this.path}/${child}`);
        out.push({ id: text(data), isLeader: out.length === 0 });
      } catch (error) {
        if (!(error instanceof NoNodeError)) throw error; // left meanwhile
      }
    }
    return out;
  }

  /** Leaves the election (giving up leadership if held). */
  async close(): Promise<void> {
    this.stop.abort(new Error("the latch is closed"));
    await this.running;
    const held = this.held;
    this.held = undefined;
    if (held !== undefined) {
      const wasLeading = !held.signal.aborted;
      await held.release();
      if (wasLeading) this.emit("notLeader", held.token);
    }
  }

  private emit(event: "leader" | "notLeader", term: bigint): void {
    for (const listener of [...this.listeners]) listener(event, term);
  }
}

export interface Leadership {
  term: bigint;
  /** Aborted when the leadership is lost (session ended): stop acting as the leader at once. */
  signal: AbortSignal;
}

/**
 * Curator's LeaderSelector: each participant leads in turn for as long as `lead` runs, then goes
 * back in line; `stop()` leaves the line (and ends the current turn's wait, not its work).
 */
export class LeaderSelector {
  private readonly mutex: Mutex;
  private readonly halt = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(
    private readonly client: ZooKeeperClient,
    readonly path: string,
    private readonly lead: (leadership: Leadership) => Promise<void>,
    id = "",
  ) {
    this.mutex = new Mutex(client, path, id);
  }

  start(): void {
    if (this.loop !== undefined) throw new Error("the selector is already started");
    this.loop = (async () => {
      while (!this.halt.signal.aborted) {
        let handle: LockHandle;
        try {
          handle = await this.mutex.acquire({ signal: this.halt.signal });
        } catch {
          return; // stopped, or the session ended
        }
        try {
          await this.lead({ term: handle.token, signal: handle.signal });
        } catch {
          // a failed turn gives leadership up like a finished one
        } finally {
          await handle.release().catch(() => {});
        }
        if (this.client.state === "expired" || this.client.state === "closed") return;
      }
    })();
  }

  async stop(): Promise<void> {
    this.halt.abort(new Error("the selector is stopped"));
    await this.loop;
  }
}
