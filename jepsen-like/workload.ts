// The one workload of the simulator and of the real-process run: which operation a client issues
// next, how it is written into the history, and how its reply is recorded. Both harnesses plan and
// record through this file, so what the checker may assume about their histories (which errors are
// definite, what a result holds) cannot drift apart between them.

import { fromUtf8, utf8 } from "../core/bytes.ts";
import { Err } from "../core/errors.ts";
import type { ClientOp } from "../core/replica/index.ts";
import type { CreateRequest, MultiWriteOp, Reply } from "../core/requests.ts";
import { CreateMode, hex, openAclUnsafe } from "../core/types.ts";
import { AddWatchMode } from "../core/watches.ts";
import type { OpArgs, OpResult, RecordType, SubOp, SubResult } from "./history.ts";

export type OpKind =
  | "read"
  | "syncRead"
  | "write"
  | "cas"
  | "create"
  | "delete"
  | "ephemeral"
  | "sequential"
  | "multi"
  | "children"
  | "closeSession"
  | "readEphemeral"
  /** Deletes the oldest child of the queue /q this client knows of (a queue's consumer). */
  | "dequeue"
  /** Creates an ephemeral-sequential /lock/l- (a lock's contender); see "unlock". */
  | "lock"
  /** Deletes this session's oldest lock node, or contends when it holds none. */
  | "unlock"
  /** A read of a node multis work on: shows whether a failed multi left anything behind. */
  | "readMulti"
  /** A persistent or persistent-recursive watch on a node of the watched tree or a reaped one. */
  | "addWatch"
  /** A create, delete or setData in the watched tree /w (children and grandchildren). */
  | "treeWrite"
  /** Creates a container /c0 or /c1 (the leader deletes it once its children are gone). */
  | "container"
  /** Creates or deletes a child of a container or of a TTL node. */
  | "reapedChild"
  /** Creates a TTL node /t0 or /t1 (deleted once unmodified and childless for its TTL). */
  | "ttl"
  /** A setData on a TTL node: keeps it alive for another TTL. */
  | "touchTtl";

/** Relative weights of the op kinds (missing kinds are never drawn). */
export type WorkloadMix = Partial<Record<OpKind, number>>;

export interface WorkloadShape {
  /** Registers /k0 .. /k(keys-1). */
  keys: number;
  /** Clients /e1 .. /e(clients) own one ephemeral each. */
  clients: number;
  mix: WorkloadMix;
  /**
   * The dense workload's draws (sim --workload dense): creates and listings over both shared
   * parents, multis of 2-4 ops of every kind. Off, every draw is the thin workload's, so its seeds
   * replay unchanged.
   */
  dense?: boolean;
  /**
   * Clients 1 .. lockContenders contend for the lock; the others do not (ops that delete the
   * ephemerals of every session of a contender are checked together, so contenders stay few).
   */
  lockContenders?: number;
  /**
   * Dense: clients 1 .. sharedClients use the queue and the multis' nodes; the others do register
   * ops instead. Each of those is one partition for the checker, whose search grows with the ops
   * in flight on it at once, so its writers stay few however many clients the seed has.
   */
  sharedClients?: number;
  /** Dense: clients 1 .. watchClients watch and write the watched tree; the others read. */
  watchClients?: number;
  /** Dense: the TTL of the TTL nodes (ms). */
  ttlMs?: number;
}

/** What a dense client outside sharedClients does instead of an op on the shared nodes. */
const unsharedKind: Partial<Record<OpKind, OpKind>> = {
  sequential: "write",
  dequeue: "read",
  multi: "cas",
  readMulti: "read",
  children: "read",
  container: "write",
  reapedChild: "write",
  ttl: "write",
  touchTtl: "write",
};

