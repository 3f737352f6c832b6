// The distributed queue recipe as a sans-I/O state machine: items are persistent sequential nodes
// under the queue's path; a consumer takes the lowest by reading it and then deleting it at the
// version it read, so only the consumer whose delete succeeded has it. A put or take whose reply
// was lost is ambiguous and said so, never retried behind the caller's back (a retried put could
// enqueue an item twice).

import { assert } from "../assert.ts";
import type { ZnodeData } from "../bytes.ts";
import { Err } from "../errors.ts";
import type { Reply, Request } from "../requests.ts";
import { CreateMode, openAclUnsafe } from "../types.ts";
import type { RecipeStep, TaggedRequest } from "./lock.ts";
import { bySequence } from "./lock.ts";

export type QueuePhase =
  | "idle"
  | "ensuringParent"
  | "putting"
  | "syncing"
  | "listing"
  | "reading"
  | "deleting";

export type QueueNotice =
  | { type: "put"; node: string }
  /** The connection went with the create in flight: the item may or may not be queued. */
  | { type: "putAmbiguous" }
  | { type: "taken"; node: string; data: ZnodeData }
  /** The connection went with the delete in flight: this consumer may or may not have the item. */
  | { type: "takeAmbiguous"; node: string; data: ZnodeData }
  /** The listing was empty (after a sync, if the take asked for one). */
  | { type: "empty" }
  /** Nothing was put or taken (every listed item went to others, an error, a lost connection). */
  | { type: "failed"; why: string };

const itemPrefix = "item-";

/** One producer-consumer of one queue; one operation at a time, as the lock machine. */
export class QueueMachine {
  phase: QueuePhase = "idle";
  private nextTag = 1;
  private pendingTag: number | undefined;
  private isConnected = false;
  private data: ZnodeData = null;
  private candidates: string[] = [];
  private readData: ZnodeData = null;
  private readVersion = -1;
  private out: RecipeStep<QueueNotice> = { requests: [], notices: [] };

  constructor(private readonly path: string) {
    assert(path.startsWith("/") && !path.endsWith("/"), "a queue path is absolute");
  }

  put(data: ZnodeData): RecipeStep<QueueNotice> {
    assert(this.phase === "idle", `put from idle (in ${this.phase})`);
    this.data = data;
    this.phase = "putting";
    return this.start();
  }

  /** Takes the oldest item; `linearizable`: sync first, so an empty answer is not a stale one. */
  take(linearizable: boolean): RecipeStep<QueueNotice> {
    assert(this.phase === "idle", `take from idle (in ${this.phase})`);
    this.phase = linearizable ? "syncing" : "listing";
    return this.start();
  }

  connected(): RecipeStep<QueueNotice> {
    this.isConnected = true;
    return this.flush();
  }

  disconnected(): RecipeStep<QueueNotice> {
    this.isConnected = false;
    this.pendingTag = undefined;
    if (this.phase === "putting") this.notice({ type: "putAmbiguous" });
    else if (this.phase === "deleting")
      this.notice({ type: "takeAmbiguous", node: this.candidates[0]!, data: this.readData });
    else if (this.phase !== "idle") this.notice({ type: "failed", why: "connection lost" });
    this.phase = "idle";
    return this.flush();
  }

  reply(tag: number, reply: Reply): RecipeStep<QueueNotice> {
    if (tag !== this.pendingTag) return this.flush();
    this.pendingTag = undefined;
    switch (this.phase) {
      case "ensuringParent":
        if (reply.err !== Err.OK && reply.err !== Err.NODEEXISTS) return this.fail(reply);
        this.phase = "putting";
        break;
      case "putting":
        if (reply.err === Err.NONODE) this.phase = "ensuringParent";
        else if (reply.err !== Err.OK) return this.fail(reply);
        else return this.finish({ type: "put", node: reply.path! });
        break;
      case "syncing":
        this.phase = "listing";
        break;
      case "listing":
        return this.onListing(reply);
      case "reading":
        if (reply.err === Err.OK) {
          this.readData = reply.data ?? null;
          this.readVersion = reply.stat!.version;
          this.phase = "deleting";
        } else this.nextCandidate();
        break;
      case "deleting":
        if (reply.err === Err.OK) {
          const node = this.candidates[0]!;
          return this.finish({ type: "taken", node, data: this.readData });
        }
        this.nextCandidate(); // another consumer took it first
        break;
      default:
        assert(false, `no request is pending in ${this.phase}`);
    }
    this.issue();
    return this.flush();
  }

  private onListing(reply: Reply): RecipeStep<QueueNotice> {
    const children = reply.err === Err.OK ? (reply.children ?? []) : [];
    this.candidates = bySequence(children.filter((name) => name.startsWith(itemPrefix)));
    if (this.candidates.length === 0) return this.finish({ type: "empty" });
    this.phase = "reading";
    this.issue();
    return this.flush();
  }

  private nextCandidate(): void {
    this.candidates.shift();
    this.phase = this.candidates.length === 0 ? "idle" : "reading";
    if (this.phase === "idle") this.notice({ type: "failed", why: "every item went to others" });
  }

  private start(): RecipeStep<QueueNotice> {
    if (!this.isConnected) return this.fail({ err: Err.CONNECTIONLOSS } as Reply);
    this.issue();
    return this.flush();
  }

  private finish(notice: QueueNotice): RecipeStep<QueueNotice> {
    this.notice(notice);
    this.phase = "idle";
    return this.flush();
  }

  private fail(reply: Pick<Reply, "err">): RecipeStep<QueueNotice> {
    return this.finish({ type: "failed", why: `error ${reply.err} in ${this.phase}` });
  }

  private issue(): void {
    if (!this.isConnected || this.phase === "idle") return;
    const request = this.requestFor();
    const tag = this.nextTag++;
    this.out.requests.push({ tag, request } satisfies TaggedRequest);
    this.pendingTag = tag;
  }

  private requestFor(): Request {
    const acl = openAclUnsafe;
    const item = () => `${this.path}/${this.candidates[0]!}`;
    switch (this.phase) {
      case "ensuringParent":
        return { op: "create", path: this.path, data: null, acl, flags: 0, ttl: -1 };
      case "putting": {
        const flags = CreateMode.PERSISTENT_SEQUENTIAL;
        return {
          op: "create",
          path: `${this.path}/${itemPrefix}`,
          data: this.data,
          acl,
          flags,
          ttl: -1,
        };
      }
      case "syncing":
        return { op: "sync", path: this.path };
      case "listing":
        return { op: "getChildren", path: this.path, watch: false };
      case "reading":
        return { op: "getData", path: item(), watch: false };
      case "deleting":
        return { op: "delete", path: item(), version: this.readVersion };
      default:
        assert(false, `no request to send in ${this.phase}`);
    }
  }

  private notice(notice: QueueNotice): void {
    this.out.notices.push(notice);
  }

  private flush(): RecipeStep<QueueNotice> {
    const out = this.out;
    this.out = { requests: [], notices: [] };
    return out;
  }
}
