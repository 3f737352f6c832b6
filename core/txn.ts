// Txns: what the leader decided (prep.ts) and every replica applies (database.ts). A txn resolves
// every choice up front (zxid, time, sequential name, parent cversion, ephemeral owner), so
// applying it is total and deterministic on every replica and on replay.

import { dataLength } from "./bytes.ts";
import type { ZnodeData } from "./bytes.ts";
import type { Acl, SessionId, Zxid } from "./types.ts";
import { hex } from "./types.ts";
import { errName } from "./errors.ts";

export type TxnBody =
  | {
      type: "create";
      path: string;
      data: ZnodeData;
      acl: readonly Acl[];
      ephemeralOwner: bigint;
      parentCversion: number;
    }
  | { type: "delete"; path: string }
  | { type: "setData"; path: string; data: ZnodeData; version: number }
  | { type: "setACL"; path: string; acl: readonly Acl[]; aversion: number }
  | { type: "check"; path: string; version: number }
  /** A write that failed validation still takes a zxid, as in ZooKeeper (ErrorTxn). */
  | { type: "error"; err: number }
  | { type: "multi"; ops: readonly TxnBody[] }
  /** `origin` names the server and its connection tag waiting for the session, to answer it. */
  | { type: "createSession"; timeoutMs: number; originServer: number; originTag: number }
  /** Closes a session (client close or expiry) and deletes the ephemerals listed. */
  | { type: "closeSession"; ephemerals: readonly string[] };

export interface Txn {
  zxid: Zxid;
  sessionId: SessionId;
  cxid: number;
  /** The leader's clock when it decided the txn (ZooKeeper's TxnHeader.time); ctime and mtime. */
  timeMs: number;
  body: TxnBody;
}

const describeLength = (data: ZnodeData): string =>
  data === null ? "null" : String(dataLength(data));

export function describeTxnBody(body: TxnBody): string {
  switch (body.type) {
    case "create":
      return (
        `create ${body.path} len=${describeLength(body.data)} ` +
        `owner=${hex(body.ephemeralOwner)} pcv=${body.parentCversion}`
      );
    case "delete":
      return `delete ${body.path}`;
    case "setData":
      return `setData ${body.path} len=${describeLength(body.data)} v=${body.version}`;
    case "setACL":
      return `setACL ${body.path} av=${body.aversion}`;
    case "check":
      return `check ${body.path} v=${body.version}`;
    case "error":
      return `error ${errName(body.err)}`;
    case "multi":
      return `multi [${body.ops.map(describeTxnBody).join("; ")}]`;
    case "createSession":
      return `createSession timeout=${body.timeoutMs}ms`;
    case "closeSession":
      return `closeSession ephemerals=${body.ephemerals.length}`;
  }
}

/** One line per txn, for traces and transcripts: `txn 0x100000003 s=0x1 cxid=7 create /a ...`. */
export function describeTxn(txn: Txn): string {
  return (
    `txn ${hex(txn.zxid)} s=${hex(txn.sessionId)} cxid=${txn.cxid} ` + describeTxnBody(txn.body)
  );
}

const descriptions = new WeakMap<Txn, string>();

/**
 * describeTxn, made once per txn object: txns never change once made, and the checks that compare
 * whole histories again and again (the cluster invariant, the simulator's state checker) would
 * otherwise describe the same txns each time.
 */
export function describeTxnOnce(txn: Txn): string {
  let line = descriptions.get(txn);
  if (line === undefined) descriptions.set(txn, (line = describeTxn(txn)));
  return line;
}
