// Planted bugs in the leader's reaper (core/reaper.ts), for sim/teeth.test.ts. The test's vi.mock
// of core/reaper.ts loads this file while that module is being mocked, so nothing here may import
// it, or anything that does, except as a type.

import type * as Reaper from "../../core/reaper.ts";
import type { DataTree } from "../../core/tree.ts";
import { ttlOfOwner } from "../../core/types.ts";

type ReaperModule = typeof Reaper;

export const reaperBugs = ["container-reaped-before-child", "ttl-from-creation-time"] as const;

/** core/reaper.ts with the named bug planted while `active()` returns its name. */
export function plantedReaper(
  original: ReaperModule,
  active: () => string | undefined,
): ReaperModule {
  const expiredNodeCandidates: ReaperModule["expiredNodeCandidates"] = (tree, nowMs, limit) => {
    const bug = active();
    const candidates = original.expiredNodeCandidates(tree, nowMs, limit);
    if (bug === "container-reaped-before-child")
      return [...new Set([...candidates, ...emptyContainers(tree)])];
    if (bug === "ttl-from-creation-time")
      return [...new Set([...candidates, ...ttlsByCreation(tree, nowMs)])];
    return candidates;
  };
  return { ...original, expiredNodeCandidates };
}

/** Forgets that a container must have had a child: every empty one goes, fresh ones too. */
function emptyContainers(tree: DataTree): string[] {
  return [...tree.containers].filter((path) => {
    const node = tree.get(path);
    return node !== undefined && (node.children === null || node.children.size === 0);
  });
}

/** Dates a TTL node by its creation instead of its last modification: touches do not count. */
function ttlsByCreation(tree: DataTree, nowMs: number): string[] {
  return [...tree.ttls].filter((path) => {
    const node = tree.get(path);
    if (node === undefined || (node.children !== null && node.children.size > 0)) return false;
    return nowMs - node.ctime > ttlOfOwner(node.ephemeralOwner);
  });
}
