// Containers and TTL nodes, which the leader deletes without any client asking (ZooKeeper's
// ContainerManager), checked from the history alone. A deletion no client made shows as a
// NodeDeleted watch event (a persistent watch on the node, or a recursive one above it) at a zxid
// that no acknowledged write took. At that zxid:
// - the node had no children: every child the history shows created after the node, at a lower
//   zxid, had been deleted at a lower zxid too;
// - a container had had a child (ZooKeeper reaps only containers whose cversion moved);
// - a TTL node was last modified at least its TTL earlier. Times come from the history (the
//   invoke of the last modification, the delivery of the event: both bound the real moments from
//   the safe side), less `clockSlackMs`, how far the servers' clocks may disagree with the
//   history's (the leader dates the node and decides with its own clock).
// Whatever an indeterminate op might have done to the node or its children (a delete, a create
// at an unknown zxid) makes the deletion unjudged rather than blamed.

import { hex64 } from "./history.ts";
import type { Operation, PairedHistory, SessionEvent } from "./operations.ts";
import { isWrite, parentOf, reapedPaths, subOpsOf } from "./operations.ts";
import type { GuaranteeResult } from "./guarantees.ts";
import { Findings } from "./guarantees.ts";

export interface ReapingOptions {
  /** How far a server's clock may be off the history's times (ms); 0 when they share one. */
  clockSlackMs?: number;
}

const z = (zxid: bigint | undefined): string => (zxid === undefined ? "?" : hex64(zxid));

/** What the history shows of one reaped node or one of its children. */
interface PathOps {
  /** Acknowledged creates, deletes and setData, with their zxids. */
  readonly acked: Operation[];
  /** Invoke indexes of indeterminate ops that could have created or deleted the path. */
  readonly uncertain: { index: number; op: Operation }[];
  /** Some multi names the path: its changes are not followed here, so nothing is judged. */
  inMulti: boolean;
}

const newPathOps = (): PathOps => ({ acked: [], uncertain: [], inMulti: false });

/** The reaped nodes and their children, with the ops on each. */
function gather(ops: readonly Operation[], reaped: ReadonlySet<string>): Map<string, PathOps> {
  const byPath = new Map<string, PathOps>();
  const follows = (path: string) => reaped.has(path) || reaped.has(parentOf(path));
  const of = (path: string): PathOps => {
    let entry = byPath.get(path);
    if (entry === undefined) byPath.set(path, (entry = newPathOps()));
    return entry;
  };
  for (const op of ops) {
    if (op.op === "multi") {
      for (const sub of subOpsOf(op)) if (follows(sub.path)) of(sub.path).inMulti = true;
      continue;
    }
    if (!isWrite(op) || op.path === undefined || !follows(op.path)) continue;
    if (op.status === "ok" && op.zxid !== undefined) of(op.path).acked.push(op);
    else if (op.status === "info" && op.op !== "setData")
      of(op.path).uncertain.push({ index: op.invokeIndex, op });
  }
  return byPath;
}

/** The deletions no acknowledged write made: path|zxid -> the first event that showed it. */
function reapings(history: PairedHistory, reaped: ReadonlySet<string>): Map<string, SessionEvent> {
  const written = new Set<bigint>();
  for (const op of history.operations)
    if (isWrite(op) && op.status === "ok" && op.zxid !== undefined) written.add(op.zxid);
  const found = new Map<string, SessionEvent>();
  for (const e of history.events) {
    if (e.kind !== "watch" || e.event !== "NodeDeleted" || e.zxid === undefined) continue;
    if (e.path === undefined || !reaped.has(e.path) || written.has(e.zxid)) continue;
    const key = `${e.path}|${e.zxid}`;
    if (!found.has(key)) found.set(key, e);
  }
  return found;
}

const uncertainBefore = (entry: PathOps | undefined, index: number, kind?: string): boolean =>
  entry?.uncertain.some((u) => u.index < index && (kind === undefined || u.op.op === kind)) ===
  true;

/** The latest op of `acked` below `zxid` (acked in any order). */
function latestBelow(
  acked: readonly Operation[],
  zxid: bigint,
  after: bigint,
): Operation | undefined {
  let latest: Operation | undefined;
  for (const op of acked)
    if (op.zxid! < zxid && op.zxid! > after && (latest === undefined || op.zxid! > latest.zxid!))
      latest = op;
  return latest;
}

export function checkReaping(
  history: PairedHistory,
  options: ReapingOptions = {},
): GuaranteeResult {
  const findings = new Findings("reaping");
  const reaped = reapedPaths(history.operations);
  if (reaped.size === 0) return findings.result();
  const byPath = gather(history.operations, reaped);
  const children = new Map<string, string[]>();
  for (const path of byPath.keys()) {
    if (reaped.has(path)) continue;
    const parent = parentOf(path);
    children.set(parent, [...(children.get(parent) ?? []), path]);
  }
  const slackUs = (options.clockSlackMs ?? 0) * 1000;
  for (const event of reapings(history, reaped).values()) {
    const path = event.path!;
    const deleted = event.zxid!;
    const node = byPath.get(path);
    const kids = (children.get(path) ?? []).map((p) => [p, byPath.get(p)!] as const);
    const unjudged =
      node === undefined ||
      node.inMulti ||
      uncertainBefore(node, event.index) ||
      kids.some(([, kid]) => kid.inMulti);
    const created =
      node &&
      latestBelow(
        node.acked.filter((op) => op.op === "create"),
        deleted,
        0n,
      );
    if (unjudged || created === undefined) continue;
    findings.checked++;
    const what = `${path} was deleted by no client at ${z(deleted)} (index ${event.index})`;
    for (const [kid, ops] of kids) {
      const last = latestBelow(ops.acked, deleted, created.zxid!);
      if (last?.op !== "create" || uncertainBefore(ops, event.index, "delete")) continue;
      findings.report(
        `${what} while its child ${kid} existed (#${last.id})`,
        [created, last],
        [event.index],
      );
    }
    if (created.args.mode === "container") {
      const hadChild = kids.some(
        ([, ops]) =>
          latestBelow(
            ops.acked.filter((op) => op.op === "create"),
            deleted,
            created.zxid!,
          ) !== undefined || uncertainBefore(ops, event.index, "create"),
      );
      if (!hadChild)
        findings.report(`${what}, a container that never had a child`, [created], [event.index]);
    }
    const ttl = created.args.ttl;
    if (created.args.mode !== "ttl" || ttl === undefined) continue;
    const touched = latestBelow(node!.acked, deleted, created.zxid!) ?? created;
    const agoMs = (event.timeUs - touched.invokeTimeUs) / 1000;
    if (event.timeUs + slackUs < touched.invokeTimeUs + ttl * 1000) {
      findings.report(
        `${what}, a TTL node of ${ttl} ms, at most ${agoMs.toFixed(0)} ms after its last ` +
          `modification #${touched.id}`,
        [created, touched],
        [event.index],
      );
    }
  }
  return findings.result();
}
