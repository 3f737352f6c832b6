// The lock recipe as a sans-I/O state machine: it is told of replies, watch events and what
// happened to its connection and session, and answers with the requests to send and what the
// holder must know (acquired, suspended, lost). The simulator's model clients run it against the
// simulated ensemble; the promise client's recipes (net/recipes/lock.ts) share its decision.
//
// The algorithm: each attempt creates an ephemeral sequential node under the lock's path, named
// with a prefix unique to the attempt so that a create whose reply was lost can be found again;
// the lowest node holds the lock; a waiter watches only the node just below its own and looks
// again when that one goes. The holder's fencing token is its node's czxid. A connection loss
// suspends a holder (the lock may be lost on the servers meanwhile); a session expiry loses it.

import { assert } from "../assert.ts";
import type { ZnodeData } from "../bytes.ts";
import { Err } from "../errors.ts";
import type { Reply, Request } from "../requests.ts";
import type { Zxid } from "../types.ts";
import { CreateMode, openAclUnsafe } from "../types.ts";

/** The sequence number ZooKeeper appended to a sequential node's name (its last 10 digits). */
export function sequenceOf(name: string): number {
  return Number(name.slice(-10));
}

export function bySequence(names: readonly string[]): string[] {
  return [...names].sort((a, b) => sequenceOf(a) - sequenceOf(b));
}

export type LockKind = "read" | "write";

export type LockDecision =
  | { type: "acquired" }
  /** Wait until this node (a name among the children) is gone, then decide again. */
  | { type: "wait"; predecessor: string }
  /** Our node is not there: the session that made it is gone. */
  | { type: "lost" };

const readMarker = "read-";
const isReader = (name: string) => name.slice(0, -10).endsWith(readMarker);

/** The lock recipe's only decision, on the children of the lock's path; no I/O. */
export function decideLock(children: readonly string[], own: string, kind: LockKind): LockDecision {
  const sorted = bySequence(children);
  const index = sorted.indexOf(own);
  if (index < 0) return { type: "lost" };
  const before = sorted.slice(0, index);
  const blocking = kind === "write" ? before : before.filter((name) => !isReader(name));
  const predecessor = blocking.at(-1);
  return predecessor === undefined ? { type: "acquired" } : { type: "wait", predecessor };
}

/**
 * The rules a lock machine follows. There is one correct set (`lockRules`); tests of the
 * simulator's teeth hand in broken ones (sim/test/planted-bugs.ts), nothing else may.
 */
export interface LockRules {
  readonly name: string;
  decide: (children: readonly string[], own: string, kind: LockKind) => LockDecision;
  /** A holder that learns its session expired gives the lock up (it must). */
  dropsLockOnExpiry: boolean;
}

export const lockRules: LockRules = { name: "lock", decide: decideLock, dropsLockOnExpiry: true };

export type LockPhase =
  | "idle"
  | "ensuringParent"
  | "creating"
  /** A create's reply was lost: look for the attempt's node by its prefix. */
  | "finding"
  | "statingFound"
  | "listing"
  /** An exists with a watch on the predecessor is in flight. */
  | "watching"
  | "waiting"
  | "holding"
  | "releasing";

export type LockNotice =
  /** `again`: a suspended holder found its node still first after reconnecting. */
  | { type: "acquired"; node: string; token: Zxid; again: boolean }
  /** The holder's connection is gone: the lock may be lost on the servers meanwhile. */
  | { type: "suspended" }
  | { type: "lost"; why: "expired" | "deleted" }
  /** An attempt ended without the lock (its node is gone, or an error); try again later. */
  | { type: "failed"; why: string }
  | { type: "released" };

export interface TaggedRequest {
  /** The machine's own number for the request; the harness hands it back with the reply. */
  tag: number;
  request: Request;
}

/** What one input produced. Callers own the arrays. */
export interface RecipeStep<Notice> {
  requests: TaggedRequest[];
  notices: Notice[];
}

export interface LockMachineOptions {
  path: string;
  kind?: LockKind;
  data?: ZnodeData;
  rules?: LockRules;
}

/**
 * One contender for one lock. Single-threaded: one request of its own in flight at a time (plus
 * deletes of its own orphaned nodes, whose replies it ignores). Callers must pass every reply and
 * watch event of the session it runs on, and tell it of every disconnection and expiry.
 */
export class LockMachine {
  phase: LockPhase = "idle";
  private readonly path: string;
  private readonly kind: LockKind;
  private readonly data: ZnodeData;
  private readonly rules: LockRules;
  private nextTag = 1;
  private pendingTag: number | undefined;
  private isConnected = false;
  private attempt = "";
  private retries = 0;
  private prefix = "";
  /** Every prefix this session used: nodes carrying one but not our own are orphans to delete. */
  private readonly prefixes = new Set<string>();
  private own: { name: string; token: Zxid } | undefined;
  private found: string | undefined;
  private predecessor: string | undefined;
  /** The holder was told it holds the lock and has not been told it lost or released it. */
  private held = false;
  /** Planted bugs only: the session expired but the holder goes on believing (see LockRules). */
  private zombie = false;
  private out: RecipeStep<LockNotice> = { requests: [], notices: [] };

