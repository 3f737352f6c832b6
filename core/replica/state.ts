// A replica's whole state. `step` (step.ts) is the only writer; only the `become*` functions in
// roles.ts change `role`. The harness never sees this object: it sees inputs and effects.

import { assert } from "../assert.ts";
import { Database } from "../database.ts";
import {
  juteMaxBufferBytes,
  sessionTimeoutTicksMax,
  sessionTimeoutTicksMin,
  tickMsDefault,
} from "../limits.ts";
import type { PendingChanges } from "../pending.ts";
import { decodeSnapshot } from "../storage.ts";
import type { ReplicaStatus } from "./status.ts";
import type { Txn } from "../txn.ts";
import type { Id, SessionId, Zxid } from "../types.ts";
import { zxid } from "../types.ts";
import { WatchManager } from "../watches.ts";
import type { ClientOp, ConnId, DurableState, Effect } from "./io.ts";
import type { ForwardedWork, NodeId, ServerState, Vote } from "./messages.ts";
import type { Reply } from "../requests.ts";
import type { ProtocolPolicy } from "./policy.ts";
import { zabPolicy } from "./policy.ts";

export interface ReplicaConfig {
  id: NodeId;
  /** Every voting member, this node included. */
  peers: readonly NodeId[];
  tickMs: number;
  /** Ticks a follower may take to connect and sync to a new leader. */
  initLimit: number;
  /** Ticks a follower may be out of touch with its leader (and vice versa) before giving up. */
  syncLimit: number;
  minSessionTimeoutMs: number;
  maxSessionTimeoutMs: number;
  extendedTypesEnabled: boolean;
  dataBytesMax: number;
  superDigest: string | undefined;
  /** Take a snapshot after this many committed txns. */
  snapshotEveryTxns: number;
  /** Committed txns kept in memory after a snapshot, to bring lagging followers up with a DIFF. */
  commitLogKeep: number;
  /**
   * How long an election waits for a better vote once a quorum agrees (FastLeaderElection's
   * finalizeWait).
   */
  electionFinalizeMs: number;
  /** Ensemble secret that session passwords derive from (any server can validate one). */
  passwordSecret: bigint;
  /** The protocol's decision points; always zabPolicy outside tests of the simulator's teeth. */
  policy: ProtocolPolicy;
}

export function replicaConfig(
  overrides: Partial<ReplicaConfig> & Pick<ReplicaConfig, "id" | "peers">,
): ReplicaConfig {
  const tickMs = overrides.tickMs ?? tickMsDefault;
  const config: ReplicaConfig = {
    tickMs,
    initLimit: 10,
    syncLimit: 5,
    minSessionTimeoutMs: tickMs * sessionTimeoutTicksMin,
    maxSessionTimeoutMs: tickMs * sessionTimeoutTicksMax,
    extendedTypesEnabled: false,
    dataBytesMax: juteMaxBufferBytes,
    superDigest: undefined,
    snapshotEveryTxns: 10_000,
    commitLogKeep: 500,
    electionFinalizeMs: 200,
    passwordSecret: 0x5a4b_5345_4352_4554n,
    policy: zabPolicy,
    ...overrides,
  };
  validateConfig(config);
  return config;
}

/** Bad config is rejected once, at construction, naming the field. */
export function validateConfig(config: ReplicaConfig): void {
  const fail = (field: string, why: string) => {
    throw new Error(`invalid replica config: ${field} ${why}`);
  };
  if (!config.peers.includes(config.id)) fail("peers", `must include this node's id ${config.id}`);
  if (new Set(config.peers).size !== config.peers.length) fail("peers", "has duplicates");
  if (config.peers.some((p) => !Number.isInteger(p) || p < 1 || p > 254))
    fail("peers", "ids must be integers in 1..254");
  if (!(config.tickMs > 0)) fail("tickMs", "must be positive");
  if (!(config.initLimit >= 1)) fail("initLimit", "must be at least 1");
  if (!(config.syncLimit >= 1)) fail("syncLimit", "must be at least 1");
  if (config.minSessionTimeoutMs > config.maxSessionTimeoutMs)
    fail("minSessionTimeoutMs", "exceeds maxSessionTimeoutMs");
  if (!(config.snapshotEveryTxns >= 1)) fail("snapshotEveryTxns", "must be at least 1");
}

