// Checkers for the recipe workloads (lock, election, queue). They read only what the workload
// saw: the clients' own events (acquired, released, learned of an expiry), the guarded resource's
// log of accesses, and the leader's word that it expired a session (an effect the harness sees,
// stamped when the expiry was proposed, so it is never later than the ephemerals' deletion). They
// never look inside a replica.
//
// Times are the harness's global clock, in ms. A session counts as live until its expiry was
// proposed; an expiry proposed by a leader that was then deposed only makes the checks milder.

export type RecipeKind = "lock" | "election" | "queue";

export type RecipeRecord =
  /** A client came to believe it holds the lock (or leads) with this token (its node's czxid). */
  | { type: "acquired"; atMs: number; process: number; session: string; token: bigint }
  /** The belief ended (released, resigned, suspended for a leader, lost). */
  | { type: "unheld"; atMs: number; process: number; session: string; token: bigint; why: string }
  /** The guarded resource judged one access: sent at `sentAtMs`, arrived at `atMs`. */
  | {
      type: "access";
      sentAtMs: number;
      atMs: number;
      process: number;
      session: string;
      token: bigint;
      accepted: boolean;
    }
  /** The leader proposed the expiry of a session. */
  | { type: "expired"; atMs: number; session: string }
  /** A client learned its session had expired (the server said so on reconnecting). */
  | { type: "learnedExpired"; atMs: number; process: number; session: string }
  /** `node`: the item's znode, when the put's reply named it (for reading a failure). */
  | {
      type: "put";
      atMs: number;
      process: number;
      item: string;
      outcome: "ok" | "info" | "fail";
      node?: string;
    }
  | {
      type: "take";
      atMs: number;
      process: number;
      item: string;
      outcome: "ok" | "info";
      node?: string;
    }
  /** After healing, with every put settled, a linearizable listing of the queue was empty. */
  | { type: "drained"; atMs: number; process: number }
  /** Faults stopped here: the liveness phase begins. */
  | { type: "healed"; atMs: number };

export interface RecipeVerdict {
  kind: RecipeKind;
  violations: string[];
}

const hexOf = (token: bigint) => `0x${token.toString(16)}`;

/** When each session's expiry was first proposed (Infinity: never). */
function expiries(records: readonly RecipeRecord[]): (session: string) => number {
  const at = new Map<string, number>();
  for (const r of records)
    if (r.type === "expired" && !(at.get(r.session)! <= r.atMs)) at.set(r.session, r.atMs);
  return (session) => at.get(session) ?? Infinity;
}

interface Tenure {
  process: number;
  session: string;
  token: bigint;
  fromMs: number;
  toMs: number;
}

/** Belief intervals: from an acquired to the next unheld of the same session and token. */
function tenures(records: readonly RecipeRecord[]): Tenure[] {
  const open = new Map<string, Tenure>();
  const all: Tenure[] = [];
  for (const r of records) {
    if (r.type !== "acquired" && r.type !== "unheld") continue;
    const key = `${r.session}/${r.token}`;
    if (r.type === "acquired" && !open.has(key)) {
      const tenure = { process: r.process, session: r.session, token: r.token, fromMs: r.atMs };
      const opened = { ...tenure, toMs: Infinity };
      open.set(key, opened);
      all.push(opened);
    } else if (r.type === "unheld") {
      const tenure = open.get(key);
      if (tenure !== undefined) tenure.toMs = r.atMs;
      open.delete(key);
    }
  }
  return all;
}

/** No two holders believe at once while both their sessions are live. */
function exclusive(records: readonly RecipeRecord[], role: string): string[] {
  const expiry = expiries(records);
  const list = tenures(records).sort((a, b) => a.fromMs - b.fromMs);
  const out: string[] = [];
  for (let i = 0; i < list.length; i++) {
    const a = list[i]!;
    const aEnd = Math.min(a.toMs, expiry(a.session));
    for (let j = i + 1; j < list.length && list[j]!.fromMs < aEnd; j++) {
      const b = list[j]!;
      if (b.session === a.session) continue;
      if (b.fromMs < Math.min(aEnd, b.toMs, expiry(b.session)))
        out.push(
          `two ${role}s at once with live sessions: process ${a.process} (session ${a.session}, ` +
            `token ${hexOf(a.token)}) from ${a.fromMs.toFixed(1)} ms and process ${b.process} ` +
            `(session ${b.session}, token ${hexOf(b.token)}) from ${b.fromMs.toFixed(1)} ms`,
        );
    }
  }
  return out;
}