  constructor(options: LockMachineOptions) {
    assert(options.path.startsWith("/") && !options.path.endsWith("/"), "a lock path is absolute");
    this.path = options.path;
    this.kind = options.kind ?? "write";
    this.data = options.data ?? null;
    this.rules = options.rules ?? lockRules;
  }

  get holding(): boolean {
    return this.held;
  }

  get node(): string | undefined {
    return this.own === undefined ? undefined : `${this.path}/${this.own.name}`;
  }

  /** Starts an attempt; `attemptId` must be unique to it (the harness's randomness). */
  acquire(attemptId: string): RecipeStep<LockNotice> {
    assert(this.phase === "idle", `acquire from idle (in ${this.phase})`);
    assert(!this.held, "a holder does not acquire again");
    this.attempt = attemptId;
    this.retries = 0;
    this.newPrefix();
    this.phase = "ensuringParent";
    this.issue();
    return this.flush();
  }

  release(): RecipeStep<LockNotice> {
    assert(this.phase === "holding" && this.held, `release while holding (in ${this.phase})`);
    this.held = false;
    this.phase = "releasing";
    this.issue();
    return this.flush();
  }

  connected(): RecipeStep<LockNotice> {
    this.isConnected = true;
    // Make sure the node is still first (a zombie of a planted bug does not look).
    if (this.phase === "holding" && !this.zombie) this.phase = "listing";
    else if (this.phase === "holding")
      this.notice({ type: "acquired", node: this.node!, token: this.own!.token, again: true });
    if (this.phase !== "idle" && this.phase !== "waiting") this.issue();
    if (this.phase === "waiting") {
      // The watch may not have survived the move to another server: look again.
      this.phase = "listing";
      this.issue();
    }
    return this.flush();
  }

  disconnected(): RecipeStep<LockNotice> {
    this.isConnected = false;
    this.pendingTag = undefined;
    if (this.phase === "creating") this.phase = "finding";
    if (this.held) this.notice({ type: "suspended" });
    return this.flush();
  }

  expired(): RecipeStep<LockNotice> {
    this.isConnected = false;
    this.pendingTag = undefined;
    this.prefixes.clear();
    if (this.held && !this.rules.dropsLockOnExpiry) {
      this.phase = "holding"; // a planted bug: the holder goes on as if nothing had happened
      this.zombie = true;
      return this.flush();
    }
    if (this.phase === "releasing")
      this.notice({ type: "released" }); // gone with the session
    else if (this.held) this.notice({ type: "lost", why: "expired" });
    else if (this.phase !== "idle") this.notice({ type: "failed", why: "the session expired" });
    this.reset();
    return this.flush();
  }

  watch(path: string): RecipeStep<LockNotice> {
    const watched = this.predecessor === undefined ? "" : `${this.path}/${this.predecessor}`;
    if (this.phase === "waiting" && path === watched) {
      this.phase = "listing";
      this.issue();
    }
    return this.flush();
  }

  reply(tag: number, reply: Reply): RecipeStep<LockNotice> {
    if (tag !== this.pendingTag) return this.flush(); // an orphan's delete, or a stale reply
    this.pendingTag = undefined;
    switch (this.phase) {
      case "ensuringParent":
        return this.onEnsured(reply);
      case "creating":
        return this.onCreated(reply);
      case "finding":
        return this.onFinding(reply);
      case "statingFound":
        return this.onStatingFound(reply);
      case "listing":
        return this.onListing(reply);
      case "watching":
        return this.onWatching(reply);
      case "releasing":
        return this.onReleased(reply);
      default:
        assert(false, `no request is pending in ${this.phase}`);
    }
  }

  private onEnsured(reply: Reply): RecipeStep<LockNotice> {
    if (reply.err !== Err.OK && reply.err !== Err.NODEEXISTS) return this.fail(reply);
    this.phase = "creating";
    this.issue();
    return this.flush();
  }

  private onCreated(reply: Reply): RecipeStep<LockNotice> {
    if (reply.err === Err.NONODE) {
      this.phase = "ensuringParent";
      this.issue();
      return this.flush();
    }
    if (reply.err !== Err.OK) return this.fail(reply);
    assert(reply.path !== undefined && reply.stat !== undefined, "create2 answers path and stat");
    this.own = { name: reply.path.slice(this.path.length + 1), token: reply.stat.czxid };
    this.phase = "listing";
    this.issue();
    return this.flush();
  }

