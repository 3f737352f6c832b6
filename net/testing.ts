// In-process test servers for Node test suites: a standalone server or an ensemble of this
// project's ZkServer on free loopback ports, each with a fresh data directory under the system's
// temp dir (removed by stop()), with the faults a test of a ZooKeeper application needs: kill and
// restart a member, expire a session on demand.

import { appendFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sessionId as toSessionId, zxid } from "../core/types.ts";
import { parseZooCfg } from "./config.ts";
import { frame, Framer } from "./framing.ts";
import type { Logger } from "./log.ts";
import { jsonLogger } from "./log.ts";
import { ZkServer } from "./server.ts";
import {
  decodeConnectResponse,
  decodeReplyHeader,
  encodeConnectRequest,
  encodeRequest,
} from "./wire.ts";

export interface TestServerOptions {
  /** ZooKeeper's tickTime; the smallest session timeout is two ticks (default 200 ms). */
  tickTimeMs?: number;
  /** Lines appended to every member's zoo.cfg (e.g. "maxSessionTimeout=60000"). */
  extraConfig?: string;
  /** Where the data directories go (default: a fresh directory in the system's temp dir). */
  dataDir?: string;
  /** Server logs (default: none). */
  log?: Logger;
}

export interface TestMember {
  /** The member's myid, 1..n. */
  id: number;
  port: number;
  /** "127.0.0.1:port" of this member alone. */
  connectString: string;
  running: boolean;
}

