// The one workload of the simulator and of the real-process run: which operation a client issues
// next, how it is written into the history, and how its reply is recorded. Both harnesses plan and
// record through this file, so what the checker may assume about their histories (which errors are
// definite, what a result holds) cannot drift apart between them.

import { fromUtf8, utf8 } from "../core/bytes.ts";
import { Err } from "../core/errors.ts";
import type { ClientOp } from "../core/replica/index.ts";
import type { MultiWriteOp, Reply } from "../core/requests.ts";
import { CreateMode, hex, openAclUnsafe } from "../core/types.ts";
import type { OpArgs, OpResult, RecordType } from "./history.ts";

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
  | "readEphemeral";

/** Relative weights of the op kinds (missing kinds are never drawn). */
export type WorkloadMix = Partial<Record<OpKind, number>>;

export interface WorkloadShape {
  /** Registers /k0 .. /k(keys-1). */
  keys: number;
  /** Clients /e1 .. /e(clients) own one ephemeral each. */
  clients: number;
  mix: WorkloadMix;
}

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

/** One client's planner: its counter for unique values and the versions it last saw (for CAS). */
export class WorkloadClient {
  private counter = 0;
  private readonly versions = new Map<string, number>();

  constructor(
    readonly process: number,
    private readonly random: WorkloadRandom,
    private readonly shape: WorkloadShape,
  ) {}

  /** The next operation, its kind drawn from the mix. */
  next(): PlannedOp {
    return this.plan(this.pickKind());
  }

  /** What a reply teaches the planner (the version a CAS should expect next time). */
  learn(planned: PlannedOp, reply: Reply): void {
    if (reply.err === Err.OK && reply.stat !== undefined && planned.record.path !== undefined) {
      this.versions.set(planned.record.path, reply.stat.version);
    }
  }

  private pickKind(): OpKind {
    const entries = Object.entries(this.shape.mix) as [OpKind, number][];
    const total = entries.reduce((n, [, w]) => n + w, 0);
    let roll = this.random.float() * total;
    for (const [kind, weight] of entries) {
      roll -= weight;
      if (roll < 0) return kind;
    }
    return "read";
  }

  plan(kind: OpKind): PlannedOp {
    const random = this.random;
    const key = `/k${random.int(0, this.shape.keys - 1)}`;
    const value = `v${this.process}.${++this.counter}`;
    const create = (path: string, flags: number): ClientOp => ({
      op: "create",
      path,
      data: utf8(value),
      acl: openAclUnsafe,
      flags,
      ttl: -1,
    });
    const planned = (request: ClientOp, record: PlannedRecord, syncFirst = false): PlannedOp => ({
      kind,
      request,
      syncFirst,
      record,
    });
    switch (kind) {
      case "read":
      case "syncRead": {
        const watch = random.chance(0.3);
        const sync = kind === "syncRead";
        return planned(
          { op: "getData", path: key, watch },
          { op: "getData", path: key, args: { sync, watch } },
          sync,
        );
      }
      case "write":
        return planned(
          { op: "setData", path: key, data: utf8(value), version: -1 },
          { op: "setData", path: key, args: { data: value, version: -1 } },
        );
      case "cas": {
        const version = this.versions.get(key) ?? 0;
        return planned(
          { op: "setData", path: key, data: utf8(value), version },
          { op: "setData", path: key, args: { data: value, version } },
        );
      }
      case "create": {
        // /q is the parent of the sequential nodes; /m* are the nodes multis work on.
        const roll = random.float();
        const path = roll < 0.15 ? "/q" : roll < 0.4 ? `/m${random.int(0, 2)}` : key;
        const args: OpArgs = { data: value, mode: "persistent" };
        return planned(create(path, CreateMode.PERSISTENT), { op: "create", path, args });
      }
      case "delete":
        return planned(
          { op: "delete", path: key, version: -1 },
          { op: "delete", path: key, args: { version: -1 } },
        );
      case "ephemeral": {
        const path = `/e${this.process}`;
        return planned(create(path, CreateMode.EPHEMERAL), {
          op: "create",
          path,
          args: { data: value, mode: "ephemeral" },
        });
      }
      case "sequential": {
        const args: OpArgs = { data: value, mode: "sequential" };
        return planned(create("/q/n-", CreateMode.PERSISTENT_SEQUENTIAL), {
          op: "create",
          path: "/q/n-",
          args,
        });
      }
      case "children":
        return planned(
          { op: "getChildren", path: "/q", watch: false },
          { op: "getChildren", path: "/q", args: {} },
        );
      case "multi":
        return this.multi(value);
      case "closeSession":
        return planned({ op: "closeSession" }, { op: "closeSession", args: {} });
      case "readEphemeral": {
        // Another client's ephemeral: the checker's ephemerals guarantee needs reads of them.
        const path = `/e${random.int(1, this.shape.clients)}`;
        return planned({ op: "getData", path, watch: false }, { op: "getData", path, args: {} });
      }
    }
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
  if (reply.stat !== undefined && reply.stat.ephemeralOwner !== 0n) {
    result.ephemeralOwner = hex(reply.stat.ephemeralOwner);
  }
  return { type: "ok", result };
}

/** Whether a completed op changed the tree (its zxid must then be in the committed history). */
export function acknowledgedWrite(planned: PlannedOp, reply: Reply): boolean {
  const write = ["create", "setData", "delete", "multi", "closeSession"].includes(
    planned.record.op,
  );
  return write && reply.err === Err.OK && !reply.results?.some((r) => r.op === "error");
}
