// Turns the result of applying a client's txn into the reply ZooKeeper would send for the request's
// opcode (create vs create2 differ only in whether the Stat comes back, and so on).

import { assert, assertNever } from "./assert.ts";
import type { TxnResult } from "./database.ts";
import { Err } from "./errors.ts";
import type { MultiWriteOp, OpResult, Reply, WriteRequest } from "./requests.ts";
import type { Zxid } from "./types.ts";

export function writeReply(request: WriteRequest, result: TxnResult, zxid: Zxid): Reply {
  if (request.op === "multi") {
    const results = result.results ?? [];
    assert(results.length === request.ops.length, "one result per multi op");
    const failed = results.some((r) => r.err !== Err.OK);
    return {
      err: Err.OK,
      zxid,
      results: results.map((r, i) =>
        failed ? { op: "error", err: r.err } : opResult(request.ops[i]!, r),
      ),
    };
  }
  if (result.err !== Err.OK) return { err: result.err, zxid };
  switch (request.op) {
    case "create":
      return { err: Err.OK, zxid, path: result.path! };
    case "create2":
    case "createContainer":
    case "createTTL":
      return { err: Err.OK, zxid, path: result.path!, stat: result.stat! };
    case "setData":
    case "setACL":
      return { err: Err.OK, zxid, stat: result.stat! };
    case "delete":
    case "check":
      return { err: Err.OK, zxid };
    default:
      return assertNever(request, "a write reply"); // a multi's reply is built above
  }
}

function opResult(op: MultiWriteOp, result: TxnResult): OpResult {
  switch (op.op) {
    // ZooKeeper reads a create2 inside a multi as a plain create: its result carries no Stat.
    case "create":
    case "create2":
      return { op: "create", path: result.path! };
    case "createContainer":
    case "createTTL":
      return { op: "create", path: result.path!, stat: result.stat! };
    case "delete":
      return { op: "delete" };
    case "setData":
      return { op: "setData", stat: result.stat! };
    case "check":
      return { op: "check" };
  }
}