export interface TestCluster {
  /** Every member, for a client that should fail over between them. */
  connectString: string;
  members: TestMember[];
  /** The id of the member currently leading (undefined while an election runs). */
  leader(): number | undefined;
  /** Stops a member at once: its clients lose their connection and move to another member. */
  kill(id: number): Promise<void>;
  /** Starts a killed member again on the same ports and data; resolves once it serves. */
  restart(id: number): Promise<void>;
  /**
   * Ends a session as an expiry would (its ephemerals go, its watches fire): ZooKeeper's testing
   * trick of taking the session over on a second connection and closing it there. The client that
   * owned it learns of it at its next reconnect, as after a real expiry.
   */
  expireSession(session: { sessionId: bigint; sessionPassword: Uint8Array }): Promise<void>;
  /** Resolves once a leader serves and every running member follows it. */
  waitUntilServing(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export function startTestServer(options: TestServerOptions = {}): Promise<TestCluster> {
  return startTestEnsemble(1, options);
}

export async function startTestEnsemble(
  size: number,
  options: TestServerOptions = {},
): Promise<TestCluster> {
  const ownRoot = options.dataDir === undefined;
  const root = options.dataDir ?? mkdtempSync(join(tmpdir(), "zk-test-"));
  const ports = await Promise.all(Array.from({ length: size * 3 }, () => freePort()));
  const peerLines = Array.from(
    { length: size },
    (_, i) => `server.${i + 1}=127.0.0.1:${ports[3 * i]}:${ports[3 * i + 1]}`,
  );
  const members: TestMember[] = Array.from({ length: size }, (_, i) => {
    const port = ports[3 * i + 2]!;
    return { id: i + 1, port, connectString: `127.0.0.1:${port}`, running: false };
  });
  const configs = members.map(
    (m) =>
      parseZooCfg(
        [
          `tickTime=${options.tickTimeMs ?? 200}`,
          "initLimit=10",
          // 2 s at the default 200 ms tick: a loaded test machine can keep a follower busy with
          // its clients for over a second before it reads its leader's pings (seen at 5).
          "syncLimit=10",
          `dataDir=${join(root, String(m.id))}`,
          `clientPort=${m.port}`,
          "clientPortAddress=127.0.0.1",
          "4lw.commands.whitelist=*",
          `myid=${m.id}`,
          ...(size > 1 ? peerLines : []),
          options.extraConfig ?? "",
        ].join("\n"),
      ).config,
  );
  const servers = new Map<number, ZkServer>();
  const logOf = memberLogs(options.log, root);

  const startMember = async (id: number) => {
    const server = new ZkServer(configs[id - 1]!, logOf(id));
    await server.start();
    servers.set(id, server);
    members[id - 1]!.running = true;
  };
  const member = (id: number) => {
    const m = members[id - 1];
    if (m === undefined) throw new Error(`no member ${id} (members are 1..${size})`);
    return m;
  };
  const leader = () => {
    for (const [id, server] of servers) {
      const status = server.inspect().status;
      if (status.role === "leading" && status.phase === "broadcast") return id;
    }
    return undefined;
  };
  const waitUntilServing = (timeoutMs = 20_000) =>
    waitFor(
      () =>
        leader() !== undefined &&
        [...servers.values()].every((s) => {
          const status = s.inspect().status;
          return status.phase === "broadcast";
        }),
      timeoutMs,
      describeMembers,
    );
  // A test that times out waiting for the ensemble says where each member is stuck.
  const describeMembers = () =>
    [...servers]
      .map(([id, server]) => {
        const view = server.inspect();
        const { role, phase, epoch, leader: of } = view.status;
        const learners = view.learners.map((l) => `${l.id}:${l.phase}`).join(",");
        return (
          `member ${id}: ${role} ${phase} epoch ${epoch} leader ${of ?? "-"}` +
          ` accepted ${view.acceptedEpoch} current ${view.currentEpoch}` +
          ` logged 0x${view.loggedZxid.toString(16)}` +
          (learners === "" ? "" : ` learners ${learners}`)
        );
      })
      .join("; ");

  const cluster: TestCluster = {
    connectString: members.map((m) => m.connectString).join(","),
    members,
    leader,
    async kill(id) {
      const server = servers.get(member(id).id);
      if (server === undefined) return;
      servers.delete(id);
      members[id - 1]!.running = false;
      await server.stop();
    },
    async restart(id) {
      if (servers.has(member(id).id)) return;
      await startMember(id);
      await waitFor(
        () => servers.get(id)?.inspect().status.phase === "broadcast",
        20_000,
        describeMembers,
      );
    },
    async expireSession(session) {
      const target = members.find((m) => m.running);
      if (target === undefined) throw new Error("no member is running");
      await expireSessionOn(target.port, session);
    },
    waitUntilServing,
    async stop() {
      for (const id of [...servers.keys()]) await cluster.kill(id);
      if (ownRoot) rmSync(root, { recursive: true, force: true });
    },
  };
  try {
    for (const m of members) await startMember(m.id);
    await waitUntilServing();
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}

/**
 * Ends a session on any ZooKeeper server listening on 127.0.0.1:`port` (Apache's too): takes it
 * over on a new connection and closes it there. The owner, cut off by the takeover, reconnects at
 * once and may take the session back before the close is read: then it is tried again.
 */
export async function expireSessionOn(
  port: number,
  session: { sessionId: bigint; sessionPassword: Uint8Array },
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const outcome = await takeOverAndClose(port, session.sessionId, session.sessionPassword);
    if (outcome === "closed" || outcome === "expired") return;
    if (attempt >= 50)
      throw new Error(`could not expire session 0x${session.sessionId.toString(16)}: ${outcome}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function takeOverAndClose(
  port: number,
  id: bigint,
  password: Uint8Array,
): Promise<"closed" | "expired" | string> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    const framer = new Framer(1 << 20);
    const done = (outcome: string) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => done("no answer within 5 s"), 5_000);
    let handshaken = false;
    socket.once("connect", () => {
      socket.write(
        frame(
          encodeConnectRequest({
            protocolVersion: 0,
            lastZxidSeen: zxid(0n),
            timeoutMs: 30_000,
            sessionId: toSessionId(id),
            password,
            readOnly: false,
          }),
        ),
      );
    });
    socket.on("data", (chunk: Buffer) => {
      for (const payload of framer.push(
        new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length),
      )) {
        if (!handshaken) {
          handshaken = true;
          if (decodeConnectResponse(payload).timeoutMs <= 0) return done("expired");
          socket.write(frame(encodeRequest(1, { op: "closeSession" })));
        } else if (decodeReplyHeader(payload).xid === 1) {
          return done("closed");
        }
      }
    });
    socket.on("error", (error) => done(error.message));
    socket.on("close", () => done("the server hung up"));
  });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Each member's logger: the caller's, or with ZKSIM_TEST_LOG_DIR set, JSON lines at debug level in
 * that directory (one file per ensemble member), for a test that fails only now and then.
 */
function memberLogs(given: Logger | undefined, root: string): (id: number) => Logger {
  if (given !== undefined) return () => given;
  const dir = process.env.ZKSIM_TEST_LOG_DIR;
  if (dir === undefined || dir === "") return () => () => {};
  mkdirSync(dir, { recursive: true });
  const ensemble = root.split(/[\\/]/).pop();
  return (id) =>
    jsonLogger({ server: id }, "debug", (line) =>
      appendFileSync(join(dir, `${ensemble}-${id}.jsonl`), line),
    );
}

async function waitFor(
  condition: () => boolean,
  timeoutMs: number,
  describe: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline)
      throw new Error(`the test servers did not settle within ${timeoutMs} ms: ${describe()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
