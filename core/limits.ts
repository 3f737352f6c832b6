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