export interface ElectionState {
  round: number;
  vote: Vote;
  /** Latest notification from each peer: its vote, its round and its state. */
  received: Map<NodeId, { vote: Vote; round: number; state: ServerState }>;
  /** When a quorum agreed on our vote: decide at this time unless a better vote arrives. */
  decideAtMs: number | undefined;
}

export type LearnerPhase = "info" | "epochAcked" | "syncing" | "synced";

export interface Learner {
  /** The follower's current attempt; handshake messages of other attempts are stale. */
  attempt: number;
  phase: LearnerPhase;
  lastZxid: Zxid;
  acceptedEpoch: number;
  currentEpoch: number;
  /** Highest zxid this follower has durably logged (cumulative ACK). */
  ackedZxid: Zxid;
  lastHeardMs: number;
}

export interface SessionInfo {
  timeoutMs: number;
  expiresAtMs: number;
  /** The server the session's client is connected to (SESSIONMOVED for the others). */
  owner: NodeId;
  closing: boolean;
}

export interface LeaderState {
  phase: "discovery" | "sync" | "broadcast";
  /** The epoch this leader establishes; set once a quorum reported its accepted epoch. */
  epoch: number;
  learners: Map<NodeId, Learner>;
  newLeaderZxid: Zxid;
  newLeaderAcks: Set<NodeId>;
  counter: number;
  pending: PendingChanges;
  /** Proposed and not yet committed, in zxid order. */
  proposals: Txn[];
  sessions: Map<SessionId, SessionInfo>;
  sessionCounter: number;
  /** Linearizable syncs waiting for a quorum round that started after they arrived. */
  syncs: { from: NodeId; tag: number; round: number; zxid: Zxid }[];
  pingRound: number;
  /** For each server, the newest ping round it answered in this epoch. */
  roundAcks: Map<NodeId, number>;
  lastQuorumHeardMs: number;
  establishedAtMs: number;
}

export interface FollowerState {
  leader: NodeId;
  attempt: number;
  phase: "discovery" | "epochWait" | "sync" | "broadcast";
  epoch: number;
  lastHeardMs: number;
  startedMs: number;
  /** Zxid of the NEWLEADER this follower acked; it is up to date from UPTODATE on. */
  newLeaderZxid: Zxid | undefined;
  touched: Set<SessionId>;
}

export interface PendingOp {
  xid: number;
  op: ClientOp;
  /**
   * Writes wait for their commit, syncs for the leader's answer; reads run when they reach the
   * head; writes and syncs behind an unanswered sync wait for its answer before they are sent.
   */
  status: "queued" | "behindSync" | "sent" | "done";
  reply: Reply | undefined;
}

export interface Connection {
  connId: ConnId;
  sessionId: SessionId | undefined;
  clientAddr: string;
  authIds: Id[];
  timeoutMs: number;
  /** False until the session is created or revalidated; requests sent before wait in `held`. */
  established: boolean;
  held: { xid: number; op: ClientOp }[];
  queue: PendingOp[];
  /**
   * How many entries of `queue` hold back the writes after them: those waiting behind a sync, and
   * syncs sent and not yet answered. Counted as they change, so that a write does not walk the
   * whole queue of a client with thousands of requests in flight.
   */
  syncBarriers: number;
}

export interface ClientsState {
  conns: Map<ConnId, Connection>;
  bySession: Map<SessionId, ConnId>;
  /** createSession / revalidate / sync tags sent to the leader, mapped back to the asker. */
  waiting: Map<
    number,
    { connId: ConnId; kind: "connect" | "revalidate" | "sync"; xid: number; password?: Uint8Array }
  >;
  nextTag: number;
  /** Sessions heard from since the last report to the leader. */
  touched: Set<SessionId>;
}

/**
 * What one part of a replica hands another within a step (a client's work for the leader, the
 * leader's answer to its own client), queued here and routed by step.ts once the handler that
 * produced it returns: the parts call no one back, so requests do not loop through the modules.
 */
