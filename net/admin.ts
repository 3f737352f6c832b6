// Four-letter words (ruok, srvr, stat, mntr, conf, cons, envi, wchs, dump, isro) rendered as Apache
// ZooKeeper renders them, from a snapshot of the server's state. Pure: the runtime gathers the
// snapshot, this formats it; tests check the text.

import { dataLength } from "../core/bytes.ts";
import type { ReplicaView } from "../core/replica/index.ts";
import { hex } from "../core/types.ts";
import type { ZooConfig } from "./config.ts";

export const serverVersion = "3.8.0-zk-sim-0.1.0, built on 2026-11-24";

export interface ConnectionInfo {
  remote: string;
  sessionId: bigint | undefined;
  received: number;
  sent: number;
  queued: number;
  lastOperation: string;
}

export interface ServerStats {
  startedAtMs: number;
  nowMs: number;
  packetsReceived: number;
  packetsSent: number;
  latencyMinMs: number;
  latencyMaxMs: number;
  latencyTotalMs: number;
  latencyCount: number;
  fsyncs: number;
  maxFileDescriptors: number;
  /** Times a client connection stopped being read because the server was overloaded. */
  throttledCount: number;
  /** SNAP syncs this server sent as a leader, encoded in pieces from a capture of the tree. */
  snapshotSyncs: number;
  /** ... encoded on the event loop in one go (zksim.syncSnapshotInline). */
  snapshotSyncsInline: number;
}

export interface AdminView {
  replica: ReplicaView;
  config: ZooConfig;
  stats: ServerStats;
  connections: ConnectionInfo[];
  standalone: boolean;
}

function mode(view: AdminView): string {
  if (view.standalone) return "standalone";
  const role = view.replica.status.role;
  return role === "leading" ? "leader" : role === "following" ? "follower" : "looking";
}

function latency(stats: ServerStats): string {
  const avg = stats.latencyCount === 0 ? 0 : stats.latencyTotalMs / stats.latencyCount;
  const min = stats.latencyCount === 0 ? 0 : stats.latencyMinMs;
  return `${min}/${avg.toFixed(4)}/${stats.latencyMaxMs}`;
}

function connectionLine(c: ConnectionInfo): string {
  const session = c.sessionId === undefined ? "" : `,sid=${hex(c.sessionId)}`;
  return (
    ` /${c.remote}[1](queued=${c.queued},recved=${c.received},sent=${c.sent}${session},` +
    `lop=${c.lastOperation})`
  );
}

function srvr(view: AdminView, withClients: boolean): string {
  const s = view.replica;
  const lines = [`Zookeeper version: ${serverVersion}`];
  if (withClients) {
    // A loop, not push(...): a spread of every connection could overflow the stack.
    lines.push("Clients:");
    for (const connection of view.connections) lines.push(connectionLine(connection));
    lines.push("");
  }
  lines.push(
    `Latency min/avg/max: ${latency(view.stats)}`,
    `Received: ${view.stats.packetsReceived}`,
    `Sent: ${view.stats.packetsSent}`,
    `Connections: ${view.connections.length}`,
    `Outstanding: ${view.connections.reduce((n, c) => n + c.queued, 0)}`,
    `Zxid: ${hex(s.appliedZxid)}`,
    `Mode: ${mode(view)}`,
    `Node count: ${s.tree.size}`,
  );
  return lines.join("\n") + "\n";
}

function approximateDataSize(replica: ReplicaView): number {
  let bytes = 0;
  for (const [path, node] of replica.tree.nodes) bytes += path.length + dataLength(node.data);
  return bytes;
}