  private onFinding(reply: Reply): RecipeStep<LockNotice> {
    const children = reply.err === Err.OK ? (reply.children ?? []) : [];
    this.found = children.find((name) => name.startsWith(this.prefix));
    if (this.found === undefined) {
      // The create did not apply (yet): try again under a fresh prefix, so that a late one is
      // an orphan we recognize rather than a twin of the new node.
      this.newPrefix();
      this.phase = reply.err === Err.NONODE ? "ensuringParent" : "creating";
    } else this.phase = "statingFound";
    this.issue();
    return this.flush();
  }

  private onStatingFound(reply: Reply): RecipeStep<LockNotice> {
    if (reply.err === Err.OK && reply.stat !== undefined) {
      this.own = { name: this.found!, token: reply.stat.czxid };
      this.phase = "listing";
    } else {
      this.newPrefix();
      this.phase = "creating";
    }
    this.issue();
    return this.flush();
  }

  private onListing(reply: Reply): RecipeStep<LockNotice> {
    assert(this.own !== undefined, "a contender lists once it has a node");
    const listed = reply.err === Err.OK ? (reply.children ?? []) : [];
    // Our own earlier attempts' nodes (creates that applied after we gave up on them) go, and do
    // not count: only this session decides them away, so no one else is misled.
    const own = this.own.name;
    const orphan = (name: string) =>
      name !== own && [...this.prefixes].some((prefix) => name.startsWith(prefix));
    for (const name of listed.filter(orphan))
      this.send({ op: "delete", path: this.child(name), version: -1 });
    const children = listed.filter((name) => !orphan(name));
    const decision = this.rules.decide(children, this.own.name, this.kind);
    if (decision.type === "acquired") {
      this.phase = "holding";
      const again = this.held;
      this.held = true;
      this.notice({ type: "acquired", node: this.node!, token: this.own.token, again });
      return this.flush();
    }
    if (decision.type === "lost") {
      this.notice(
        this.held ? { type: "lost", why: "deleted" } : { type: "failed", why: "the node is gone" },
      );
      this.reset();
      return this.flush();
    }
    if (this.held) this.notice({ type: "lost", why: "deleted" }); // someone is below us now
    this.held = false;
    this.predecessor = decision.predecessor;
    this.phase = "watching";
    this.issue();
    return this.flush();
  }

  private onWatching(reply: Reply): RecipeStep<LockNotice> {
    this.phase = reply.err === Err.OK ? "waiting" : "listing";
    if (this.phase === "listing") this.issue();
    return this.flush();
  }

  private onReleased(reply: Reply): RecipeStep<LockNotice> {
    if (reply.err !== Err.OK && reply.err !== Err.NONODE) {
      this.issue(); // the node must go, or the next waiter waits for the session to end
      return this.flush();
    }
    this.notice({ type: "released" });
    this.reset();
    return this.flush();
  }

  private fail(reply: Reply): RecipeStep<LockNotice> {
    this.notice({ type: "failed", why: `error ${reply.err} in ${this.phase}` });
    this.reset();
    return this.flush();
  }

  private reset(): void {
    this.phase = "idle";
    this.held = false;
    this.zombie = false;
    this.own = undefined;
    this.found = undefined;
    this.predecessor = undefined;
  }

  private newPrefix(): void {
    this.prefix = `_c_${this.attempt}.${this.retries++}-lock-`;
    this.prefixes.add(this.prefix);
  }

  private child(name: string): string {
    return `${this.path}/${name}`;
  }

  /** Sends the request the current phase waits on (nothing while disconnected). */
  private issue(): void {
    if (!this.isConnected) return;
    const request = this.requestFor();
    if (request !== undefined) this.pendingTag = this.send(request);
  }

  private requestFor(): Request | undefined {
    const flags = CreateMode.PERSISTENT;
    switch (this.phase) {
      case "ensuringParent":
        return { op: "create", path: this.path, data: null, acl: openAclUnsafe, flags, ttl: -1 };
      case "creating": {
        const path = this.child(this.prefix);
        const ephemeral = CreateMode.EPHEMERAL_SEQUENTIAL;
        return {
          op: "create2",
          path,
          data: this.data,
          acl: openAclUnsafe,
          flags: ephemeral,
          ttl: -1,
        };
      }
      case "finding":
      case "listing":
        return { op: "getChildren", path: this.path, watch: false };
      case "statingFound":
        return { op: "exists", path: this.child(this.found!), watch: false };
      case "watching":
        return { op: "exists", path: this.child(this.predecessor!), watch: true };
      case "releasing":
        return { op: "delete", path: this.node!, version: -1 };
      default:
        return undefined;
    }
  }

  private send(request: Request): number {
    const tag = this.nextTag++;
    this.out.requests.push({ tag, request });
    return tag;
  }

  private notice(notice: LockNotice): void {
    this.out.notices.push(notice);
  }

  private flush(): RecipeStep<LockNotice> {
    const out = this.out;
    this.out = { requests: [], notices: [] };
    return out;
  }
}