/** What the guarded resource's log shows: order of tokens, refusals of live holders. */
function fencing(records: readonly RecipeRecord[]): string[] {
  const expiry = expiries(records);
  const learned = new Map<string, number>();
  for (const r of records) if (r.type === "learnedExpired") learned.set(r.session, r.atMs);
  const out: string[] = [];
  let highest = -1n;
  const accesses = records.filter((r) => r.type === "access").sort((a, b) => a.atMs - b.atMs);
  for (const r of accesses) {
    const who = `process ${r.process} (session ${r.session}, token ${hexOf(r.token)})`;
    const at = `at ${r.atMs.toFixed(1)} ms`;
    if (r.accepted && r.token < highest)
      out.push(`the resource accepted ${who} ${at} after token ${hexOf(highest)}`);
    if (r.accepted && r.token > highest) highest = r.token;
    // Refused means a later token was used while this holder's node was live (only its holder
    // deletes it, or its session's expiry): two holders at once.
    if (!r.accepted && r.atMs < expiry(r.session))
      out.push(`the resource refused ${who} ${at} while its session was live`);
    if (r.sentAtMs > (learned.get(r.session) ?? Infinity))
      out.push(`${who} used the lock ${at} after learning its session had expired`);
  }
  return out;
}

/** After healing, every client holds at least once (waiters acquire, a leader is elected). */
function everyoneHolds(records: readonly RecipeRecord[], processes: number, role: string) {
  const healed = records.find((r) => r.type === "healed")?.atMs ?? Infinity;
  const held = new Set<number>();
  for (const r of records) if (r.type === "acquired" && r.atMs >= healed) held.add(r.process);
  const missing = Array.from({ length: processes }, (_, i) => i + 1).filter((p) => !held.has(p));
  if (missing.length === 0) return [];
  return [`liveness: after healing, processes ${missing.join(", ")} never became ${role}`];
}

export function checkLock(records: readonly RecipeRecord[], processes: number): string[] {
  return [
    ...fencing(records),
    ...exclusive(records, "holder"),
    ...everyoneHolds(records, processes, "holder"),
  ];
}

/** Terms are node czxids: one session per term, and a later leader never has a lower term. */
function terms(records: readonly RecipeRecord[]): string[] {
  const expiry = expiries(records);
  const owner = new Map<bigint, string>();
  const out: string[] = [];
  let latest: { token: bigint; session: string; atMs: number } | undefined;
  for (const r of records) {
    if (r.type !== "acquired") continue;
    const first = owner.get(r.token);
    if (first !== undefined && first !== r.session)
      out.push(`term ${hexOf(r.token)} has two leaders: sessions ${first} and ${r.session}`);
    owner.set(r.token, first ?? r.session);
    // A leader's node outlives every later node's leadership while its session lives, so a
    // lower term elected after a higher one, its session live, means one was wrongly elected. (A
    // client whose session already expired can still read a stale state that shows its node
    // first: it learns of the expiry later; fencing is for that.)
    const live = r.atMs < expiry(r.session);
    if (latest !== undefined && r.token < latest.token && r.session !== latest.session && live)
      out.push(
        `term ${hexOf(r.token)} (session ${r.session}) elected at ${r.atMs.toFixed(1)} ms after ` +
          `term ${hexOf(latest.token)} (session ${latest.session}) at ${latest.atMs.toFixed(1)} ms`,
      );
    if (latest === undefined || r.token > latest.token) latest = r;
  }
  return out;
}

export function checkElection(records: readonly RecipeRecord[], processes: number): string[] {
  return [
    ...terms(records),
    ...fencing(records),
    ...exclusive(records, "leader"),
    ...everyoneHolds(records, processes, "leader"),
  ];
}

/** At most once always; exactly once (allowing ambiguous takes) once the queue drained. */
export function checkQueue(records: readonly RecipeRecord[]): string[] {
  const puts = new Map<string, "ok" | "info" | "fail">();
  const taken = new Map<string, number>();
  const maybeTaken = new Set<string>();
  const out: string[] = [];
  // A take can come before its put's reply reached the producer: every put counts, wherever.
  for (const r of records) if (r.type === "put") puts.set(r.item, r.outcome);
  for (const r of records) {
    if (r.type !== "take") continue;
    const put = puts.get(r.item);
    if (put === undefined || put === "fail")
      out.push(`item ${r.item} was taken by process ${r.process} but never put`);
    if (r.outcome === "info") maybeTaken.add(r.item);
    else {
      taken.set(r.item, (taken.get(r.item) ?? 0) + 1);
      if (taken.get(r.item) === 2) out.push(`item ${r.item} was taken twice`);
    }
  }
  if (!records.some((r) => r.type === "drained"))
    return [...out, "liveness: the queue never drained after healing"];
  const lost = [...puts].filter(
    ([item, outcome]) => outcome === "ok" && !taken.has(item) && !maybeTaken.has(item),
  );
  const items = lost.map(([item]) => item);
  if (items.length > 0) out.push(`items put but never taken: ${items.slice(0, 10).join(", ")}`);
  return out;
}

export function checkRecipe(
  kind: RecipeKind,
  records: readonly RecipeRecord[],
  processes: number,
): RecipeVerdict {
  const violations =
    kind === "lock"
      ? checkLock(records, processes)
      : kind === "election"
        ? checkElection(records, processes)
        : checkQueue(records);
  return { kind, violations };
}
