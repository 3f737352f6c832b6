// The replicated core's one door: everything outside core/ that drives or inspects a replica
// imports it from here (the purity check enforces it), so what a harness may rely on is this list.

export { startReplica, step } from "./step.ts";
export type { StepResult } from "./step.ts";
export type {
  ClientOp,
  ConnId,
  DiskWrite,
  DurableState,
  Effect,
  Input,
} from "./io.ts";
export {
  describeClientOp,
  describeEffect,
  describeInput,
  isTraced,
  needsSnapshot,
  withSnapshot,
} from "./io.ts";
export type {
  ForwardedWork,
  NodeId,
  PeerMessage,
  ServerState,
  Vote,
} from "./messages.ts";
export { describeMessage } from "./messages.ts";
export type { ReplicaConfig } from "./state.ts";
export { replicaConfig } from "./state.ts";
export type { ProtocolPolicy } from "./policy.ts";
export { zabPolicy } from "./policy.ts";
export type { LearnerView, ReplicaStatus, ReplicaView, TreeView } from "./status.ts";
export type { DiskImage, DriverOptions, EffectHandlers, StepFunction } from "./driver.ts";
export {
  applyDiskWrite,
  dispatchEffects,
  emptyDiskImage,
  recoverDiskImage,
  ReplicaDriver,
} from "./driver.ts";
