// Which containers and TTL nodes the leader should delete now (ZooKeeper's ContainerManager): a
// container once it has had children and has none left; a TTL node once it is childless and has not
// been modified for its TTL. Time is the leader's `now`, an input like every other.

import type { DataTree } from "./tree.ts";
import { ephemeralKind, ttlOfOwner } from "./types.ts";

export function expiredNodeCandidates(tree: DataTree, nowMs: number, limit: number): string[] {
  const candidates: string[] = [];
  for (const path of tree.containers) {
    if (candidates.length >= limit) return candidates;
    const node = tree.get(path);
    if (
      node !== undefined &&
      (node.children === null || node.children.size === 0) &&
      node.cversion > 0
    ) {
      candidates.push(path);
    }
  }
  for (const path of tree.ttls) {
    if (candidates.length >= limit) return candidates;
    const node = tree.get(path);
    if (node === undefined || (node.children !== null && node.children.size > 0)) continue;
    if (ephemeralKind(node.ephemeralOwner, tree.options.extendedTypesEnabled) !== "ttl") continue;
    const ttlMs = ttlOfOwner(node.ephemeralOwner);
    if (ttlMs !== 0 && nowMs - node.mtime > ttlMs) candidates.push(path);
  }
  return candidates;
}
