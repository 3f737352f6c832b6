// Guarantees about what reads return, checked against every path's history of changes rebuilt
// from zxids (write-index.ts): plain reads are sequentially consistent (each returns the state
// left by the latest write at or before its reply zxid), a committed session close removes that
// session's ephemerals, and sequential names are unique and increase with zxid under a parent.
// Writes with unknown zxids (indeterminate ones) may explain any value they wrote, from their
// invoke on: the checks never blame a read for something such a write could have done.

import { Err } from "../core/errors.ts";
import { hex64 } from "./history.ts";
import type { Operation, PairedHistory } from "./operations.ts";
import { isSequentialMode, parentOf, subOpsOf, zxidNumbers } from "./operations.ts";
import type { GuaranteeResult } from "./guarantees.ts";
import { Findings } from "./guarantees.ts";
import type { Mutation, WriteIndex } from "./write-index.ts";

const z = (zxid: bigint | undefined): string => (zxid === undefined ? "?" : hex64(zxid));
const show = (data: string | undefined): string =>
  data === undefined ? "(deleted)" : JSON.stringify(data);
const isPresent = (read: Operation): boolean =>
  read.status === "ok" && read.result?.exists !== false;
const childPath = (parent: string, name: string): string =>
  parent === "/" ? `/${name}` : `${parent}/${name}`;

// Messages are built only on failure (and without a closure per read): this runs for every read
// of histories of millions.
const seen = (read: Operation, mzxid: bigint): string =>
  `#${read.id} read ${read.path} at mzxid ${z(mzxid)}`;

/** What is wrong with a present read whose stat names the write it shows (mzxid), if anything. */
function mzxidProblem(
  read: Operation,
  writes: WriteIndex,
  mzxid: bigint,
  at: Mutation | undefined,
): string | undefined {
  const path = read.path!;
  const result = read.result!;
  if (read.zxid !== undefined && mzxid > read.zxid)
    return `${seen(read, mzxid)}, newer than its own reply zxid ${z(read.zxid)}`;
  if (at?.kind === "delete") return `${seen(read, mzxid)}, the zxid that deleted it (#${at.opId})`;
  if (at !== undefined && result.data !== undefined && at.data !== result.data) {
    const wrote = `the write there (#${at.opId}) wrote ${show(at.data)}`;
    return `${seen(read, mzxid)} and got ${show(result.data)}, but ${wrote}`;
  }
  const version = result.version;
  if (
    at !== undefined &&
    version !== undefined &&
    at.version !== undefined &&
    at.version !== version
  ) {
    const made = `the write there (#${at.opId}) made version ${at.version}`;
    return `${seen(read, mzxid)} and got version ${version}, but ${made}`;
  }
  if (at !== undefined || mzxid <= 0n || result.data === undefined) return undefined;
  const maybeFrom = writes.peekUncertain(path)?.values.get(result.data);
  if ((maybeFrom ?? Infinity) > read.completeIndex!) {
    return `${seen(read, mzxid)} and got ${show(result.data)}, which no write to ${path} produced`;
  }
  return undefined;
}

/**
 * Whether change `m` is at or before `read`'s reply, from their zxids as numbers (`mNumber`, and
 * `readNumber` from zxidNumbers) unless those tie past 2^53.
 */
function atOrBefore(m: Mutation, mNumber: number, read: Operation, readNumber: number): boolean {
  if (mNumber !== readNumber) return mNumber < readNumber;
  return mNumber <= Number.MAX_SAFE_INTEGER || m.zxid <= read.zxid!;
}

/** A present read that carried the node's mzxid: the write at mzxid, and no newer one by zxid. */
function checkByMzxid(
  findings: Findings,
  read: Operation,
  writes: WriteIndex,
  mzxid: bigint,
  zxids: readonly number[],
): void {
  const { at, after, afterNumber } = writes.atAndAfter(read.path!, mzxid);
  const problem = mzxidProblem(read, writes, mzxid, at);
  if (problem !== undefined) findings.report(problem, [read]);
  const newer = read.zxid === undefined ? undefined : after;
  if (newer !== undefined && atOrBefore(newer, afterNumber, read, zxids[read.id]!)) {
    findings.report(
      `#${read.id} is stale: it replied at ${z(read.zxid)} with ${read.path} as of ${z(mzxid)}, ` +
        `but #${newer.opId} changed ${read.path} at ${z(newer.zxid)}`,
      [read],
    );
  }
}

/**
 * A read without a stat: its value must be the latest known one at its zxid, or a maybe-write's.
 */
