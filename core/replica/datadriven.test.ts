// Interaction tests from data files (etcd-io/raft's testdata style). Each file in testdata/ is a
// script of commands, each followed by `----` and the expected output. REWRITE=1 regenerates the
// expected blocks; review the diff. Commands:
//   add-nodes N [manual-persist] [snapshot-every=N] [commit-log-keep=N]   start N nodes (ids 1..N)
//   run MS                            tick and stabilize for MS virtual ms; prints syncs and roles
//   stabilize                         deliver everything (and persist unless manual); prints the
//                                     transcript
//   deliver FROM TO [N]               deliver N (default all) queued messages on one link; prints
//                                     the transcript
//   persist NODE [N]                  make N (default all) pending persists durable; prints the
//                                     transcript
//   auto-persist on|off               whether stabilize/run make persists durable by themselves
//   drop FROM TO                      lose every queued message on one link (the link stays up)
//   crash NODE | start NODE           crash (unsynced writes lost) / restart from disk
//   partition A,B/C                   cut every link between the two groups; `heal` restores them
//   cut A B                           cut the one link between A and B; `heal` restores it
//   clog FROM TO | unclog FROM TO     hold one direction's messages (in order) / release them
//   connect NODE [session=cN]         a client connects (or moves session of client cN); prints
//                                     the outcome
//   request cN XID OP ARGS...         OP: create PATH [data=D] [mode=ephemeral|sequential|...],
//                                     get PATH [watch], set PATH DATA [version=V], delete PATH,
//                                     exists PATH [watch], children PATH [watch], sync PATH, close
//   replies cN | events cN            what client cN received
//   status                            per node: role, epochs, last logged/applied zxid, digest
//   tree NODE                         the node's znodes

import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fromUtf8, utf8 } from "../bytes.ts";
import type { ZnodeData } from "../bytes.ts";
import { errName } from "../errors.ts";
import { CreateMode, hex, openAclUnsafe } from "../types.ts";
import type { ClientOp } from "./io.ts";
import { eventTypeName } from "../watches.ts";
import { Cluster } from "./test/cluster.ts";
import type { ReplicaView } from "./status.ts";
import type { ClientView } from "./test/cluster.ts";

const dir = new URL("./testdata/", import.meta.url).pathname;

class Script {
  cluster: Cluster | undefined;
  clients = new Map<string, ClientView>();
  mark = 0;

  get c(): Cluster {
    if (this.cluster === undefined) throw new Error("add-nodes first");
    return this.cluster;
  }

  transcriptSinceMark(): string {
    const lines = this.c.transcript.slice(this.mark).filter((l) => !/ tick now=/.test(l));
    this.mark = this.c.transcript.length;
    return lines.join("\n");
  }

  run(command: string): string {
    const [verb, ...args] = command.trim().split(/\s+/);
    const out = this.exec(verb!, args);
    if (this.cluster !== undefined) this.mark = this.c.transcript.length;
    return out;
  }

