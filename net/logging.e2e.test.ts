// What a 3-server ensemble of real processes logs: at info, the election and its epoch and zxid,
// followers joining and how they were synced, sessions created, closed and expired, connections
// refused; at debug, every input and effect, and in no line a password, a session password or the
// super digest.

import { createHash } from "node:crypto";
import { createConnection } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { utf8 } from "../core/bytes.ts";
import { openAclUnsafe, sessionId, zxid } from "../core/types.ts";
import { frame, Framer } from "./framing.ts";
import type { ProcessEnsemble } from "./processes.ts";
import { modeOf, startProcessEnsemble } from "./processes.ts";
import { decodeConnectResponse, encodeConnectRequest } from "./wire.ts";
import { ZkClient } from "./zk-client.ts";

type Line = Record<string, unknown> & { level: string; msg: string };

let ensemble: ProcessEnsemble | undefined;
afterAll(async () => ensemble?.stop());

const userPassword = "s3cret-Pw-4711";
const superPassword = "super-Pw-0815";
const superDigest = createHash("sha1").update(`super:${superPassword}`).digest("base64");

/** The complete lines a server wrote so far (the last one may still be arriving). */
function lines(e: ProcessEnsemble, index: number): Line[] {
  return e.stderr[index]!.split("\n")
    .slice(0, -1)
    .map((l) => JSON.parse(l) as Line);
}

async function waitFor<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  what: string,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits for a line of server `index` with this msg and these fields. */
function line(e: ProcessEnsemble, index: number, msg: string, fields: Partial<Line> = {}) {
  const has = (l: Line) => Object.entries(fields).every(([k, v]) => l[k] === v);
  const matches = (l: Line) => l.msg === msg && has(l);
  return waitFor(() => lines(e, index).find(matches), `"${msg}" from server ${index + 1}`);
}

const create = (path: string, flags: number) => ({
  op: "create" as const,
  path,
  data: utf8("x"),
  acl: openAclUnsafe,
  flags,
  ttl: -1,
});
const connect = (port: number, timeoutMs: number) => {
  return ZkClient.connect("127.0.0.1", port, { timeoutMs });
};

const hexMatch = expect.stringMatching(/^0x[0-9a-f]+$/);

const hexId = (id: bigint) => `0x${BigInt.asUintN(64, id).toString(16)}`;

/** A ConnectRequest for an existing session (or a made-up one), then hang up after the answer. */
function rawConnect(port: number, id: bigint, password: Uint8Array, timeoutMs: number) {
  return new Promise<{ timeoutMs: number }>((resolve, reject) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    const framer = new Framer(1 << 20);
    socket.once("connect", () => {
      const request = {
        protocolVersion: 0,
        lastZxidSeen: zxid(0n),
        timeoutMs,
        sessionId: sessionId(id),
        password,
        readOnly: false,
      };
      socket.write(frame(encodeConnectRequest(request)));
    });
    socket.on("data", (chunk: Buffer) => {
      for (const payload of framer.push(new Uint8Array(chunk))) {
        socket.destroy();
        resolve({ timeoutMs: decodeConnectResponse(payload).timeoutMs });
      }
    });
    socket.on("error", reject);
  });
}