/** The draws a workload makes; the simulator's Rng has them, a real run wraps seedrandom. */
export interface WorkloadRandom {
  float(): number;
  /** A uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number;
  chance(p: number): boolean;
}

/** What the history says was asked: op, path and arguments, as the checker reads them. */
export interface PlannedRecord {
  op: string;
  path?: string;
  args?: OpArgs;
}

export interface PlannedOp {
  kind: OpKind;
  request: ClientOp;
  /** A sync on the same path first: the read is then linearizable. */
  syncFirst: boolean;
  record: PlannedRecord;
}

/** Errors that prove an op did not take effect: the server checked it against its state. */
export const definiteErrors: ReadonlySet<number> = new Set<number>([
  Err.NONODE,
  Err.NODEEXISTS,
  Err.BADVERSION,
  Err.NOTEMPTY,
  Err.NOCHILDRENFOREPHEMERALS,
  Err.RUNTIMEINCONSISTENCY,
]);

/** The parents shared by every client: a queue of sequential nodes and a lock of ephemeral ones. */
export const queueParent = "/q";
export const lockParent = "/lock";
/** How many nodes /m0 .. /m(n-1) the multis work on. */
const multiPaths = 3;
/** The watched tree: a parent, its children and grandchildren, which tree writes change. */
export const watchedTree = ["/w", "/w/a", "/w/b", "/w/a/x", "/w/a/y", "/w/b/x"] as const;
export const containerPaths = ["/c0", "/c1"] as const;
export const ttlPaths = ["/t0", "/t1"] as const;
/** Where persistent watches go: the watched tree's upper nodes and the reaped nodes. */
const watchTargets = ["/w", "/w/a", "/w/b", ...containerPaths, ...ttlPaths];
/** Children of the reaped nodes (a TTL node with a child is kept). */
const reapedChildren = ["/c0/a", "/c0/b", "/c1/a", "/t0/a", "/t1/a"];

// Module functions rather than closures made in each plan(): under tsx every named closure is
// also given its name at run time (a defineProperty per closure), three per op.
function createRequest(path: string, value: string, flags: number): CreateRequest {
  return { op: "create", path, data: utf8(value), acl: openAclUnsafe, flags, ttl: -1 };
}

function plannedOp(
  kind: OpKind,
  request: ClientOp,
  record: PlannedRecord,
  syncFirst = false,
): PlannedOp {
  return { kind, request, syncFirst, record };
}

function removal(kind: OpKind, path: string): PlannedOp {
  const request: ClientOp = { op: "delete", path, version: -1 };
  return plannedOp(kind, request, { op: "delete", path, args: { version: -1 } });
}

/**
 * One client's planner: its counter for unique values, the versions it last saw (for CAS) and the
 * sequential nodes it knows of (to dequeue and unlock). Several requests of one client may be in
 * flight at once: plan and learn in any order, one reply at a time.
 */
export class WorkloadClient {
  private counter = 0;
  private readonly versions = new Map<string, number>();
  /** Children of /q this client saw created or listed, and not yet seen deleted. */
  private readonly queued = new Set<string>();
  /** This session's lock nodes, oldest first. */
  private readonly locks: string[] = [];
  /** The mix as arrays, summed once (drawn from per op). */
  private weights: MixWeights | undefined;

  constructor(
    readonly process: number,
    private readonly random: WorkloadRandom,
    private readonly shape: WorkloadShape,
  ) {}

  /** The next operation, its kind drawn from the mix. */
  next(): PlannedOp {
    return this.plan(this.pickKind());
  }

  /** What a reply teaches: versions for CAS, sequential nodes for dequeue and unlock. */
  learn(planned: PlannedOp, reply: Reply): void {
    const path = planned.record.path;
    if (reply.err === Err.OK && reply.stat !== undefined && path !== undefined) {
      this.versions.set(path, reply.stat.version);
    }
    if (this.shape.dense !== true) return;
    const request = planned.request;
    if (request.op === "multi" && reply.results !== undefined) {
      request.ops.forEach((op, i) => {
        const result = reply.results![i];
        if (result?.op === "setData") this.versions.set(op.path, result.stat.version);
        else if (result?.op === "create") this.versions.set(op.path, 0);
      });
    }
    if (request.op === "create" && reply.err === Err.OK && reply.path !== undefined) {
      if (planned.kind === "sequential") this.queued.add(reply.path);
      if (planned.kind === "lock") this.locks.push(reply.path);
    }
    if (request.op === "getChildren" && request.path === queueParent && reply.children) {
      this.queued.clear();
      for (const name of reply.children) this.queued.add(`${queueParent}/${name}`);
    }
    if (request.op === "delete") {
      this.queued.delete(request.path);
      // An indeterminate release may not have happened: keep the node, to release it again.
      const held = this.locks.indexOf(request.path);
      const gone = reply.err === Err.OK || reply.err === Err.NONODE;
      if (held >= 0 && gone) this.locks.splice(held, 1);
    }
  }

  /** The session ended: its lock nodes are gone with it. */
  sessionEnded(): void {
    this.locks.length = 0;
  }

  private pickKind(): OpKind {
    const { kinds, weights, total } = (this.weights ??= weightsOf(this.shape.mix));
    let roll = this.random.float() * total;
    for (let i = 0; i < kinds.length; i++) {
      roll -= weights[i]!;
      if (roll < 0) return kinds[i]!;
    }
    return "read";
  }