  private exec(verb: string, args: string[]): string {
    const num = (i: number) => Number(args[i]);
    switch (verb) {
      case "add-nodes":
        this.cluster = new Cluster(
          Array.from({ length: num(0) }, (_, i) => i + 1),
          {
            snapshotEveryTxns: Number(optionOf(args, "snapshot-every") ?? 10_000),
            commitLogKeep: Number(optionOf(args, "commit-log-keep") ?? 500),
          },
        );
        this.c.autoPersist = !args.includes("manual-persist");
        this.mark = this.c.transcript.length;
        return "ok";
      case "run": {
        this.c.run(num(0));
        // Show how each follower was synchronized (DIFF, TRUNC, SNAP) and what was truncated.
        const sync = this.transcriptSinceMark()
          .split("\n")
          .filter((l) => l.startsWith("  ") && / SYNC |truncate|NEWLEADER/.test(l));
        return [...sync.map((l) => l.trim()), this.roles()].join("\n");
      }
      case "tick":
        this.c.tick(num(0));
        return this.transcriptSinceMark();
      case "stabilize":
        this.c.stabilize();
        return this.transcriptSinceMark();
      case "deliver": {
        const count = args[2] === undefined ? Infinity : num(2);
        for (let i = 0; i < count && this.c.deliverOne(num(0), num(1)); i++);
        return this.transcriptSinceMark();
      }
      case "persist": {
        const count = args[1] === undefined ? Infinity : num(1);
        for (let i = 0; i < count && this.c.persistOne(num(0)); i++);
        return this.transcriptSinceMark();
      }
      case "auto-persist":
        this.c.autoPersist = args[0] === "on";
        return "ok";
      case "drop":
        this.c.inFlight.delete(`${args[0]}->${args[1]}`);
        return "ok";
      case "crash":
        this.c.crash(num(0));
        return this.transcriptSinceMark();
      case "start":
        this.c.start(num(0));
        return this.transcriptSinceMark();
      case "partition": {
        const [left] = args[0]!.split("/");
        this.c.partition(left!.split(",").map(Number));
        return this.transcriptSinceMark();
      }
      case "clog":
        this.c.clogged.add(`${num(0)}->${num(1)}`);
        return "ok";
      case "unclog":
        this.c.clogged.delete(`${num(0)}->${num(1)}`);
        return "ok";
      case "cut":
        this.c.cutLink(num(0), num(1));
        return this.transcriptSinceMark();
      case "heal":
        this.c.heal();
        return this.transcriptSinceMark();
      case "connect":
        return this.connect(num(0), args[1]);
      case "request":
        return this.request(args);
      case "replies":
        return this.replies(args[0]!);
      case "events":
        return (
          this.clients
            .get(args[0]!)!
            .events.map((e) => `${eventTypeName(e.type)} ${e.path} zxid=${hex(e.zxid)}`)
            .join("\n") || "(none)"
        );
      case "status":
        return this.status();
      case "tree":
        return this.tree(num(0));
      default:
        throw new Error(`unknown command ${verb}`);
    }
  }

  private roles(): string {
    return [...this.c.nodes.values()]
      .map((n) => {
        const v = n.driver.inspect();
        return v === undefined
          ? `${n.id}: down`
          : `${n.id}: ${v.status.role}${phase(v)} epoch=${v.currentEpoch}`;
      })
      .join("\n");
  }

  private status(): string {
    return [...this.c.nodes.values()]
      .map((n) => {
        const v = n.driver.inspect();
        if (v === undefined) return `${n.id}: down, disk log ${n.disk.log.length} txns`;
        const zxids = `logged=${hex(v.loggedZxid)} applied=${hex(v.appliedZxid)}`;
        const epochs = `accepted=${v.acceptedEpoch} current=${v.currentEpoch}`;
        return (
          `${n.id}: ${v.status.role}${phase(v)} ${epochs} ${zxids} ` +
          `digest=${hex(v.tree.digest())}`
        );
      })
      .join("\n");
  }

  private tree(id: number): string {
    return [...this.c.view(id).tree.nodes]
      .filter(([path]) => !path.startsWith("/zookeeper"))
      .map(([path, node]) => {
        const owner = node.ephemeralOwner !== 0n ? ` owner=${hex(node.ephemeralOwner)}` : "";
        return `${path} v=${node.version} cv=${node.cversion} data=${dataText(node.data)}${owner}`;
      })
      .join("\n");
  }

  private connect(node: number, session?: string): string {
    const previous =
      session === undefined ? undefined : this.clients.get(session.replace("session=", ""));
    const client = this.c.connect(
      node,
      previous === undefined
        ? {}
        : {
            sessionId: previous.sessionId!,
            password: previous.password,
            lastZxidSeen: previous.lastZxid,
          },
    );
    const name = `c${client.connId}`;
    this.clients.set(name, client);
    this.c.stabilize();
    this.transcriptSinceMark();
    if (client.closed !== undefined) return `${name}: closed (${client.closed})`;
    if (client.sessionId === undefined) return `${name}: waiting for a session`;
    return `${name}: connected to ${node} s=${hex(client.sessionId!)}`;
  }