function checkByValue(findings: Findings, read: Operation, writes: WriteIndex): void {
  const path = read.path!;
  const replied = read.zxid!;
  const latest = writes.latestAtOrBefore(path, replied);
  const uncertain = writes.peekUncertain(path);
  const before = read.completeIndex!;
  const existed = latest !== undefined && latest.kind !== "delete";
  if (isPresent(read)) {
    const data = read.result?.data;
    if (data === undefined || (existed && latest.data === data)) return;
    if ((uncertain?.values.get(data) ?? Infinity) < before) return;
    const was =
      latest === undefined
        ? "no write had created it"
        : `the latest write (#${latest.opId} at ${z(latest.zxid)}) left ${show(latest.data)}`;
    findings.report(`#${read.id} read ${show(data)} from ${path} at ${z(replied)}, but ${was}`, [
      read,
    ]);
    return;
  }
  if (!existed || (uncertain?.mayDeleteFrom ?? Infinity) < before) return;
  findings.report(
    `#${read.id} found ${path} absent at ${z(replied)}, ` +
      `but #${latest.opId} wrote it at ${z(latest.zxid)} and nothing deleted it`,
    [read],
  );
}

function checkChildren(findings: Findings, read: Operation, writes: WriteIndex): void {
  const parent = read.path!;
  const replied = read.zxid!;
  const before = read.completeIndex!;
  const listed = new Set(read.result?.children ?? []);
  const known = writes.childrenOf(parent);
  for (const path of known) {
    const latest = writes.latestAtOrBefore(path, replied);
    const existed = latest !== undefined && latest.kind !== "delete";
    const name = path.slice(parent === "/" ? 1 : parent.length + 1);
    const uncertain = writes.peekUncertain(path);
    // A name first known from its delete may be one a sequential create with an unknown outcome
    // made.
    const lostName = latest === undefined && writes.unnamedSequentialFrom(parent) < before;
    if (existed && !listed.has(name) && (uncertain?.mayDeleteFrom ?? Infinity) > before) {
      const created = `created by #${latest.opId} at ${z(latest.zxid)}`;
      findings.report(`#${read.id} listed ${parent} at ${z(replied)} without ${name}, ${created}`, [
        read,
      ]);
    } else if (
      !existed &&
      listed.has(name) &&
      (uncertain?.mayCreateFrom ?? Infinity) > before &&
      !lostName
    ) {
      const why =
        latest === undefined
          ? "no write had created it yet"
          : `#${latest.opId} deleted it at ${z(latest.zxid)}`;
      findings.report(`#${read.id} listed ${name} under ${parent} at ${z(replied)}, but ${why}`, [
        read,
      ]);
    }
  }
  for (const name of listed) {
    if (known.has(childPath(parent, name)) || (parent === "/" && name === "zookeeper")) continue;
    if (writes.unnamedSequentialFrom(parent) < before) continue;
    findings.report(`#${read.id} listed ${name} under ${parent}, which no write created`, [read]);
  }
}

/** Sequential consistency of reads (plain and sync'ed): each is the state at its reply zxid. */
export function checkSequentialReads(history: PairedHistory, writes: WriteIndex): GuaranteeResult {
  // The reads come from `writes`, built from the same history in one pass over it.
  const findings = new Findings("sequential-reads");
  const zxids = zxidNumbers(history);
  const reads = writes.answeredReads;
  for (let i = 0; i < reads.length; i++) {
    const read = reads[i]!;
    const answered = read.status === "ok" || (read.status === "fail" && read.err === Err.NONODE);
    if (!answered || read.path === undefined) continue;
    if (read.op === "getChildren") {
      if (read.status !== "ok" || read.zxid === undefined) continue;
      findings.checked++;
      checkChildren(findings, read, writes);
    } else if (read.op === "getData" || read.op === "exists") {
      const mzxid = isPresent(read) ? read.result?.mzxid : undefined;
      if (mzxid === undefined && read.zxid === undefined) continue;
      findings.checked++;
      if (mzxid !== undefined) checkByMzxid(findings, read, writes, mzxid, zxids);
      else checkByValue(findings, read, writes);
    }
  }
  return findings.result();
}

/** The incarnation of `read.path` a present read saw, when the read's stat pins it down. */
function incarnationSeen(read: Operation, writes: WriteIndex): Mutation | undefined {
  const result = read.result!;
  const path = read.path!;
  if (result.czxid !== undefined) return writes.at(path, result.czxid);
  if (result.mzxid === undefined) return undefined;
  // Without czxid, only when no create with an unknown zxid could have made what was seen.
  if ((writes.peekUncertain(path)?.mayCreateFrom ?? Infinity) <= read.completeIndex!)
    return undefined;
  const latest = writes.latestAtOrBefore(path, result.mzxid);
  return latest === undefined || latest.kind === "delete" ? undefined : writes.creator(latest);
}

