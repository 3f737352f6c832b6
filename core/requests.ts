// Client requests and replies as the core sees them: one variant per ZooKeeper opcode, with the
// fields of the jute request records. The wire codec (net/) and the simulator's client build these.

import type { ZnodeData } from "./bytes.ts";
import type { Acl, Id, SessionId, Stat, Zxid } from "./types.ts";

export type CreateOp = "create" | "create2" | "createContainer" | "createTTL";

export interface CreateRequest {
  op: CreateOp;
  path: string;
  data: ZnodeData;
  acl: readonly Acl[];
  flags: number;
  /** Only createTTL carries a TTL; every other create sends -1 (no TTL). */
  ttl: number;
}
export interface DeleteRequest {
  op: "delete";
  path: string;
  version: number;
}
export interface SetDataRequest {
  op: "setData";
  path: string;
  data: ZnodeData;
  version: number;
}
export interface CheckRequest {
  op: "check";
  path: string;
  version: number;
}
export interface SetAclRequest {
  op: "setACL";
  path: string;
  acl: readonly Acl[];
  version: number;
}

/** Ops allowed inside a multi (ZooKeeper's MultiOperationRecord with write ops). */
export type MultiWriteOp = CreateRequest | DeleteRequest | SetDataRequest | CheckRequest;
export interface MultiRequest {
  op: "multi";
  ops: readonly MultiWriteOp[];
}

export interface GetDataRequest {
  op: "getData";
  path: string;
  watch: boolean;
}
export interface GetChildrenRequest {
  op: "getChildren";
  path: string;
  watch: boolean;
}
export type MultiReadOp = GetDataRequest | GetChildrenRequest;
export interface MultiReadRequest {
  op: "multiRead";
  ops: readonly MultiReadOp[];
}

export type WriteRequest =
  | CreateRequest
  | DeleteRequest
  | SetDataRequest
  | CheckRequest
  | SetAclRequest
  | MultiRequest;

export type ReadRequest =
  | { op: "exists"; path: string; watch: boolean }
  | GetDataRequest
  | GetChildrenRequest
  | { op: "getChildren2"; path: string; watch: boolean }
  | { op: "getACL"; path: string }
  | { op: "getAllChildrenNumber"; path: string }
  | { op: "getEphemerals"; prefixPath: string }
  | MultiReadRequest
  | { op: "whoAmI" };

export type Request = WriteRequest | ReadRequest | { op: "sync"; path: string };

const writeOps = new Set<string>([
  "create",
  "create2",
  "createContainer",
  "createTTL",
  "delete",
  "setData",
  "check",
  "setACL",
  "multi",
]);
export const isWriteRequest = <R extends { readonly op: string }>(
  request: R,
): request is R & WriteRequest => writeOps.has(request.op);

/** Who is asking: the session and the ids its connection authenticated (ip, digest, super). */
export interface RequestContext {
  sessionId: SessionId;
  cxid: number;
  authIds: readonly Id[];
}

/** Result of one op inside a multi or multiRead, as ZooKeeper's OpResult subclasses. */
export type OpResult =
  | { op: "create"; path: string; stat?: Stat }
  | { op: "delete" }
  | { op: "setData"; stat: Stat }
  | { op: "check" }
  | { op: "getData"; data: ZnodeData; stat: Stat }
  | { op: "getChildren"; children: string[] }
  | { op: "error"; err: number };

/**
 * A reply: the header's err and zxid (the server's last applied zxid when it answered) and the
 * response record's fields for the op; only the fields of the op's response record are set.
 */
export interface Reply {
  err: number;
  zxid: Zxid;
  path?: string;
  stat?: Stat;
  data?: ZnodeData;
  acl?: Acl[];
  children?: string[];
  count?: number;
  ephemerals?: string[];
  results?: OpResult[];
  clientInfo?: { authScheme: string; user: string }[];
}
