import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { utf8 } from "../core/bytes.ts";
import type { ClientOp } from "../core/replica/index.ts";
import type { Reply } from "../core/requests.ts";
import { Harness } from "../core/test/helpers.ts";
import { openAclUnsafe, zxid } from "../core/types.ts";
import type { Acl } from "../core/types.ts";
import { Err } from "../core/errors.ts";
import { JuteError, JuteWriter } from "./jute-io.ts";
import {
  decodeClientFrame,
  decodeConnectRequest,
  decodeReplyBody,
  decodeReplyHeader,
  encodeConnectRequest,
  encodeReply,
  encodeRequest,
  isKnownOpCode,
  MalformedRecord,
  OpCode,
  UnsupportedOp,
  unsupportedOpErr,
} from "./wire.ts";

const path = fc.constantFrom("/", "/a", "/a/b", "/zookeeper", "/ü/x");
// Null data (-1 on the wire) is its own value, never the empty buffer.
const data = fc.option(fc.uint8Array({ maxLength: 20 }), { nil: null });
const acl = fc.array(
  fc.record({
    perms: fc.integer({ min: 0, max: 31 }),
    id: fc.record({ scheme: fc.constantFrom("world", "digest", "ip"), id: fc.string() }),
  }),
  { maxLength: 3 },
);
const version = fc.integer({ min: -1, max: 5 });
const createOp = fc.record({
  op: fc.constantFrom("create" as const, "create2" as const, "createContainer" as const),
  path,
  data,
  acl,
  flags: fc.integer({ min: 0, max: 6 }),
  ttl: fc.constant(-1),
});
const writeOp = fc.oneof(
  createOp,
  fc.record({
    op: fc.constant("createTTL" as const),
    path,
    data,
    acl,
    flags: fc.integer({ min: 0, max: 6 }),
    ttl: fc.integer({ min: 1, max: 100000 }),
  }),
  fc.record({ op: fc.constant("delete" as const), path, version }),
  fc.record({ op: fc.constant("setData" as const), path, data, version }),
  fc.record({ op: fc.constant("check" as const), path, version }),
);
const readOp = fc.oneof(
  fc.record({
    op: fc.constantFrom(
      "exists" as const,
      "getData" as const,
      "getChildren" as const,
      "getChildren2" as const,
    ),
    path,
    watch: fc.boolean(),
  }),
  fc.record({
    op: fc.constantFrom("getACL" as const, "sync" as const, "getAllChildrenNumber" as const),
    path,
  }),
);
const clientOp: fc.Arbitrary<ClientOp> = fc.oneof(
  writeOp,
  readOp,
  fc.record({ op: fc.constant("setACL" as const), path, acl, version }),
  fc.record({ op: fc.constant("multi" as const), ops: fc.array(writeOp, { maxLength: 4 }) }),
  fc.record({
    op: fc.constant("multiRead" as const),
    ops: fc.array(
      fc.record({
        op: fc.constantFrom("getData" as const, "getChildren" as const),
        path,
        watch: fc.constant(false),
      }),
      { maxLength: 3 },
    ),
  }),
  fc.record({ op: fc.constant("getEphemerals" as const), prefixPath: path }),
  fc.record({ op: fc.constant("addWatch" as const), path, mode: fc.integer({ min: 0, max: 1 }) }),
  fc.record({
    op: fc.constantFrom("removeWatches" as const, "checkWatches" as const),
    path,
    watcherType: fc.integer({ min: 1, max: 5 }),
  }),
  fc.record({
    op: fc.constant("auth" as const),
    scheme: fc.constant("digest"),
    credentials: fc.string(),
  }),
  fc.record({
    op: fc.constant("setWatches" as const),
    relativeZxid: fc.bigInt({ min: 0n, max: 1n << 40n }).map(zxid),
    data: fc.array(path),
    exist: fc.array(path),
    child: fc.array(path),
    persistent: fc.array(path),
    persistentRecursive: fc.array(path),
  }),
  fc.constantFrom<ClientOp>({ op: "whoAmI" }, { op: "ping" }, { op: "closeSession" }),
);

