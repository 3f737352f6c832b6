// The workloads and their pre-encoded requests. Every session has a znode of its own
// (/bench/n<session> for setData and getData, /bench/c<session> as the parent of its sequential
// nodes): no two sessions contend on one znode, so the figures measure the commit path rather
// than one hot node, and a sequential name depends only on its own session's order. Requests are
// framed once here; the generator only patches the xid (bytes 4..7 of the frame) in a copy.

import { utf8 } from "../../core/bytes.ts";
import { openAclUnsafe } from "../../core/types.ts";
import type { ClientOp } from "../../core/replica/index.ts";
import { frame } from "../../net/framing.ts";
import { encodeConnectRequest, encodeRequest } from "../../net/wire.ts";
import { sessionId, zxid } from "../../core/types.ts";

export const workloads = ["setData", "getData", "createDelete", "mixed"] as const;
export type Workload = (typeof workloads)[number];

export const workloadTitle: Record<Workload, string> = {
  setData: "setData",
  getData: "getData",
  createDelete: "create-sequential+delete",
  mixed: "90% getData / 10% setData",
};

export const valueBytes = 100;
export const value = utf8("v".repeat(valueBytes));
export const sessionTimeoutMs = 30_000;
const sequentialPrefix = "q-";

export const dataPath = (session: number) => `/bench/n${session}`;
export const parentPath = (session: number) => `/bench/c${session}`;

/** What a generator worker needs for one session: bytes only, so it imports nothing. */
export interface SessionPlan {
  port: number;
  connect: Uint8Array;
  /** setData, getData, the create of createDelete, the getData of mixed. */
  primary: Uint8Array;
  /** The setData of mixed, the delete of createDelete (with ten placeholder digits at its end). */
  secondary: Uint8Array | undefined;
  /** Where in `secondary` the delete's ten digits start (before the trailing version int). */
  digitsAt: number;
  closeSession: Uint8Array;
}

const framed = (op: ClientOp) => frame(encodeRequest(0, op));

export function sessionPlan(workload: Workload, session: number, port: number): SessionPlan {
  const setData = framed({ op: "setData", path: dataPath(session), data: value, version: -1 });
  const getData = framed({ op: "getData", path: dataPath(session), watch: false });
  const create = framed({
    op: "create",
    path: `${parentPath(session)}/${sequentialPrefix}`,
    data: value,
    acl: openAclUnsafe,
    flags: 2,
    ttl: -1,
  });
  const remove = framed({
    op: "delete",
    path: `${parentPath(session)}/${sequentialPrefix}0000000000`,
    version: -1,
  });
  const connect = frame(
    encodeConnectRequest({
      protocolVersion: 0,
      lastZxidSeen: zxid(0n),
      timeoutMs: sessionTimeoutMs,
      sessionId: sessionId(0n),
      password: new Uint8Array(16),
      readOnly: false,
    }),
  );
  const primary = { setData, getData, createDelete: create, mixed: getData }[workload];
  const secondary = {
    setData: undefined,
    getData: undefined,
    createDelete: remove,
    mixed: setData,
  }[workload];
  return {
    port,
    connect,
    primary,
    secondary,
    digitsAt: remove.length - 4 - 10,
    closeSession: framed({ op: "closeSession" }),
  };
}