function mntr(view: AdminView): string {
  const s = view.replica;
  const stats = view.stats;
  let ephemerals = 0;
  for (const [, paths] of s.tree.ephemerals) ephemerals += paths.size;
  const rows: [string, string | number][] = [
    ["zk_version", serverVersion],
    ["zk_server_state", mode(view)],
    [
      "zk_avg_latency",
      stats.latencyCount === 0 ? 0 : Number((stats.latencyTotalMs / stats.latencyCount).toFixed(4)),
    ],
    ["zk_max_latency", stats.latencyMaxMs],
    ["zk_min_latency", stats.latencyCount === 0 ? 0 : stats.latencyMinMs],
    ["zk_packets_received", stats.packetsReceived],
    ["zk_packets_sent", stats.packetsSent],
    ["zk_num_alive_connections", view.connections.length],
    ["zk_outstanding_requests", view.connections.reduce((n, c) => n + c.queued, 0)],
    ["zk_znode_count", s.tree.size],
    ["zk_watch_count", s.watchCount],
    ["zk_ephemerals_count", ephemerals],
    ["zk_approximate_data_size", approximateDataSize(s)],
    ["zk_open_file_descriptor_count", view.connections.length + 8],
    ["zk_max_file_descriptor_count", stats.maxFileDescriptors],
    ["zk_fsync_count", stats.fsyncs],
    ["zk_last_zxid", hex(s.appliedZxid)],
    ["zk_uptime", stats.nowMs - stats.startedAtMs],
  ];
  if (s.status.role === "leading") {
    const synced = s.learners.filter((l) => l.phase === "synced").length;
    rows.push(
      ["zk_followers", s.learners.length],
      ["zk_synced_followers", synced],
      ["zk_pending_syncs", s.pendingSyncs],
    );
  }
  return rows.map(([k, v]) => `${k}\t${v}`).join("\n") + "\n";
}

function conf(view: AdminView): string {
  const c = view.config;
  const lines = [
    `clientPort=${c.clientPort}`,
    `dataDir=${c.dataDir}`,
    `dataLogDir=${c.dataLogDir}`,
    `tickTime=${c.tickTime}`,
    `maxClientCnxns=${c.maxClientCnxns}`,
    `minSessionTimeout=${c.minSessionTimeout}`,
    `maxSessionTimeout=${c.maxSessionTimeout}`,
    `serverId=${c.myid ?? 0}`,
  ];
  if (!view.standalone)
    lines.push(
      `initLimit=${c.initLimit}`,
      `syncLimit=${c.syncLimit}`,
      `electionAlg=3`,
      `electionPort=${c.servers.find((s) => s.id === c.myid)?.electionPort ?? 0}`,
    );
  for (const s of c.servers)
    lines.push(`server.${s.id}=${s.host}:${s.peerPort}:${s.electionPort}:${s.role}`);
  return lines.join("\n") + "\n";
}

function wchs(view: AdminView): string {
  const summary = view.replica.watchSummary();
  return (
    `${summary.sessions} connections watching ${summary.paths} paths\n` +
    `Total watches:${summary.watches}\n`
  );
}

function dump(view: AdminView): string {
  const s = view.replica;
  const lines = [
    "SessionTracker dump:",
    `Session count: ${s.sessions.size}`,
    "ephemeral nodes dump:",
    `Sessions with Ephemerals (${s.tree.ephemerals.size}):`,
  ];
  for (const [session, paths] of s.tree.ephemerals) {
    lines.push(`${hex(session)}:`);
    // One session may own a million ephemerals: a spread of them would overflow the stack.
    for (const path of paths) lines.push(`\t${path}`);
  }
  return lines.join("\n") + "\n";
}

function envi(view: AdminView): string {
  return (
    [
      "Environment:",
      `zookeeper.version=${serverVersion}`,
      `runtime=node`,
      `zookeeper.dataDir=${view.config.dataDir}`,
      `zookeeper.dataLogDir=${view.config.dataLogDir}`,
      `zookeeper.clientPort=${view.config.clientPort}`,
    ].join("\n") + "\n"
  );
}

/** The reply to a four-letter word, or undefined if it is unknown or not whitelisted. */
export function fourLetterWord(word: string, view: AdminView): string | undefined {
  if (!view.config.fourLetterWordWhitelist.has(word)) return undefined;
  switch (word) {
    case "ruok":
      return "imok";
    case "srvr":
      return srvr(view, false);
    case "stat":
      return srvr(view, true);
    case "mntr":
      return mntr(view);
    case "conf":
      return conf(view);
    case "cons":
      return view.connections.map(connectionLine).join("\n") + "\n\n";
    case "envi":
      return envi(view);
    case "wchs":
      return wchs(view);
    case "dump":
      return dump(view);
    case "isro":
      return "rw";
    default:
      return undefined;
  }
}

/** The 4-byte codes ZooKeeper checks at the start of a fresh connection. */
export function fourLetterWordOf(first4: Uint8Array): string | undefined {
  const word = String.fromCharCode(...first4);
  return /^[a-z]{4}$/.test(word) ? word : undefined;
}
