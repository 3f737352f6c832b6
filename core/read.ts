// Reads are answered from the committed tree of the server the client is connected to (ZooKeeper's
// FinalRequestProcessor): no txn, no zxid. Checks and their order follow ZooKeeper 3.8.

import { aclPermits, maskDigests, userOf } from "./acl.ts";
import type { Database } from "./database.ts";
import { Err } from "./errors.ts";
import { rootPath } from "./path.ts";
import type { MultiReadOp, OpResult, ReadRequest, Reply, RequestContext } from "./requests.ts";
import { statOf } from "./tree.ts";
import type { ZNode } from "./tree.ts";
import { Perms } from "./types.ts";

type ReplyBody = Omit<Reply, "zxid">;

const fail = (err: number): ReplyBody => ({ err });

/**
 * The node a read names. ZooKeeper's data tree also keys the root by "", so reads of "" answer as
 * the root (writes of "" fail path validation before any lookup).
 */
function lookup(db: Database, path: string): ZNode | undefined {
  return db.tree.get(path === "" ? rootPath : path);
}

function readable(db: Database, path: string, ctx: RequestContext): ZNode | number {
  const node = lookup(db, path);
  if (node === undefined) return Err.NONODE;
  if (!aclPermits(node.acl, Perms.READ, ctx.authIds)) return Err.NOAUTH;
  return node;
}

export function executeRead(db: Database, ctx: RequestContext, request: ReadRequest): Reply {
  return { ...readBody(db, ctx, request), zxid: db.lastZxid };
}

function readBody(db: Database, ctx: RequestContext, request: ReadRequest): ReplyBody {
  switch (request.op) {
    case "exists": {
      // ZooKeeper 3.8.0 checks no ACL on exists; only a NUL in the path is refused up front.
      if (request.path.includes("\0")) return fail(Err.BADARGUMENTS);
      const node = lookup(db, request.path);
      return node === undefined ? fail(Err.NONODE) : { err: Err.OK, stat: statOf(node) };
    }
    case "getData":
    case "getChildren":
    case "getChildren2": {
      const node = readable(db, request.path, ctx);
      if (typeof node === "number") return fail(node);
      if (request.op === "getData") return { err: Err.OK, data: node.data, stat: statOf(node) };
      const children = node.children === null ? [] : [...node.children];
      return request.op === "getChildren"
        ? { err: Err.OK, children }
        : { err: Err.OK, children, stat: statOf(node) };
    }
    case "getACL":
      return getAcl(db, ctx, request.path);
    case "getAllChildrenNumber": {
      const node = readable(db, request.path, ctx);
      return typeof node === "number"
        ? fail(node)
        : { err: Err.OK, count: countDescendants(db, request.path) };
    }
    case "getEphemerals":
      return { err: Err.OK, ephemerals: ephemeralsOf(db, ctx, request.prefixPath) };
    case "multiRead":
      return { err: Err.OK, results: request.ops.map((op) => multiReadOp(db, ctx, op)) };
    case "whoAmI":
      return {
        err: Err.OK,
        clientInfo: ctx.authIds.map((id) => ({ authScheme: id.scheme, user: userOf(id) })),
      };
  }
}

/** getACL needs READ or ADMIN; without ADMIN digest ids are masked. */
function getAcl(db: Database, ctx: RequestContext, path: string): ReplyBody {
  const node = lookup(db, path);
  if (node === undefined) return fail(Err.NONODE);
  if (!aclPermits(node.acl, Perms.READ | Perms.ADMIN, ctx.authIds)) return fail(Err.NOAUTH);
  const admin = aclPermits(node.acl, Perms.ADMIN, ctx.authIds);
  return { err: Err.OK, acl: admin ? [...node.acl] : maskDigests(node.acl), stat: statOf(node) };
}

/**
 * Every node below `path`; for "/" every node but the root (ZooKeeper counts /zookeeper too).
 * ZooKeeper counts the keys that start with `path + "/"`: for "" that is every node, the root's
 * "/" key included.
 */
function countDescendants(db: Database, path: string): number {
  if (path === "/") return db.tree.size - 1;
  if (path === "") return db.tree.size;
  let count = 0;
  const stack = [path];
  while (stack.length > 0) {
    const parent = stack.pop()!;
    const children = db.tree.get(parent)?.children;
    if (children == null) continue;
    for (const name of children) {
      count++;
      stack.push(`${parent}/${name}`);
    }
  }
  return count;
}

/**
 * The session's ephemerals whose path starts with the prefix: a string prefix, not a path prefix,
 * exactly as ZooKeeper compares ("/a" also matches "/ab").
 */
function ephemeralsOf(db: Database, ctx: RequestContext, prefixPath: string): string[] {
  const all = [...(db.tree.ephemerals.get(ctx.sessionId) ?? [])];
  const prefix = prefixPath.trim();
  if (prefix === "" || prefix === "/") return all;
  return all.filter((path) => path.startsWith(prefixPath));
}

/** multiRead: each read answers on its own; a failure is an error result, not an abort. */
function multiReadOp(db: Database, ctx: RequestContext, op: MultiReadOp): OpResult {
  const node = readable(db, op.path, ctx);
  if (typeof node === "number") return { op: "error", err: node };
  if (op.op === "getData") return { op: "getData", data: node.data, stat: statOf(node) };
  return { op: "getChildren", children: node.children === null ? [] : [...node.children] };
}
