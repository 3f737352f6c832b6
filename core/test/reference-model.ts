// A deliberately simple model of ZooKeeper's tree for property tests: a flat map of nodes, children
// found by scanning, no overlay, no indexes, no digest. If the real tree and this disagree on any
// result or Stat field, one of them is wrong.

import { Err } from "../errors.ts";

export interface RefNode {
  data: string;
  version: number;
  cversion: number;
  czxid: bigint;
  mzxid: bigint;
  pzxid: bigint;
  owner: bigint;
}

export type RefWrite =
  | { op: "create"; path: string; data: string; ephemeral: boolean; sequential: boolean }
  | { op: "delete"; path: string; version: number }
  | { op: "setData"; path: string; data: string; version: number }
  | { op: "check"; path: string; version: number };

export interface RefResult {
  err: number;
  path?: string;
  node?: RefNode;
}

const parentOf = (path: string) =>
  path.lastIndexOf("/") === 0 ? "/" : path.slice(0, path.lastIndexOf("/"));

export class RefTree {
  nodes = new Map<string, RefNode>();
  zxid = 0n;

  constructor() {
    const zero = { data: "", version: 0, cversion: 0, czxid: 0n, mzxid: 0n, pzxid: 0n, owner: 0n };
    for (const path of ["/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config"])
      this.nodes.set(path, { ...zero });
  }

  clone(): RefTree {
    const copy = new RefTree();
    copy.nodes = new Map([...this.nodes].map(([p, n]) => [p, { ...n }]));
    copy.zxid = this.zxid;
    return copy;
  }

  children(path: string): string[] {
    return [...this.nodes.keys()]
      .filter((p) => p !== "/" && parentOf(p) === path)
      .map((p) => p.slice(p.lastIndexOf("/") + 1));
  }

  /** Applies one write at zxid `z`; returns its result without consuming a zxid. */
  apply(w: RefWrite, z: bigint, session: bigint): RefResult {
    const node = this.nodes.get(w.path);
    if (w.op === "create") {
      const parent = this.nodes.get(parentOf(w.path));
      if (parent === undefined) return { err: Err.NONODE };
      const path = w.sequential ? w.path + String(parent.cversion).padStart(10, "0") : w.path;
      if (this.nodes.has(path)) return { err: Err.NODEEXISTS };
      if (parent.owner !== 0n) return { err: Err.NOCHILDRENFOREPHEMERALS };
      parent.cversion++;
      parent.pzxid = z;
      const created = {
        data: w.data,
        version: 0,
        cversion: 0,
        czxid: z,
        mzxid: z,
        pzxid: z,
        owner: w.ephemeral ? session : 0n,
      };
      this.nodes.set(path, created);
      return { err: Err.OK, path, node: created };
    }
    if (node === undefined) return { err: Err.NONODE };
    if (w.version !== -1 && w.version !== node.version) return { err: Err.BADVERSION };
    if (w.op === "check") return { err: Err.OK };
    if (w.op === "setData") {
      Object.assign(node, { data: w.data, version: node.version + 1, mzxid: z });
      return { err: Err.OK, node };
    }
    if (this.children(w.path).length > 0) return { err: Err.NOTEMPTY };
    this.nodes.delete(w.path);
    this.nodes.get(parentOf(w.path))!.pzxid = z;
    return { err: Err.OK };
  }

  write(w: RefWrite, session: bigint): RefResult {
    this.zxid++;
    return this.apply(w, this.zxid, session);
  }

  /** All or nothing; on failure OK before the failing op, its code, RUNTIMEINCONSISTENCY after. */
  multi(ops: RefWrite[], session: bigint): RefResult[] {
    this.zxid++;
    const scratch = this.clone();
    const results: RefResult[] = [];
    for (const op of ops) {
      const result = scratch.apply(op, this.zxid, session);
      results.push(result);
      if (result.err !== Err.OK) {
        return ops.map((_, i) => ({
          err:
            i < results.length - 1
              ? Err.OK
              : i === results.length - 1
                ? result.err
                : Err.RUNTIMEINCONSISTENCY,
        }));
      }
    }
    this.nodes = scratch.nodes;
    return results;
  }

  closeSession(session: bigint): void {
    this.zxid++;
    for (const [path, node] of [...this.nodes]) {
      if (node.owner === session) {
        this.nodes.delete(path);
        this.nodes.get(parentOf(path))!.pzxid = this.zxid;
      }
    }
  }
}
