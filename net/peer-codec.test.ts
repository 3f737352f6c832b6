import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { utf8 } from "../core/bytes.ts";
import { DecodeError } from "../core/codec.ts";
import type { PeerMessage } from "../core/replica/index.ts";
import { Cluster } from "../core/replica/test/cluster.ts";
import { CreateMode, openAclUnsafe } from "../core/types.ts";
import { frame } from "./framing.ts";
import { decodePeerMessage, encodePeerFrame, encodePeerMessage } from "./peer-codec.ts";

/**
 * Every message a small cluster exchanges through elections, writes, a crash and a SNAP catch-up.
 */
function capturedMessages(): PeerMessage[] {
  const seen: PeerMessage[] = [];
  const cluster = new Cluster([1, 2, 3], { snapshotEveryTxns: 3, commitLogKeep: 1 });
  const deliver = cluster.deliverOne.bind(cluster);
  cluster.deliverOne = (from, to) => {
    const message = cluster.inFlight.get(`${from}->${to}`)?.[0];
    if (message !== undefined) seen.push(message);
    return deliver(from, to);
  };
  cluster.run(1_000);
  const client = cluster.connect(1);
  cluster.stabilize();
  cluster.crash(2);
  const ops = [
    {
      op: "create" as const,
      path: "/a",
      data: utf8("x"),
      acl: openAclUnsafe,
      flags: CreateMode.EPHEMERAL,
      ttl: -1,
    },
    {
      op: "multi" as const,
      ops: [
        {
          op: "create2" as const,
          path: "/b",
          data: utf8(""),
          acl: openAclUnsafe,
          flags: 2,
          ttl: -1,
        },
        { op: "check" as const, path: "/a", version: 0 },
      ],
    },
    { op: "setData" as const, path: "/a", data: utf8("yy"), version: -1 },
    // Null data stays null through FORWARD, PROPOSAL and the SNAP's snapshot.
    { op: "create2" as const, path: "/null", data: null, acl: openAclUnsafe, flags: 0, ttl: -1 },
    { op: "setData" as const, path: "/a", data: null, version: -1 },
    { op: "setACL" as const, path: "/a", acl: openAclUnsafe, version: 0 },
    { op: "sync" as const, path: "/" },
    { op: "delete" as const, path: "/b0000000001", version: -1 },
  ];
  ops.forEach((op, i) => cluster.request(client, i + 1, op));
  cluster.stabilize();
  cluster.start(2);
  cluster.run(2_000);
  cluster.request(client, 99, { op: "closeSession" });
  cluster.run(500);
  return seen;
}

describe("net: peer message codec", () => {
  it("round-trips every message a cluster really exchanges", () => {
    const messages = capturedMessages();
    const types = new Set(messages.map((m) => m.type));
    for (const type of [
      "NOTIFICATION",
      "FOLLOWERINFO",
      "LEADERINFO",
      "ACKEPOCH",
      "SYNC",
      "NEWLEADER",
      "UPTODATE",
      "PROPOSAL",
      "ACK",
      "COMMIT",
      "PING",
      "PONG",
      "FORWARD",
      "FORWARD_REPLY",
    ]) {
      expect(types, type).toContain(type);
    }
    expect(messages.some((m) => m.type === "SYNC" && m.snapshot !== undefined)).toBe(true);
    for (const message of messages) {
      expect(decodePeerMessage(encodePeerMessage(message))).toEqual(message);
      // The wire frame (a PROPOSAL's laid out by hand) is the general encoding, framed.
      expect(encodePeerFrame(message)).toEqual(frame(encodePeerMessage(message)));
    }
    const text = (m: PeerMessage) =>
      JSON.stringify(m, (_k, v) => (typeof v === "bigint" ? String(v) : v));
    const carriesNull = (m: PeerMessage) => text(m).includes('"data":null');
    expect(messages.some((m) => m.type === "FORWARD" && carriesNull(m))).toBe(true);
    expect(messages.some((m) => m.type === "PROPOSAL" && carriesNull(m))).toBe(true);
  });

  it("arbitrary bytes decode to a message or a DecodeError, nothing else", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          decodePeerMessage(bytes);
        } catch (error) {
          expect(error).toBeInstanceOf(DecodeError);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it("a truncated real message is a DecodeError", () => {
    for (const message of capturedMessages().slice(0, 300)) {
      const bytes = encodePeerMessage(message);
      for (const cut of [1, bytes.length - 1]) {
        if (cut <= 0 || cut >= bytes.length) continue;
        expect(() => decodePeerMessage(bytes.slice(0, cut))).toThrow(DecodeError);
      }
    }
  });
});
