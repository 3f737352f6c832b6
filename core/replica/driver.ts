// The driver kit: what every harness (the simulator, the interaction-test cluster, the server)
// does around `step`, written once. A harness supplies the clock, a handler per effect type and,
// if it wants them, a trace sink and the invariant checks; the kit runs the step and hands each
// effect to its handler in order. The handler table is exhaustive: a new effect type does not
// compile until every harness says what it means.

import { assert, InvariantViolation } from "../assert.ts";
import { SnapshotEncoder } from "../storage.ts";
import type { Txn } from "../txn.ts";
import type { Zxid } from "../types.ts";
import type { DiskWrite, DurableState, Effect, Input } from "./io.ts";
import { describeEffect, describeInput, isTraced, withSnapshot } from "./io.ts";
import { checkClusterInvariants, checkReplicaInvariants } from "./invariants.ts";
import type { NodeId, PeerMessage } from "./messages.ts";
import type { ReplicaConfig, ReplicaState } from "./state.ts";
import type { ReplicaStatus, ReplicaView } from "./status.ts";
import { inspectReplica, replicaStatus } from "./status.ts";
import { startReplica, step } from "./step.ts";
import type { StepResult } from "./step.ts";

export type StepFunction = (state: ReplicaState, input: Input, nowMs: number) => StepResult;

/** One handler per effect type. */
export type EffectHandlers = {
  readonly [K in Effect["type"]]: (effect: Extract<Effect, { type: K }>) => void;
};

/** Carries out effects in the order they were emitted (io.ts, rule 1). */
export function dispatchEffects(effects: readonly Effect[], handlers: EffectHandlers): void {
  for (const effect of effects) (handlers[effect.type] as (effect: Effect) => void)(effect);
}

export interface DriverOptions {
  /** Receives a line per input and per traced effect; without it no line is built. */
  trace?: (line: string, of: "input" | "effect") => void;
  /** Checks the replica's own invariants after every step (tests and the simulator). */
  checkInvariants?: boolean;
  /** Replaces the core's step only in tests of the simulator's teeth. */
  step?: StepFunction;
}

/**
 * One server's replica: started, stepped and crashed by its harness. The state stays inside; what
 * a harness may know of it is in the effects, `status` and `inspect`.
 */
export class ReplicaDriver {
  private state: ReplicaState | undefined;

  constructor(
    readonly id: NodeId,
    readonly config: ReplicaConfig,
    private readonly options: DriverOptions = {},
  ) {}

  get isUp(): boolean {
    return this.state !== undefined;
  }

  /** Starts (or restarts) from what the disk holds; returns the first effects. */
  start(durable: DurableState | undefined, nowMs: number): readonly Effect[] {
    assert(this.state === undefined, `server ${this.id} starts only when down`);
    const { state, effects } = startReplica(this.config, durable, nowMs);
    this.state = state;
    this.traceEffects(effects);
    return effects;
  }

  /** One input at the harness's clock reading; returns the step's effects, in order. */
  deliver(input: Input, nowMs: number): readonly Effect[] {
    const state = this.state;
    // Messages built only on failure: these run for every input and every send.
    if (state === undefined)
      throw new InvariantViolation(`server ${this.id} is up to take an input`);
    this.options.trace?.(describeInput(this.id, input, nowMs), "input");
    const { effects } = (this.options.step ?? step)(state, input, nowMs);
    this.traceEffects(effects);
    if (this.options.checkInvariants) checkReplicaInvariants(state);
    return effects;
  }

  /** The process is gone: its memory with it. */
  crash(): void {
    this.state = undefined;
  }

  /** A send's message with the snapshot a SYNC names encoded from this replica's tree. */
  encodeSnapshotFor(message: PeerMessage): PeerMessage {
    if (this.state === undefined)
      throw new InvariantViolation(`server ${this.id} is up to encode a snapshot`);
    return withSnapshot(message, this.state.db);
  }

  /**
   * A snapshot of the committed tree as it is now, encoded a piece at a time while this replica
   * goes on stepping (SnapshotEncoder): how a harness snapshots without stalling the replica.
   */
  captureSnapshot(): SnapshotEncoder {
    assert(this.state !== undefined, `server ${this.id} is up to capture a snapshot`);
    return new SnapshotEncoder(this.state.db);
  }

  status(): ReplicaStatus | undefined {
    return this.state === undefined ? undefined : replicaStatus(this.state);
  }

  /** The read-only view for admin commands, metrics and tests; valid until the next step. */
  inspect(): ReplicaView | undefined {
    return this.state === undefined ? undefined : inspectReplica(this.state);
  }

  /** The cross-server invariants (one leader per epoch, agreeing histories and digests). */
  static checkCluster(drivers: Iterable<ReplicaDriver>): void {
    const states = new Map<NodeId, ReplicaState>();
    for (const driver of drivers)
      if (driver.state !== undefined) states.set(driver.id, driver.state);
    checkClusterInvariants(states);
  }

  private traceEffects(effects: readonly Effect[]): void {
    const trace = this.options.trace;
    if (trace === undefined) return;
    for (const effect of effects)
      if (isTraced(effect)) trace(describeEffect(this.id, effect), "effect");
  }
}

/**
 * What a disk holds, as recovery reads it back: the meaning of every DiskWrite, for models of it.
 */
export interface DiskImage {
  acceptedEpoch: number;
  currentEpoch: number;
  snapshot: { zxid: Zxid; bytes: Uint8Array } | undefined;
  /** Logged txns after the snapshot, in zxid order. */
  log: Txn[];
}

export function emptyDiskImage(): DiskImage {
  return { acceptedEpoch: 0, currentEpoch: 0, snapshot: undefined, log: [] };
}

/** Applies one durable write to a disk image: what a real disk must also do, in effect. */
export function applyDiskWrite(disk: DiskImage, write: DiskWrite): void {
  switch (write.kind) {
    case "append":
      for (const txn of write.txns) disk.log.push(txn); // no spread: a batch may be large
      return;
    case "truncate": {
      let keep = disk.log.length;
      while (keep > 0 && disk.log[keep - 1]!.zxid > write.zxid) keep--;
      disk.log.length = keep;
      return;
    }
    case "epochs":
      disk.acceptedEpoch = write.acceptedEpoch;
      disk.currentEpoch = write.currentEpoch;
      return;
    case "snapshot":
      disk.snapshot = { zxid: write.zxid, bytes: write.bytes };
      // Records the snapshot covers are purged (a replacing snapshot covers the whole log).
      disk.log = write.replaceLog ? [] : disk.log.filter((txn) => txn.zxid > write.zxid);
      return;
  }
}

/** What `startReplica` is given from a disk image. */
export function recoverDiskImage(disk: DiskImage): DurableState {
  const base = disk.snapshot?.zxid ?? 0n;
  return {
    acceptedEpoch: disk.acceptedEpoch,
    currentEpoch: disk.currentEpoch,
    snapshot: disk.snapshot?.bytes,
    log: disk.log.filter((txn) => txn.zxid > base),
  };
}
