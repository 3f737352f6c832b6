// Shared test helpers: a standalone server with one or more sessions and terse request builders.

import { utf8 } from "../bytes.ts";
import type { Reply, Request, RequestContext } from "../requests.ts";
import { StandaloneServer, standaloneConfig } from "../standalone.ts";
import type { StandaloneConfig } from "../standalone.ts";
import { openAclUnsafe } from "../types.ts";
import type { Acl, Id } from "../types.ts";

export const nowMs = 1_700_000_000_000;

export class Harness {
  readonly server: StandaloneServer;
  readonly ctx: RequestContext;
  private cxid = 0;

  constructor(config: Partial<StandaloneConfig> = {}, authIds: Id[] = []) {
    this.server = new StandaloneServer(standaloneConfig({ keepLog: true, ...config }));
    const { sessionId } = this.server.createSession(30_000, nowMs);
    this.ctx = { sessionId, cxid: 0, authIds };
  }

  /** Another session on the same server, with its own auth. */
  session(authIds: Id[] = []): RequestContext {
    const { sessionId } = this.server.createSession(30_000, nowMs);
    return { sessionId, cxid: 0, authIds };
  }

  send(request: Request, ctx: RequestContext = this.ctx, atMs = nowMs): Reply {
    return this.server.submit({ ...ctx, cxid: ++this.cxid }, request, atMs);
  }

  create(
    path: string,
    options: {
      data?: string;
      flags?: number;
      acl?: readonly Acl[];
      ctx?: RequestContext;
      ttl?: number;
    } = {},
  ): Reply {
    const op = options.ttl !== undefined ? "createTTL" : "create2";
    return this.send(
      {
        op,
        path,
        data: utf8(options.data ?? ""),
        acl: options.acl ?? openAclUnsafe,
        flags: options.flags ?? 0,
        ttl: options.ttl ?? -1,
      },
      options.ctx,
    );
  }
}