  plan(wanted: OpKind): PlannedOp {
    const random = this.random;
    const dense = this.shape.dense === true;
    const shared = !dense || this.process <= (this.shape.sharedClients ?? Infinity);
    const watcher = !dense || this.process <= (this.shape.watchClients ?? Infinity);
    // The watched tree's clients both watch it and write it (its paths' partitions stay small).
    const kind =
      wanted === "addWatch" || wanted === "treeWrite"
        ? watcher
          ? wanted
          : "read"
        : shared
          ? wanted
          : (unsharedKind[wanted] ?? wanted);
    const key = `/k${random.int(0, this.shape.keys - 1)}`;
    const value = `v${this.process}.${++this.counter}`;
    switch (kind) {
      case "read":
      case "syncRead": {
        const watch = random.chance(0.3);
        const sync = kind === "syncRead";
        return plannedOp(
          kind,
          { op: "getData", path: key, watch },
          { op: "getData", path: key, args: { sync, watch } },
          sync,
        );
      }
      case "write":
        return plannedOp(
          kind,
          { op: "setData", path: key, data: utf8(value), version: -1 },
          { op: "setData", path: key, args: { data: value, version: -1 } },
        );
      case "cas": {
        const version = this.versions.get(key) ?? 0;
        return plannedOp(
          kind,
          { op: "setData", path: key, data: utf8(value), version },
          { op: "setData", path: key, args: { data: value, version } },
        );
      }
      case "create": {
        // /q is the parent of the sequential nodes; /m* are the nodes multis work on. Dense, the
        // shared parents first (creating one that exists fails harmlessly), then /m*, then /k*.
        const roll = random.float();
        const multiPath = () => `/m${random.int(0, multiPaths - 1)}`;
        const path = !shared
          ? key
          : dense
            ? denseCreatePath(roll, multiPath, key)
            : thinCreatePath(roll, multiPath, key);
        const args: OpArgs = { data: value, mode: "persistent" };
        return plannedOp(kind, createRequest(path, value, CreateMode.PERSISTENT), {
          op: "create",
          path,
          args,
        });
      }
      case "delete":
        return removal(kind, key);
      case "ephemeral": {
        const path = `/e${this.process}`;
        return plannedOp(kind, createRequest(path, value, CreateMode.EPHEMERAL), {
          op: "create",
          path,
          args: { data: value, mode: "ephemeral" },
        });
      }
      case "sequential": {
        const args: OpArgs = { data: value, mode: "sequential" };
        return plannedOp(kind, createRequest("/q/n-", value, CreateMode.PERSISTENT_SEQUENTIAL), {
          op: "create",
          path: "/q/n-",
          args,
        });
      }
      case "dequeue": {
        // The oldest known item mostly (a queue's head, which consumers race for), else any.
        const items = [...this.queued].sort();
        if (items.length === 0) return this.plan("children");
        return removal(
          kind,
          random.chance(0.7) ? items[0]! : items[random.int(0, items.length - 1)]!,
        );
      }
      case "lock": {
        if (this.process > (this.shape.lockContenders ?? 3)) return this.plan("children");
        const args: OpArgs = { data: value, mode: "ephemeralSequential" };
        const prefix = `${lockParent}/l-`;
        return plannedOp(kind, createRequest(prefix, value, CreateMode.EPHEMERAL_SEQUENTIAL), {
          op: "create",
          path: prefix,
          args,
        });
      }
      case "unlock":
        return this.locks.length === 0 ? this.plan("lock") : removal(kind, this.locks[0]!);
      case "readMulti": {
        const path = `/m${random.int(0, multiPaths - 1)}`;
        const watch = random.chance(0.3);
        const sync = random.chance(0.3);
        return plannedOp(
          kind,
          { op: "getData", path, watch },
          { op: "getData", path, args: { sync, watch } },
          sync,
        );
      }
      case "children": {
        const path = dense && random.chance(0.5) ? lockParent : queueParent;
        return plannedOp(
          kind,
          { op: "getChildren", path, watch: false },
          { op: "getChildren", path, args: {} },
        );
      }
      case "multi":
        return dense ? this.denseMulti(value) : this.multi(value);
      case "closeSession":
        return plannedOp(kind, { op: "closeSession" }, { op: "closeSession", args: {} });
      case "addWatch": {
        // Half of them a recursive watch on the whole watched tree, which grandchildren test.
        const whole = random.chance(0.5);
        const path = whole ? "/w" : watchTargets[random.int(0, watchTargets.length - 1)]!;
        const recursive = whole || random.chance(0.5);
        const mode = recursive ? AddWatchMode.PersistentRecursive : AddWatchMode.Persistent;
        const watchMode = recursive ? "persistentRecursive" : "persistent";
        return plannedOp(
          kind,
          { op: "addWatch", path, mode },
          { op: "addWatch", path, args: { watchMode } },
        );
      }
      case "treeWrite":
        return this.treeWrite(value);
      case "container": {
        const path = containerPaths[random.int(0, containerPaths.length - 1)]!;
        const request: ClientOp = {
          ...createRequest(path, value, CreateMode.CONTAINER),
          op: "createContainer",
        };
        return plannedOp(kind, request, {
          op: "create",
          path,
          args: { data: value, mode: "container" },
        });
      }
      case "ttl": {
        const path = ttlPaths[random.int(0, ttlPaths.length - 1)]!;
        const ttl = this.shape.ttlMs ?? 1_000;
        const request: ClientOp = {
          ...createRequest(path, value, CreateMode.PERSISTENT_WITH_TTL),
          op: "createTTL",
          ttl,
        };
        return plannedOp(kind, request, {
          op: "create",
          path,
          args: { data: value, mode: "ttl", ttl },
        });
      }
      case "touchTtl": {
        const path = ttlPaths[random.int(0, ttlPaths.length - 1)]!;
        return plannedOp(
          kind,
          { op: "setData", path, data: utf8(value), version: -1 },
          { op: "setData", path, args: { data: value, version: -1 } },
        );
      }
      case "reapedChild": {
        const path = reapedChildren[random.int(0, reapedChildren.length - 1)]!;
        if (random.chance(0.4)) return removal(kind, path);
        const args: OpArgs = { data: value, mode: "persistent" };
        return plannedOp(kind, createRequest(path, value, CreateMode.PERSISTENT), {
          op: "create",
          path,
          args,
        });
      }
      case "readEphemeral": {
        // Another client's ephemeral: the checker's ephemerals guarantee needs reads of them.
        const path = `/e${random.int(1, this.shape.clients)}`;
        return plannedOp(
          kind,
          { op: "getData", path, watch: false },
          { op: "getData", path, args: {} },
        );
      }
    }
  }