describe("server logs", () => {
  it("tell an operator about elections, syncs and sessions, and never a secret", async () => {
    ensemble = await startProcessEnsemble(3, {
      extra: ["commitLogCount=20", `superDigest=super:${superDigest}`],
      env: { ZKSIM_LOG_LEVEL: "debug" },
      captureStderr: true,
    });
    const e = ensemble;
    const leader = await waitFor(
      async () => {
        const modes = await Promise.all(e.clientPorts.map(modeOf));
        const index = modes.indexOf("leader");
        return index >= 0 && modes.filter((m) => m === "follower").length === 2 ? index : undefined;
      },
      "a leader and two followers",
      30_000,
    );
    const followers = [0, 1, 2].filter((i) => i !== leader);

    // The election result, with epoch and zxid, on every server; the leader established.
    const id = leader + 1;
    const won = await line(e, leader, "election finished", { role: "leading" });
    expect(won).toMatchObject({ leader: id, epoch: expect.any(Number), zxid: hexMatch });
    const established = await line(e, leader, "leader established");
    expect(established.epoch).toBeGreaterThanOrEqual(1);
    for (const f of followers) {
      const elected = await line(e, f, "election finished", { role: "following" });
      expect(elected).toMatchObject({ leader: id, epoch: expect.any(Number), zxid: hexMatch });
      const following = await line(e, f, "following leader");
      expect(following).toMatchObject({ leader: id, epoch: established.epoch, zxid: hexMatch });
      // The leader says how each follower joined: here, a DIFF of nothing.
      const joined = await line(e, leader, "follower joining", { follower: f + 1 });
      expect(joined).toMatchObject({ sync: "DIFF", txns: 0, epoch: established.epoch });
      expect(joined.followerZxid).toMatch(/^0x/);
      await line(e, leader, "follower synced", { follower: f + 1 });
    }

    // A session on a follower: created, digest auth, an ephemeral, closed by its client.
    const port = e.clientPorts[followers[0]!]!;
    const client = await connect(port, 4000);
    expect((await client.addAuth("digest", `alice:${userPassword}`)).err).toBe(0);
    expect((await client.request(create("/eph", 1))).err).toBe(0);
    const closedId = client.sessionId;
    const passwords = [client.password];
    const created = await line(e, followers[0]!, "session created", { session: hexId(closedId) });
    expect(created.timeoutMs).toBe(4000);
    expect(created.client).toMatch(/^127\.0\.0\.1:\d+$/);
    await client.close();
    await line(e, followers[0]!, "session closed", { session: hexId(closedId) });

    // A session whose client vanishes expires on the leader, which says after how long a silence.
    const doomed = await connect(port, 400);
    passwords.push(doomed.password);
    expect((await doomed.request(create("/doomed", 1))).err).toBe(0);
    doomed.abort();
    const doomedId = hexId(doomed.sessionId);
    const expired = await line(e, leader, "session expired", { session: doomedId });
    expect(expired).toMatchObject({ timeoutMs: 400, ephemerals: 1, zxid: hexMatch });
    // The leader expires on its ticks (200 ms) and its clock moves on ticks: within a few of them.
    expect(expired.sinceLastHeardMs).toBeGreaterThan(0);
    expect(expired.sinceLastHeardMs).toBeLessThan(400 + 5 * 200);

    // A client's own close is no expiry, whether a follower forwarded it or the leader got it.
    const onLeader = await connect(e.clientPorts[leader]!, 4000);
    passwords.push(onLeader.password);
    await onLeader.close();
    await line(e, leader, "session closed", { session: hexId(onLeader.sessionId) });
    await new Promise((r) => setTimeout(r, 500));
    const expiries = lines(e, leader)
      .filter((l) => l.msg === "session expired")
      .map((l) => l.session);
    expect(expiries).not.toContain(hexId(closedId));
    expect(expiries).not.toContain(hexId(onLeader.sessionId));

    // Coming back to an expired session is refused, and the log says why.
    const refused = await rawConnect(port, doomed.sessionId, doomed.password, 400);
    expect(refused.timeoutMs).toBe(0);
    const why = { reason: "session expired", session: doomedId };
    await line(e, followers[0]!, "connection refused", why);

    // A follower that missed more than commitLogCount txns is brought back with a SNAP.
    const behind = followers[1]!;
    e.kill9(behind);
    const writer = await connect(e.clientPorts[leader]!, 4000);
    passwords.push(writer.password);
    for (let i = 0; i < 40; i++) expect((await writer.request(create(`/n${i}`, 0))).err).toBe(0);
    e.start(behind);
    const snap = await line(e, leader, "follower joining", { follower: behind + 1, sync: "SNAP" });
    expect(snap.snapshotBytes).toBeGreaterThan(0);
    const synced = await line(e, behind, "syncing with leader", { sync: "SNAP" });
    expect(synced.snapshotBytes).toBe(snap.snapshotBytes);
    await writer.close();

    // Debug lines trace every input and effect; none of any server's lines holds a secret.
    const all = [0, 1, 2].flatMap((i) => lines(e, i));
    expect(all.some((l) => l.msg === "input" && String(l.trace).includes("auth"))).toBe(true);
    expect(all.some((l) => l.msg === "effect" && String(l.trace).includes("connected"))).toBe(true);
    const secrets = [userPassword, superPassword, superDigest];
    for (const password of passwords) {
      expect(password.length).toBe(16);
      const bytes = Buffer.from(password);
      secrets.push(bytes.toString("hex"), bytes.toString("base64").replace(/=+$/, ""));
      secrets.push(JSON.stringify(new Uint8Array(password)), Array.from(password).join(","));
    }
    const text = e.stderr.join("\n");
    for (const secret of secrets) expect(text.includes(secret), secret).toBe(false);
  }, 120_000);
});