describe("net: wire protocol", () => {
  it("request frames round-trip for every op", () => {
    fc.assert(
      fc.property(fc.integer({ min: -8, max: 1 << 30 }), clientOp, (xid, op) => {
        const frame = decodeClientFrame(encodeRequest(xid, op));
        expect(frame.xid).toBe(xid);
        expect(frame.op).toEqual(op);
      }),
      { numRuns: 2000 },
    );
  });

  it("reads a request's open ACL as the shared list, and every other ACL entry by entry", () => {
    const create = (acl: readonly Acl[]): ClientOp => ({
      op: "create",
      path: "/a",
      data: null,
      acl,
      flags: 0,
      ttl: -1,
    });
    const open = decodeClientFrame(encodeRequest(1, create(openAclUnsafe))).op;
    expect(open.op === "create" && open.acl).toBe(openAclUnsafe);
    const world = { scheme: "world", id: "anyone" };
    const nearMisses = [
      [{ perms: 1, id: world }],
      [{ perms: 31, id: { scheme: "world", id: "anyonf" } }],
      [
        { perms: 31, id: world },
        { perms: 1, id: { scheme: "ip", id: "10.0.0.1" } },
      ],
      [],
    ];
    for (const acl of nearMisses) {
      const op = decodeClientFrame(encodeRequest(1, create(acl))).op;
      expect(op.op === "create" && op.acl).toEqual(acl);
      const setAcl: ClientOp = { op: "setACL", path: "/a", acl, version: 3 };
      expect(decodeClientFrame(encodeRequest(2, setAcl)).op).toEqual(setAcl);
    }
  });

  it("replies produced by the core round-trip through encode and decode", () => {
    const h = new Harness({ extendedTypesEnabled: true });
    h.create("/a", { data: "x" });
    const ops: ClientOp[] = [
      { op: "create2", path: "/b", data: utf8("y"), acl: openAclUnsafe, flags: 0, ttl: -1 },
      { op: "create", path: "/c", data: utf8(""), acl: openAclUnsafe, flags: 2, ttl: -1 },
      { op: "getData", path: "/a", watch: false },
      { op: "exists", path: "/a", watch: true },
      { op: "getChildren2", path: "/", watch: false },
      { op: "getACL", path: "/a" },
      { op: "setData", path: "/a", data: utf8("z"), version: -1 },
      { op: "getAllChildrenNumber", path: "/" },
      {
        op: "multi",
        ops: [
          { op: "create2", path: "/m", data: utf8(""), acl: openAclUnsafe, flags: 0, ttl: -1 },
          { op: "check", path: "/a", version: 1 },
          { op: "delete", path: "/m", version: -1 },
        ],
      },
      {
        op: "multi",
        ops: [
          { op: "check", path: "/a", version: 9 },
          { op: "delete", path: "/a", version: -1 },
        ],
      },
      {
        op: "multiRead",
        ops: [
          { op: "getData", path: "/a", watch: false },
          { op: "getChildren", path: "/nope", watch: false },
        ],
      },
      { op: "whoAmI" },
      { op: "getEphemerals", prefixPath: "/" },
      { op: "delete", path: "/nope", version: -1 },
      { op: "sync", path: "/a" },
      { op: "create2", path: "/null", data: null, acl: openAclUnsafe, flags: 0, ttl: -1 },
      { op: "getData", path: "/null", watch: false },
      { op: "setData", path: "/a", data: null, version: -1 },
      { op: "getData", path: "/a", watch: false },
      {
        op: "multiRead",
        ops: [
          { op: "getData", path: "/null", watch: false },
          { op: "getData", path: "/c0000000002", watch: false },
        ],
      },
    ];
    for (const [i, op] of ops.entries()) {
      const reply = h.send(op as never) as Reply;
      const header = decodeReplyHeader(encodeReply(i, op, reply));
      expect(header.xid).toBe(i);
      expect(decodeReplyBody(op, header)).toEqual(reply);
    }
  });

  it("null data goes out as length -1 and empty data as length 0", () => {
    const h = new Harness({ extendedTypesEnabled: false });
    h.send({ op: "create", path: "/null", data: null, acl: openAclUnsafe, flags: 0, ttl: -1 });
    h.create("/empty", { data: "" });
    const dataLengthField = (path: string): number => {
      const op: ClientOp = { op: "getData", path, watch: false };
      const frame = encodeReply(1, op, h.send(op as never) as Reply);
      return new DataView(frame.buffer, frame.byteOffset).getInt32(16); // after xid, zxid, err
    };
    expect(dataLengthField("/null")).toBe(-1);
    expect(dataLengthField("/empty")).toBe(0);
  });

  it("opcodes this server does not implement get ZooKeeper 3.8's codes", () => {
    const path = new JuteWriter().ustring("/a").finish();
    expect(unsupportedOpErr(OpCode.reconfig, new Uint8Array(0), false)).toBe(Err.RECONFIGDISABLED);
    expect(unsupportedOpErr(OpCode.reconfig, new Uint8Array(0), true)).toBe(Err.UNIMPLEMENTED);
    expect(unsupportedOpErr(OpCode.sasl, new Uint8Array(0), false)).toBe(Err.OK);
    const createSession = unsupportedOpErr(OpCode.createSession, new Uint8Array(0), false);
    expect(createSession).toBe(Err.MARSHALLINGERROR);
    expect(unsupportedOpErr(OpCode.deleteContainer, path, false)).toBe(Err.BADARGUMENTS);
    expect(unsupportedOpErr(99, new Uint8Array(0), false)).toBe(Err.UNIMPLEMENTED);
    expect([OpCode.reconfig, OpCode.sasl, OpCode.deleteContainer].every(isKnownOpCode)).toBe(true);
    expect([99, 0, -1, 23].some(isKnownOpCode)).toBe(false);
    const sasl: ClientOp = { op: "unsupported", opcode: OpCode.sasl, err: Err.OK };
    const frame = encodeReply(3, sasl, { err: Err.OK, zxid: zxid(1n) });
    expect(new DataView(frame.buffer, frame.byteOffset).getInt32(16)).toBe(-1); // a null SASL token
  });

  it("ignores bytes after a whole record; one cut short is a MalformedRecord naming it", () => {
    const getData: ClientOp = { op: "getData", path: "/a", watch: true };
    const bytes = encodeRequest(7, getData);
    const longer = new Uint8Array(bytes.length + 3);
    longer.set(bytes);
    expect(decodeClientFrame(longer).op).toEqual(getData);
    const short = bytes.slice(0, bytes.length - 1);
    expect(() => decodeClientFrame(short)).toThrow(MalformedRecord);
    try {
      decodeClientFrame(short);
    } catch (error) {
      expect(error).toMatchObject({ xid: 7, type: OpCode.getData });
    }
    expect(() => decodeClientFrame(bytes.slice(0, 6))).toThrow(JuteError);
    expect(() => decodeClientFrame(bytes.slice(0, 6))).not.toThrow(MalformedRecord);
  });

  it("accepts a ConnectRequest with or without the trailing readOnly byte", () => {
    const request = {
      protocolVersion: 0,
      lastZxidSeen: zxid(5n),
      timeoutMs: 30000,
      sessionId: 0n as never,
      password: new Uint8Array(16),
      readOnly: false,
    };
    const bytes = encodeConnectRequest(request);
    expect(decodeConnectRequest(bytes)).toEqual(request);
    expect(decodeConnectRequest(bytes.slice(0, bytes.length - 1))).toEqual(request);
  });

  it("arbitrary bytes never throw anything but JuteError or UnsupportedOp", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), (bytes) => {
        try {
          decodeClientFrame(bytes);
        } catch (error) {
          expect(error instanceof JuteError || error instanceof UnsupportedOp).toBe(true);
        }
      }),
      { numRuns: 5000 },
    );
  });
});