  /** A create, setData or delete somewhere in the watched tree. */
  private treeWrite(value: string): PlannedOp {
    const random = this.random;
    const roll = random.float();
    // Creates pick any node of the tree (one whose parent is missing fails harmlessly); changes
    // and deletes lean to the deepest node, which exists longest and needs no empty subtree.
    const depth = roll < 0.4 ? random.int(0, watchedTree.length - 1) : random.int(1, 8);
    const path = watchedTree[Math.min(depth, watchedTree.length - 1)]!;
    const record = (op: string, args: OpArgs): PlannedRecord => ({ op, path, args });
    const request: ClientOp =
      roll < 0.4
        ? { op: "create", path, data: utf8(value), acl: openAclUnsafe, flags: 0, ttl: -1 }
        : roll < 0.75
          ? { op: "setData", path, data: utf8(value), version: -1 }
          : { op: "delete", path, version: -1 };
    const args: OpArgs =
      roll < 0.4
        ? { data: value, mode: "persistent" }
        : roll < 0.75
          ? { data: value, version: -1 }
          : { version: -1 };
    return { kind: "treeWrite", request, syncFirst: false, record: record(request.op, args) };
  }

  private multi(value: string): PlannedOp {
    // Multis get their own few paths, so that the paths they join into one partition for the
    // checker do not pull every register of the workload into it.
    const checked = `/m${this.random.int(0, 2)}`;
    const other = `/m${this.random.int(0, 2)}`;
    const version = this.versions.get(checked) ?? 0;
    const ops: MultiWriteOp[] = [
      { op: "check", path: checked, version },
      { op: "setData", path: other, data: utf8(value), version: -1 },
    ];
    const args: OpArgs = {
      ops: [
        { op: "check", path: checked, version },
        { op: "setData", path: other, data: value, version: -1 },
      ],
    };
    return {
      kind: "multi",
      request: { op: "multi", ops },
      syncFirst: false,
      record: { op: "multi", args },
    };
  }

