// Forwarded client writes between servers, in the project's own binary format (a follower hands
// the leader the core's WriteRequest as the client sent it).

import { pooledBytes } from "./framing.ts";
import { ByteReader, ByteWriter, DecodeError } from "../core/codec.ts";
import type { CreateOp, MultiWriteOp, WriteRequest } from "../core/requests.ts";
import { readAcl, writeAcl } from "../core/storage.ts";

const ops = [
  "create",
  "create2",
  "createContainer",
  "createTTL",
  "delete",
  "setData",
  "check",
  "setACL",
  "multi",
] as const;

function write(w: ByteWriter, req: WriteRequest): void {
  w.u8(ops.indexOf(req.op));
  switch (req.op) {
    case "create":
    case "create2":
    case "createContainer":
    case "createTTL":
      w.string(req.path).nullableBytes(req.data);
      writeAcl(w, req.acl);
      w.i32(req.flags).i64(BigInt(req.ttl));
      return;
    case "delete":
    case "check":
      w.string(req.path).i32(req.version);
      return;
    case "setData":
      w.string(req.path).nullableBytes(req.data).i32(req.version);
      return;
    case "setACL":
      w.string(req.path);
      writeAcl(w, req.acl);
      w.i32(req.version);
      return;
    case "multi":
      w.u32(req.ops.length);
      for (const op of req.ops) write(w, op);
      return;
  }
}

function read(r: ByteReader, nested: boolean): WriteRequest {
  const op = ops[r.u8()];
  switch (op) {
    case "create":
    case "create2":
    case "createContainer":
    case "createTTL":
      return {
        op: op as CreateOp,
        path: r.string(),
        data: r.nullableBytes(),
        acl: readAcl(r),
        flags: r.i32(),
        ttl: Number(r.i64()),
      };
    case "delete":
    case "check":
      return { op, path: r.string(), version: r.i32() };
    case "setData":
      return { op, path: r.string(), data: r.nullableBytes(), version: r.i32() };
    case "setACL":
      return { op, path: r.string(), acl: readAcl(r), version: r.i32() };
    case "multi": {
      if (nested) throw new DecodeError("multi does not nest");
      const count = r.u32();
      if (count > r.remaining) throw new DecodeError("multi count exceeds frame");
      const inner = Array.from({ length: count }, () => read(r, true));
      if (inner.some((o) => o.op === "setACL" || o.op === "multi"))
        throw new DecodeError("op not allowed in multi");
      return { op, ops: inner as MultiWriteOp[] };
    }
    default:
      throw new DecodeError("unknown write op");
  }
}

export const encodeWriteRequest = (req: WriteRequest): Uint8Array => {
  const w = new ByteWriter(64, pooledBytes);
  write(w, req);
  return w.finish();
};

export function decodeWriteRequest(bytes: Uint8Array): WriteRequest {
  const r = new ByteReader(bytes);
  const req = read(r, false);
  if (r.remaining !== 0) throw new DecodeError("trailing bytes in write request");
  return req;
}
