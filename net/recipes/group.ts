// Group membership and service discovery: each member is an ephemeral node named by its id under
// the group's path, holding its data (e.g. an address); the members are the children, kept
// current by a child watch. A member's node goes when its session does.

import type { ZooKeeperClient } from "../client/index.ts";
import { NodeExistsError, NoNodeError } from "../client/index.ts";
import { ensurePath, retryOnConnectionLoss, sessionEnded } from "./common.ts";

export interface Member {
  id: string;
  data: Uint8Array;
}

export class Group {
  constructor(
    private readonly client: ZooKeeperClient,
    readonly path: string,
  ) {}

  /** Joins as `id`; the membership lasts as long as the session (or until leave). */
  async join(id: string, data: Uint8Array | string = ""): Promise<void> {
    if (id.includes("/")) throw new Error("a member id cannot contain '/'");
    await retryOnConnectionLoss(() => ensurePath(this.client, this.path, "persistent"));
    try {
      await retryOnConnectionLoss(() =>
        this.client.create(`${this.path}/${id}`, data, { mode: "ephemeral" }),
      );
    } catch (error) {
      // A create retried after a lost reply finds its own node: ours if it is this session's.
      if (!(error instanceof NodeExistsError)) throw error;
      const stat = await this.client.exists(`${this.path}/${id}`);
      if (stat?.ephemeralOwner !== this.client.sessionId) throw error;
    }
  }

  async leave(id: string): Promise<void> {
    try {
      await retryOnConnectionLoss(() => this.client.delete(`${this.path}/${id}`));
    } catch (error) {
      if (!(error instanceof NoNodeError)) throw error;
    }
  }

  /** The members now, sorted by id. */
  async members(watch?: () => void): Promise<Member[]> {
    let ids: string[];
    try {
      ids = await retryOnConnectionLoss(() =>
        this.client.getChildren(this.path, watch === undefined ? {} : { watch }),
      );
    } catch (error) {
      if (!(error instanceof NoNodeError)) throw error;
      if (watch === undefined) return [];
      // Created between the two reads: a watch on it now would never see its children come.
      if ((await this.client.exists(this.path, { watch })) !== null) return this.members(watch);
      return [];
    }
    const out: Member[] = [];
    for (const id of ids.sort()) {
      try {
        out.push({
          id,
          data: (await retryOnConnectionLoss(() => this.client.getData(`${this.path}/${id}`))).data,
        });
      } catch (error) {
        if (!(error instanceof NoNodeError)) throw error;
      }
    }
    return out;
  }

  /** Calls `listener` with the members now and after every change, until the returned stop. */
  watch(listener: (members: Member[]) => void): () => void {
    let stopped = false;
    // A refresh reads the children, then each member's data: one started by a later change can
    // finish first, so an older one's list (maybe of members gone since) is dropped, not shown.
    let latest = 0;
    const refresh = () => {
      if (stopped || sessionEnded(this.client)) return;
      const mine = ++latest;
      this.members(refresh).then(
        (members) => {
          if (!stopped && mine === latest) listener(members);
        },
        () => {},
      );
    };
    refresh();
    return () => {
      stopped = true;
    };
  }
}