  private request(args: string[]): string {
    const client = this.clients.get(args[0]!)!;
    this.c.request(client, Number(args[1]), parseOp(args.slice(2)));
    return this.transcriptSinceMark() || "(queued)";
  }

  private replies(name: string): string {
    const client = this.clients.get(name)!;
    const lines = [...client.replies].map(([xid, r]) => {
      const children = r.children !== undefined ? `[${r.children.join(",")}]` : "";
      const detail = r.path ?? (r.data !== undefined ? dataText(r.data) : children);
      const outcome = r.err === 0 ? "ok" : errName(r.err);
      return `xid=${xid} ${outcome} zxid=${hex(r.zxid)} ${detail}`.trimEnd();
    });
    if (client.closed !== undefined) lines.push(`closed: ${client.closed}`);
    return lines.join("\n") || "(none)";
  }
}

const dataText = (data: ZnodeData): string =>
  data === null ? "null" : JSON.stringify(fromUtf8(data));

const optionOf = (args: string[], key: string) =>
  args.find((a) => a.startsWith(`${key}=`))?.slice(key.length + 1);

function phase(view: ReplicaView): string {
  const p = view.status.phase;
  return p === "election" || p === "broadcast" ? "" : `(${p})`;
}

const modes: Record<string, number> = {
  persistent: CreateMode.PERSISTENT,
  ephemeral: CreateMode.EPHEMERAL,
  sequential: CreateMode.PERSISTENT_SEQUENTIAL,
  "ephemeral-sequential": CreateMode.EPHEMERAL_SEQUENTIAL,
};

function parseOp(words: string[]): ClientOp {
  const [op, path, ...rest] = words;
  const opt = (key: string) => rest.find((w) => w.startsWith(`${key}=`))?.slice(key.length + 1);
  const watch = rest.includes("watch");
  switch (op) {
    case "create":
      return {
        op: "create",
        path: path!,
        data: utf8(opt("data") ?? ""),
        acl: openAclUnsafe,
        flags: modes[opt("mode") ?? "persistent"]!,
        ttl: -1,
      };
    case "get":
      return { op: "getData", path: path!, watch };
    case "exists":
      return { op: "exists", path: path!, watch };
    case "children":
      return { op: "getChildren", path: path!, watch };
    case "set":
      return {
        op: "setData",
        path: path!,
        data: utf8(rest[0] ?? ""),
        version: Number(opt("version") ?? -1),
      };
    case "delete":
      return { op: "delete", path: path!, version: Number(opt("version") ?? -1) };
    case "sync":
      return { op: "sync", path: path! };
    case "close":
      return { op: "closeSession" };
    default:
      throw new Error(`unknown op ${op}`);
  }
}

/** Runs one file; returns it with every expected block replaced by the actual output. */
function runFile(text: string): string {
  const script = new Script();
  const lines = text.split("\n");
  const out: string[] = [];
  let i = 0;
  while (i < lines.length) {
    if (lines[i + 1] !== "----") {
      out.push(lines[i]!);
      i++;
      continue;
    }
    const command = lines[i]!;
    out.push(command, "----", script.run(command).replace(/\n\n+/g, "\n") || "ok");
    i += 2;
    while (i < lines.length && lines[i] !== "") i++; // skip the old expected block
  }
  return out.join("\n");
}

describe("replica interaction tests (testdata/*.txt)", () => {
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith(".txt"))
    .sort()) {
    it(file, () => {
      const path = join(dir, file);
      const text = readFileSync(path, "utf8");
      const actual = runFile(text);
      if (process.env.REWRITE === "1") writeFileSync(path, actual);
      else expect(actual).toBe(text);
    });
  }
});