export type Handoff =
  | { to: "leader"; work: ForwardedWork }
  | { to: "clients"; kind: "answer"; tag: number; ok: boolean; zxid: Zxid }
  | { to: "clients"; kind: "drop"; sessionId: SessionId; reason: string };

export type PersistAction =
  | { kind: "append"; zxid: Zxid }
  | { kind: "acceptedEpoch" }
  | { kind: "currentEpoch"; zxid: Zxid }
  | { kind: "snapshot"; zxid: Zxid };

export interface ReplicaState {
  config: ReplicaConfig;
  nowMs: number;
  role: ServerState;
  acceptedEpoch: number;
  currentEpoch: number;
  db: Database;
  /** Logged txns after `logBaseZxid`, in zxid order; those up to db.lastZxid are applied. */
  log: Txn[];
  logBaseZxid: Zxid;
  committedZxid: Zxid;
  durableZxid: Zxid;
  /** Persist effects not yet reported done, oldest first; completions arrive in order. */
  persists: { id: number; actions: PersistAction[] }[];
  nextPersistId: number;
  /** The newest persist that makes currentEpoch durable (0: none yet); see outputs.ts. */
  lastCurrentEpochPersistId: number;
  lastSnapshotZxid: Zxid;
  appliedSinceSnapshot: number;
  /** Counts follow attempts; a restart breaks every link, so counting from 0 again is safe. */
  followAttempts: number;
  peersUp: Set<NodeId>;
  election: ElectionState;
  leader: LeaderState | undefined;
  follower: FollowerState | undefined;
  clients: ClientsState;
  watches: WatchManager;
  /** Effects of the step in progress. */
  effects: Effect[];
  /** Handoffs of the step in progress, oldest first. */
  handoffs: Handoff[];
  /** The status last reported in a `status` effect. */
  lastStatus: ReplicaStatus | undefined;
  timerAtMs: number | undefined;
}

export const lastLoggedZxid = (s: ReplicaState): Zxid =>
  s.log.length > 0 ? s.log[s.log.length - 1]!.zxid : s.logBaseZxid;

/** A node's state after start: from its durable state, or empty on first boot. */
export function initReplica(
  config: ReplicaConfig,
  durable: DurableState | undefined,
  nowMs: number,
): ReplicaState {
  validateConfig(config);
  const options = { extendedTypesEnabled: config.extendedTypesEnabled };
  const db =
    durable?.snapshot !== undefined
      ? decodeSnapshot(durable.snapshot, options)
      : new Database(options);
  const log = [...(durable?.log ?? [])].filter((txn) => txn.zxid > db.lastZxid);
  for (let i = 1; i < log.length; i++)
    assert(log[i - 1]!.zxid < log[i]!.zxid, "recovered log is in zxid order");
  const base = db.lastZxid;
  // Epochs never lag the history on disk (an epochs file lost or older than the snapshot or log).
  const historyEpoch = Number((log.length > 0 ? log[log.length - 1]!.zxid : base) >> 32n);
  const currentEpoch = Math.max(durable?.currentEpoch ?? 0, historyEpoch);
  return {
    config,
    nowMs,
    role: "looking",
    acceptedEpoch: Math.max(durable?.acceptedEpoch ?? 0, currentEpoch),
    currentEpoch,
    db,
    log,
    logBaseZxid: base,
    committedZxid: base,
    durableZxid: log.length > 0 ? log[log.length - 1]!.zxid : base,
    persists: [],
    nextPersistId: 1,
    lastCurrentEpochPersistId: 0,
    lastSnapshotZxid: base,
    appliedSinceSnapshot: 0,
    followAttempts: 0,
    peersUp: new Set(),
    election: {
      round: 0,
      vote: { leader: config.id, epoch: 0, zxid: zxid(0n) },
      received: new Map(),
      decideAtMs: undefined,
    },
    leader: undefined,
    follower: undefined,
    clients: {
      conns: new Map(),
      bySession: new Map(),
      waiting: new Map(),
      nextTag: 1,
      touched: new Set(),
    },
    watches: new WatchManager(),
    effects: [],
    handoffs: [],
    lastStatus: undefined,
    timerAtMs: undefined,
  };
}

export const quorumSize = (config: ReplicaConfig): number =>
  Math.floor(config.peers.length / 2) + 1;
