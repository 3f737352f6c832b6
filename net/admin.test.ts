import { describe, expect, it } from "vitest";
import { utf8 } from "../core/bytes.ts";
import { Cluster } from "../core/replica/test/cluster.ts";
import { CreateMode, openAclUnsafe } from "../core/types.ts";
import type { SessionId } from "../core/types.ts";
import type { AdminView } from "./admin.ts";
import { fourLetterWord, fourLetterWordOf } from "./admin.ts";
import { parseZooCfg } from "./config.ts";

function view(whitelist = "*"): AdminView {
  const cluster = new Cluster([1, 2, 3]);
  cluster.run(1_000);
  const client = cluster.connect(3);
  cluster.stabilize();
  cluster.request(client, 1, {
    op: "create",
    path: "/e",
    data: utf8("x"),
    acl: openAclUnsafe,
    flags: CreateMode.EPHEMERAL,
    ttl: -1,
  });
  cluster.request(client, 2, { op: "getData", path: "/e", watch: true });
  cluster.stabilize();
  return {
    replica: cluster.view(3),
    config: parseZooCfg(
      `4lw.commands.whitelist=${whitelist}\nserver.1=a:1:2\nserver.2=b:1:2\nserver.3=c:1:2\nmyid=3`,
    ).config,
    stats: {
      startedAtMs: 0,
      nowMs: 5000,
      packetsReceived: 3,
      packetsSent: 3,
      latencyMinMs: 1,
      latencyMaxMs: 4,
      latencyTotalMs: 6,
      latencyCount: 3,
      fsyncs: 2,
      maxFileDescriptors: 1024,
      throttledCount: 0,
      snapshotSyncs: 0,
      snapshotSyncsInline: 0,
    },
    connections: [
      {
        remote: "127.0.0.1:5000",
        sessionId: client.sessionId,
        received: 3,
        sent: 3,
        queued: 0,
        lastOperation: "GETD",
      },
    ],
    standalone: false,
  };
}

describe("net: four-letter words", () => {
  it("answers as ZooKeeper does", () => {
    const v = view();
    expect(fourLetterWord("ruok", v)).toBe("imok");
    expect(fourLetterWord("isro", v)).toBe("rw");
    const srvr = fourLetterWord("srvr", v)!;
    expect(srvr).toMatch(
      new RegExp(
        "^Zookeeper version: .*\nLatency min/avg/max: 1/2\\.0000/4\nReceived: 3\nSent: 3\n" +
          "Connections: 1\nOutstanding: 0\nZxid: 0x[0-9a-f]+\nMode: leader\nNode count: 5\n$",
      ),
    );
    expect(fourLetterWord("stat", v)).toContain(
      "Clients:\n /127.0.0.1:5000[1](queued=0,recved=3,sent=3,sid=0x",
    );
    const mntr = Object.fromEntries(
      fourLetterWord("mntr", v)!
        .trim()
        .split("\n")
        .map((l) => l.split("\t")),
    );
    expect(mntr).toMatchObject({
      zk_server_state: "leader",
      zk_znode_count: "5",
      zk_ephemerals_count: "1",
      zk_watch_count: "1",
      zk_followers: "2",
      zk_synced_followers: "2",
    });
    expect(fourLetterWord("wchs", v)).toBe("1 connections watching 1 paths\nTotal watches:1\n");
    expect(fourLetterWord("dump", v)).toMatch(
      /Sessions with Ephemerals \(1\):\n0x[0-9a-f]+:\n\t\/e\n/,
    );
    expect(fourLetterWord("conf", v)).toContain("server.2=b:1:2:participant");
  });

  it("lists 300,000 connections and ephemerals (no spread of them onto the stack)", () => {
    const v = view();
    const connection = v.connections[0]!;
    const connections = Array.from({ length: 300_000 }, () => connection);
    const many: AdminView = { ...v, connections };
    const lines = (word: string, view: AdminView, prefix: string) =>
      fourLetterWord(word, view)!
        .split("\n")
        .filter((l) => l.startsWith(prefix)).length;
    expect(lines("stat", many, " /127.0.0.1")).toBe(300_000);
    const owned = v.replica.tree.ephemerals.get(connection.sessionId! as SessionId)!;
    for (let i = 0; i < 300_000; i++) owned.add(`/e${i}`);
    expect(lines("dump", v, "\t/e")).toBe(300_001);
  });

  it("answers nothing that is not whitelisted (only srvr by default) or unknown", () => {
    const v = view("srvr");
    expect(fourLetterWord("ruok", v)).toBeUndefined();
    expect(fourLetterWord("srvr", v)).toBeDefined();
    expect(fourLetterWord("xxxx", view())).toBeUndefined();
    expect(fourLetterWordOf(utf8("ruok"))).toBe("ruok");
    expect(fourLetterWordOf(new Uint8Array([0, 0, 0, 45]))).toBeUndefined();
  });
});
