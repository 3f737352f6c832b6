// Every limit by name (TIGER_STYLE). Defaults follow ZooKeeper's where it has one.

/** jute.maxbuffer default (0xfffff): the largest frame, and so the largest znode data. */
export const juteMaxBufferBytes = 0xfffff;
/** zoo_sample.cfg tickTime. */
export const tickMsDefault = 2000;
/** ZooKeeper's defaults: minSessionTimeout = 2 ticks, maxSessionTimeout = 20 ticks. */
export const sessionTimeoutTicksMin = 2;
export const sessionTimeoutTicksMax = 20;
/** ContainerManager's default cap on deletions per pass (containerMaxPerMinute). */
export const reaperDeletesPerPassMax = 10_000;
/** A sequential counter is a signed 32-bit int; a full width name is 10 characters. */
export const sequenceDigits = 10;

// Queues of the replicated core, each with its bound and what happens at it. Harnesses keep far
// below them (the server's globalOutstandingLimit is 1,000 requests); they guard memory and catch a
// harness or protocol bug, they are not flow control.

/**
 * Requests of one client connection not yet answered (queued, or held until its session is
 * established). A client past it is hung up on, as ZooKeeper drops a connection it cannot serve.
 */
export const connectionRequestsMax = 10_000;
/**
 * Proposals a leader holds uncommitted: a quorum that stops acknowledging is lost after syncLimit.
 */
export const proposalsUncommittedMax = 1_000_000;
/** Persist effects issued and not yet reported done: the harness must keep fsyncing. */
export const persistsInFlightMax = 1_000_000;
/** Syncs a leader holds until a quorum round: each is a client request, so clients bound them. */
export const syncsWaitingMax = 1_000_000;
