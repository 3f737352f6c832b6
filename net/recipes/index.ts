// Coordination recipes on the client: see README.md next to this file.

export { Barrier, DoubleBarrier } from "./barrier.ts";
export { ConfigWatcher, jsonConfig } from "./config-watcher.ts";
export type { ConfigWatcherOptions } from "./config-watcher.ts";
export { SharedCounter } from "./counter.ts";
export type { CounterValue } from "./counter.ts";
export { Group } from "./group.ts";
export type { Member } from "./group.ts";
export { LeaderLatch, LeaderSelector } from "./leader.ts";
export type { Leadership, LeaderListener } from "./leader.ts";
export { decideLock, LockTimeoutError, Mutex, ReadWriteLock } from "./lock.ts";
export type { AcquireOptions, LockDecision, LockHandle, LockKind } from "./lock.ts";
export { AmbiguousTakeError, DistributedQueue } from "./queue.ts";
export { holdsLease, Semaphore } from "./semaphore.ts";
export type { Lease } from "./semaphore.ts";