  /**
   * Two to four ops of every kind on the multis' own paths, with versions this client last saw:
   * many fail part way (a create of a node that exists, a check of a stale version), which is what
   * shows whether the ops before the failing one were applied.
   */
  private denseMulti(value: string): PlannedOp {
    const ops: MultiWriteOp[] = [];
    const subs: SubOp[] = [];
    const count = this.random.int(2, 4);
    for (let i = 0; i < count; i++) {
      const path = `/m${this.random.int(0, multiPaths - 1)}`;
      const known = this.versions.get(path) ?? 0;
      const data = `${value}.${i}`;
      switch (this.random.int(0, 3)) {
        case 0:
          ops.push({ op: "check", path, version: known });
          subs.push({ op: "check", path, version: known });
          break;
        case 1:
          ops.push({ op: "setData", path, data: utf8(data), version: -1 });
          subs.push({ op: "setData", path, data, version: -1 });
          break;
        case 2: {
          const flags = CreateMode.PERSISTENT;
          ops.push({ op: "create", path, data: utf8(data), acl: openAclUnsafe, flags, ttl: -1 });
          subs.push({ op: "create", path, data, mode: "persistent" });
          break;
        }
        default: {
          const version = this.random.chance(0.5) ? -1 : known;
          ops.push({ op: "delete", path, version });
          subs.push({ op: "delete", path, version });
        }
      }
    }
    return {
      kind: "multi",
      request: { op: "multi", ops },
      syncFirst: false,
      record: { op: "multi", args: { ops: subs } },
    };
  }
}

interface MixWeights {
  kinds: OpKind[];
  weights: number[];
  total: number;
}

/** The mix's kinds and weights in its own order, and their sum added up in that order. */
function weightsOf(mix: WorkloadMix): MixWeights {
  const kinds: OpKind[] = [];
  const weights: number[] = [];
  let total = 0;
  for (const [kind, weight] of Object.entries(mix) as [OpKind, number][]) {
    kinds.push(kind);
    weights.push(weight);
    total += weight;
  }
  return { kinds, weights, total };
}

/** A thin create's path: the queue's parent, a node multis work on, or a register. */
function thinCreatePath(roll: number, multiPath: () => string, key: string): string {
  if (roll < 0.15) return queueParent;
  return roll < 0.4 ? multiPath() : key;
}

/** A dense create's path: a shared parent, a node multis work on, or a register. */
function denseCreatePath(roll: number, multiPath: () => string, key: string): string {
  if (roll < 0.1) return queueParent;
  if (roll < 0.2) return lockParent;
  return roll < 0.45 ? multiPath() : key;
}

/** How a reply goes into the history: ok with its result, fail (definite) or info (unknown). */
export interface Completion {
  type: Exclude<RecordType, "invoke" | "event">;
  err?: number;
  result?: OpResult;
}

export function completionOf(reply: Reply): Completion {
  // A failed multi answers with each op's error: the first real one, not the aborted rest.
  const failedOp = reply.results?.find(
    (r) => r.op === "error" && r.err !== Err.OK && r.err !== Err.RUNTIMEINCONSISTENCY,
  );
  const err = failedOp?.op === "error" ? failedOp.err : reply.err;
  if (err !== Err.OK) return { type: definiteErrors.has(err) ? "fail" : "info", err };
  const result: OpResult = {};
  if (reply.path !== undefined) result.path = reply.path;
  // The history format has string data only; these workloads never write null data.
  if (reply.data != null) result.data = fromUtf8(reply.data);
  if (reply.stat !== undefined) {
    result.version = reply.stat.version;
    result.mzxid = reply.stat.mzxid;
  }
  if (reply.children !== undefined) result.children = [...reply.children].sort();
  if (reply.results !== undefined) result.results = reply.results.map(subResultOf);
  if (reply.stat !== undefined && reply.stat.ephemeralOwner !== 0n) {
    result.ephemeralOwner = hex(reply.stat.ephemeralOwner);
  }
  return { type: "ok", result };
}

/** What an ok multi's op result says (the path a create made, the version a setData left). */
function subResultOf(result: NonNullable<Reply["results"]>[number]): SubResult {
  if (result.op === "create") return { path: result.path };
  if (result.op === "setData") return { version: result.stat.version, mzxid: result.stat.mzxid };
  return {};
}

const writeOps: ReadonlySet<string> = new Set([
  "create",
  "setData",
  "delete",
  "multi",
  "closeSession",
]);

/** Whether a completed op changed the tree (its zxid must then be in the committed history). */
export function acknowledgedWrite(planned: PlannedOp, reply: Reply): boolean {
  const write = writeOps.has(planned.record.op);
  return write && reply.err === Err.OK && !reply.results?.some((r) => r.op === "error");
}