/** After a session's close commits at zxid Z, no read at a zxid past Z shows its ephemerals. */
export function checkEphemerals(history: PairedHistory, writes: WriteIndex): GuaranteeResult {
  const findings = new Findings("ephemerals");
  const closes = new Map<string, Operation>();
  for (const op of writes.committedCloses) if (!closes.has(op.session)) closes.set(op.session, op);
  if (closes.size === 0) return findings.result();
  for (const read of history.operations) {
    const dataRead = read.op === "getData" || read.op === "exists";
    if (!dataRead || !isPresent(read) || read.zxid === undefined) continue;
    const owner = read.result?.ephemeralOwner ?? incarnationSeen(read, writes)?.owner;
    const close = owner === undefined ? undefined : closes.get(owner);
    if (close === undefined) continue;
    findings.checked++;
    if (read.zxid > close.zxid!) {
      findings.report(
        `#${read.id} saw ${read.path}, an ephemeral of session ${owner}, at ${z(read.zxid)} ` +
          `after the session's close committed at ${z(close.zxid)}`,
        [close, read],
      );
    }
  }
  return findings.result();
}

const byZxid = (a: { op: Operation }, b: { op: Operation }): number =>
  a.op.zxid! < b.op.zxid! ? -1 : a.op.zxid! > b.op.zxid! ? 1 : 0;

interface SequentialName {
  readonly op: Operation;
  readonly name: string;
  readonly sequence: number | undefined;
}

function sequentialNames(ops: readonly Operation[]): Map<string, SequentialName[]> {
  const byParent = new Map<string, SequentialName[]>();
  const add = (op: Operation, prefix: string, made: string | undefined): void => {
    if (made === undefined) return;
    const suffix = made.startsWith(prefix) ? made.slice(prefix.length) : "";
    const sequence = /^-?\d{9,10}$/.test(suffix) ? Number(suffix) : undefined;
    const parent = parentOf(prefix);
    const list = byParent.get(parent);
    if (list === undefined) byParent.set(parent, [{ op, name: made, sequence }]);
    else list.push({ op, name: made, sequence });
  };
  for (const op of ops) {
    if (op.status !== "ok") continue;
    if (op.op === "create" && isSequentialMode(op.args.mode)) add(op, op.path!, op.result?.path);
    if (op.op !== "multi") continue;
    const subs = subOpsOf(op);
    for (let i = 0; i < subs.length; i++) {
      const sub = subs[i]!;
      if (sub.op === "create" && isSequentialMode(sub.mode))
        add(op, sub.path, op.result?.results?.[i]?.path);
    }
  }
  return byParent;
}

/** Sequential names: no two acknowledged creates share one; numbers grow with zxid per parent. */
/** `candidates`: the ops that may have made sequential names (WriteIndex.namingCandidates). */
export function checkSequentialNames(
  history: PairedHistory,
  candidates: readonly Operation[] = history.operations,
): GuaranteeResult {
  const findings = new Findings("sequential-names");
  for (const [parent, names] of sequentialNames(candidates)) {
    const seen = new Map<string, SequentialName>();
    for (const entry of names) {
      findings.checked++;
      const first = seen.get(entry.name);
      if (entry.sequence === undefined) {
        findings.report(
          `#${entry.op.id} got ${entry.name}, whose suffix is not ZooKeeper's %010d counter`,
          [entry.op],
        );
      }
      if (first !== undefined)
        findings.report(`#${first.op.id} and #${entry.op.id} both created ${entry.name}`, [
          first.op,
          entry.op,
        ]);
      else seen.set(entry.name, entry);
    }
    const ordered = names
      .filter((n) => n.op.zxid !== undefined && n.sequence !== undefined)
      .sort(byZxid);
    for (let i = 1; i < ordered.length; i++) {
      const [a, b] = [ordered[i - 1]!, ordered[i]!];
      if (b.op.zxid! > a.op.zxid! && b.sequence! <= a.sequence!) {
        findings.report(
          `under ${parent}, #${b.op.id} committed at ${z(b.op.zxid)} got ${b.name}, ` +
            `not after ${a.name} (#${a.op.id} at ${z(a.op.zxid)})`,
          [a.op, b.op],
        );
      }
    }
  }
  return findings.result();
}
