// Drives a WatchManager with real txns: writes go through the standalone server (prep and apply, so
// the triggers are exactly what the tree produces), and a mirror Database replays the server's log
// to get each txn's triggers, since the standalone server does not hand them out. Reads register
// watches the way the replica does (exists on a missing node -> exist watch; getData/getChildren
// only when they succeed).

import { utf8 } from "../bytes.ts";
import { Database } from "../database.ts";
import { Err } from "../errors.ts";
import { executeRead } from "../read.ts";
import type { MultiWriteOp, Reply, Request, RequestContext } from "../requests.ts";
import type { WatchTrigger } from "../tree.ts";
import type { SessionId } from "../types.ts";
import { WatchManager } from "../watches.ts";
import type { DeliveryFilter, WatchEvent } from "../watches.ts";
import { Harness, nowMs } from "./helpers.ts";

export class WatchDriver {
  readonly h = new Harness();
  readonly db = new Database({ extendedTypesEnabled: false });
  readonly watches: WatchManager;
  /** Every event so far, in the order the manager produced them. */
  readonly events: WatchEvent[] = [];
  /** Triggers of the most recent catch-up, for reference models. */
  lastTriggers: WatchTrigger[] = [];
  deliver: DeliveryFilter | undefined;
  private applied = 0;

  constructor(watches = new WatchManager()) {
    this.watches = watches;
    this.catchUp();
  }

  /** Applies the txns the server committed since the last call; returns the new events. */
  catchUp(): WatchEvent[] {
    const fresh: WatchEvent[] = [];
    this.lastTriggers = [];
    for (; this.applied < this.h.server.log.length; this.applied++) {
      const txn = this.h.server.log[this.applied]!;
      const { triggers } = this.db.applyTxn(txn);
      this.lastTriggers.push(...triggers);
      fresh.push(...this.watches.trigger(triggers, txn.zxid, this.deliver));
    }
    this.events.push(...fresh);
    this.watches.checkInvariants();
    return fresh;
  }

  /** A new session (its createSession txn fires nothing). */
  session(): SessionId {
    const { sessionId } = this.h.session();
    this.catchUp();
    return sessionId;
  }

  write(request: Request, session?: SessionId): { reply: Reply; events: WatchEvent[] } {
    const reply = this.h.send(request, session === undefined ? this.h.ctx : this.ctx(session));
    return { reply, events: this.catchUp() };
  }

  create(path: string, options: { flags?: number; session?: SessionId } = {}): WatchEvent[] {
    const owner = options.session === undefined ? {} : { ctx: this.ctx(options.session) };
    const reply = this.h.create(path, { flags: options.flags ?? 0, ...owner });
    if (reply.err !== Err.OK) throw new Error(`create ${path}: err ${reply.err}`);
    return this.catchUp();
  }

  set(path: string, data = "x"): WatchEvent[] {
    return this.mustWrite({ op: "setData", path, data: utf8(data), version: -1 });
  }

  del(path: string): WatchEvent[] {
    return this.mustWrite({ op: "delete", path, version: -1 });
  }

  multi(ops: MultiWriteOp[]): WatchEvent[] {
    return this.mustWrite({ op: "multi", ops });
  }

  closeSession(session: SessionId): WatchEvent[] {
    const reply = this.h.server.closeSession(session, nowMs);
    if (reply.err !== Err.OK) throw new Error(`closeSession: err ${reply.err}`);
    this.watches.removeSession(session);
    return this.catchUp();
  }

  private mustWrite(request: Request): WatchEvent[] {
    const { reply, events } = this.write(request);
    if (reply.err !== Err.OK) throw new Error(`${request.op}: err ${reply.err}`);
    return events;
  }

  private ctx(sessionId: SessionId): RequestContext {
    return { sessionId, cxid: 0, authIds: [] };
  }

  /** exists with watch: a data watch when the node exists, an exist watch when it does not. */
  exists(session: SessionId, path: string): number {
    const reply = executeRead(this.db, this.ctx(session), { op: "exists", path, watch: true });
    if (reply.err === Err.OK) this.watches.addDataWatch(session, path);
    else if (reply.err === Err.NONODE) this.watches.addExistWatch(session, path);
    return reply.err;
  }

  getData(session: SessionId, path: string): number {
    const reply = executeRead(this.db, this.ctx(session), { op: "getData", path, watch: true });
    if (reply.err === Err.OK) this.watches.addDataWatch(session, path);
    return reply.err;
  }

  getChildren(session: SessionId, path: string): number {
    const request = { op: "getChildren", path, watch: true } as const;
    const reply = executeRead(this.db, this.ctx(session), request);
    if (reply.err === Err.OK) this.watches.addChildWatch(session, path);
    return reply.err;
  }
}
