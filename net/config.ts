// zoo.cfg: ZooKeeper's configuration format (Java properties, `key=value`, `#` comments) with its
// keys, so a user's existing file works unchanged. An unknown key is a warning; a bad value is an
// error that names the key. The only place configuration is read (STYLE: no config from env
// elsewhere).

import type { Level } from "./log.ts";
import { isLevel, levels } from "./log.ts";

export interface ServerEntry {
  id: number;
  host: string;
  peerPort: number;
  electionPort: number;
  role: "participant" | "observer";
  clientHost: string | undefined;
  clientPort: number | undefined;
}

export interface ZooConfig {
  tickTime: number;
  initLimit: number;
  syncLimit: number;
  dataDir: string;
  dataLogDir: string;
  clientPort: number;
  clientPortAddress: string;
  servers: ServerEntry[];
  maxClientCnxns: number;
  minSessionTimeout: number;
  maxSessionTimeout: number;
  autopurgeSnapRetainCount: number;
  autopurgePurgeIntervalHours: number;
  fourLetterWordWhitelist: Set<string>;
  juteMaxBuffer: number;
  superDigest: string | undefined;
  extendedTypesEnabled: boolean;
  /** Dynamic reconfiguration is not implemented; this only decides reconfig's error code. */
  reconfigEnabled: boolean;
  snapCount: number;
  metricsPort: number | undefined;
  /**
   * Client requests in flight (all connections) above which the server stops reading from clients.
   */
  globalOutstandingLimit: number;
  /** Committed txns kept in memory for DIFF syncs; a follower further behind gets a SNAP. */
  commitLogCount: number;
  /** Serialize snapshots on the event loop, inside the core (only for measuring the difference). */
  snapshotInline: boolean;
  /** Encode a SNAP sync's snapshot on the event loop (only for measuring the difference). */
  syncSnapshotInline: boolean;
  /**
   * Room for the heap to grow between full collections while it is small (gc-headroom.ts), in
   * MiB: `zksim.gcHeadroomMB`; 0 leaves V8's own limits.
   */
  gcHeadroomMB: number;
  /** The server id of this process (from `myid` in dataDir, or given). */
  myid: number | undefined;
  /** Lowest level logged: `zksim.logLevel`, or the ZKSIM_LOG_LEVEL environment variable. */
  logLevel: Level;
}

export class ConfigError extends Error {
  override name = "ConfigError";
  constructor(
    readonly key: string,
    message: string,
    source = "zoo.cfg",
  ) {
    super(`${source}: ${key}: ${message}`);
  }
}

export const allFourLetterWords = [
  "conf",
  "cons",
  "crst",
  "dirs",
  "dump",
  "envi",
  "gtmk",
  "isro",
  "mntr",
  "ruok",
  "srst",
  "srvr",
  "stat",
  "stmk",
  "wchc",
  "wchp",
  "wchs",
  "hash",
];

/** Keys ZooKeeper accepts that this server reads but has no use for (accepted silently). */
const acceptedIgnored = new Set([
  "electionAlg",
  "peerType",
  "standaloneEnabled",
  "quorumListenOnAllIPs",
  "syncEnabled",
  "preAllocSize",
  "admin.enableServer",
  "admin.serverPort",
  "admin.serverAddress",
  "forceSync",
  "leaderServes",
  "cnxTimeout",
  "snapSizeLimitInKb",
  "maxCnxns",
  "metricsProvider.className",
  "dynamicConfigFile",
  "secureClientPort",
  "secureClientPortAddress",
  "localSessionsEnabled",
  "localSessionsUpgradingEnabled",
  "skipACL",
  "fsync.warningthresholdms",
  "maxBatchSize",
  "flushDelay",
]);

export function defaultConfig(): ZooConfig {
  return {
    tickTime: 2000,
    initLimit: 10,
    syncLimit: 5,
    dataDir: "./data",
    dataLogDir: "",
    clientPort: 2181,
    clientPortAddress: "0.0.0.0",
    servers: [],
    maxClientCnxns: 60,
    minSessionTimeout: -1,
    maxSessionTimeout: -1,
    autopurgeSnapRetainCount: 3,
    autopurgePurgeIntervalHours: 0,
    fourLetterWordWhitelist: new Set(["srvr"]),
    juteMaxBuffer: 0xfffff,
    superDigest: undefined,
    extendedTypesEnabled: false,
    reconfigEnabled: false,
    snapCount: 100_000,
    metricsPort: undefined,
    globalOutstandingLimit: 1000,
    commitLogCount: 500,
    myid: undefined,
    snapshotInline: false,
    syncSnapshotInline: false,
    gcHeadroomMB: 128,
    logLevel: "info",
  };
}

function integer(key: string, value: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^-?\d+$/.test(value)) throw new ConfigError(key, `expected an integer, got "${value}"`);
  const n = Number(value);
  if (n < min || n > max) throw new ConfigError(key, `${n} is out of range [${min}, ${max}]`);
  return n;
}

function boolean(key: string, value: string): boolean {
  if (/^(true|yes)$/i.test(value)) return true;
  if (/^(false|no)$/i.test(value)) return false;
  throw new ConfigError(key, `expected true or false, got "${value}"`);
}

function port(key: string, value: string): number {
  return integer(key, value, 0, 65535);
}

/** server.N=host:peerPort:electionPort[:participant|observer][;[clientHost:]clientPort] */
export function parseServer(key: string, value: string): ServerEntry {
  const id = integer(key, key.slice("server.".length), 1, 254);
  const [quorum, client] = value.split(";");
  const parts = quorum!.trim().split(":");
  if (parts.length < 3 || parts.length > 4)
    throw new ConfigError(key, `expected host:peerPort:electionPort[:role], got "${value}"`);
  const role = parts[3] ?? "participant";
  if (role !== "participant" && role !== "observer")
    throw new ConfigError(key, `unknown role "${role}"`);
  let clientHost: string | undefined;
  let clientPort: number | undefined;
  if (client !== undefined) {
    const c = client.trim().split(":");
    clientPort = port(key, c[c.length - 1]!);
    clientHost = c.length > 1 ? c[0] : undefined;
  }
  return {
    id,
    host: parts[0]!,
    peerPort: port(key, parts[1]!),
    electionPort: port(key, parts[2]!),
    role,
    clientHost,
    clientPort,
  };
}

export interface ParseResult {
  config: ZooConfig;
  warnings: string[];
}

export function parseZooCfg(text: string): ParseResult {
  const config = defaultConfig();
  const warnings: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith("!")) continue;
    const match = /^([^=:\s]+)\s*[=:\s]\s*(.*)$/.exec(line);
    if (match === null) {
      warnings.push(`zoo.cfg: ignoring a line without a value: "${line}"`);
      continue;
    }
    applyKey(config, match[1]!, match[2]!.trim(), warnings);
  }
  validate(config);
  if (config.reconfigEnabled && config.servers.length > 1) {
    warnings.push(
      "zoo.cfg: reconfigEnabled: dynamic reconfiguration is not implemented; " +
        "reconfig requests are answered with UNIMPLEMENTED",
    );
  }
  for (const s of config.servers.filter((entry) => entry.role === "observer")) {
    warnings.push(
      `zoo.cfg: server.${s.id} is an observer; observers are not supported, ` +
        "it runs as a voting participant (the quorum counts it)",
    );
  }
  return { config, warnings };
}

function applyKey(c: ZooConfig, key: string, value: string, warnings: string[]): void {
  if (key.startsWith("server.")) return void c.servers.push(parseServer(key, value));
  switch (key) {
    case "tickTime":
      c.tickTime = integer(key, value, 1);
      return;
    case "initLimit":
      c.initLimit = integer(key, value, 1);
      return;
    case "syncLimit":
      c.syncLimit = integer(key, value, 1);
      return;
    case "dataDir":
      c.dataDir = value;
      return;
    case "dataLogDir":
      c.dataLogDir = value;
      return;
    case "clientPort":
      c.clientPort = port(key, value);
      return;
    case "clientPortAddress":
      c.clientPortAddress = value;
      return;
    case "maxClientCnxns":
      c.maxClientCnxns = integer(key, value, 0);
      return;
    case "minSessionTimeout":
      c.minSessionTimeout = integer(key, value, -1);
      return;
    case "maxSessionTimeout":
      c.maxSessionTimeout = integer(key, value, -1);
      return;
    case "autopurge.snapRetainCount":
      c.autopurgeSnapRetainCount = Math.max(3, integer(key, value, 0));
      return;
    case "autopurge.purgeInterval":
      c.autopurgePurgeIntervalHours = integer(key, value, 0);
      return;
    case "4lw.commands.whitelist":
      c.fourLetterWordWhitelist = parseWhitelist(key, value);
      return;
    case "jute.maxbuffer":
      c.juteMaxBuffer = integer(key, value, 1024);
      return;
    case "superDigest":
    case "DigestAuthenticationProvider.superDigest":
    case "zookeeper.DigestAuthenticationProvider.superDigest":
      // The value is a credential: the error describes it without repeating it.
      if (!/^[^:]+:.+$/.test(value)) {
        throw new ConfigError(key, "expected user:base64digest (the value has no user: part)");
      }
      c.superDigest = value;
      return;
    case "extendedTypesEnabled":
    case "zookeeper.extendedTypesEnabled":
      c.extendedTypesEnabled = boolean(key, value);
      return;
    case "reconfigEnabled":
      c.reconfigEnabled = boolean(key, value);
      return;
    case "snapCount":
      c.snapCount = integer(key, value, 2);
      return;
    case "metricsProvider.httpPort":
      c.metricsPort = port(key, value);
      return;
    case "globalOutstandingLimit":
      c.globalOutstandingLimit = integer(key, value, 1);
      return;
    case "commitLogCount":
    case "zookeeper.commitLogCount":
      c.commitLogCount = integer(key, value, 1);
      return;
    case "myid":
      c.myid = integer(key, value, 1, 254);
      return;
    case "zksim.snapshotInline":
      c.snapshotInline = boolean(key, value);
      return;
    case "zksim.syncSnapshotInline":
      c.syncSnapshotInline = boolean(key, value);
      return;
    case "zksim.gcHeadroomMB":
      c.gcHeadroomMB = integer(key, value, 0, 1 << 20);
      return;
    case "zksim.logLevel":
      c.logLevel = logLevel(key, value);
      return;
    default:
      if (!acceptedIgnored.has(key) && !key.startsWith("metricsProvider."))
        warnings.push(`zoo.cfg: unknown key "${key}" ignored`);
  }
}

function logLevel(key: string, value: string, source?: string): Level {
  const level = value.toLowerCase();
  if (!isLevel(level)) {
    throw new ConfigError(key, `expected one of ${levels.join(", ")}, got "${value}"`, source);
  }
  return level;
}

/**
 * Settings an operator gives without editing zoo.cfg: ZKSIM_LOG_LEVEL=debug turns on the trace of
 * every input and effect for one run. They win over the file.
 */
export function applyEnvironment(config: ZooConfig, env: Record<string, string | undefined>): void {
  const level = env.ZKSIM_LOG_LEVEL;
  if (level !== undefined && level !== "") {
    config.logLevel = logLevel("ZKSIM_LOG_LEVEL", level, "environment");
  }
}

function parseWhitelist(key: string, value: string): Set<string> {
  if (value.trim() === "*") return new Set(allFourLetterWords);
  const words = value
    .split(",")
    .map((w) => w.trim())
    .filter((w) => w !== "");
  for (const word of words)
    if (!allFourLetterWords.includes(word))
      throw new ConfigError(key, `unknown four-letter word "${word}"`);
  return new Set(words);
}

function validate(c: ZooConfig): void {
  if (c.minSessionTimeout === -1) c.minSessionTimeout = 2 * c.tickTime;
  if (c.maxSessionTimeout === -1) c.maxSessionTimeout = 20 * c.tickTime;
  if (c.minSessionTimeout > c.maxSessionTimeout)
    throw new ConfigError(
      "minSessionTimeout",
      `${c.minSessionTimeout} exceeds maxSessionTimeout ${c.maxSessionTimeout}`,
    );
  if (c.dataLogDir === "") c.dataLogDir = c.dataDir;
  const ids = new Set<number>();
  for (const s of c.servers) {
    if (ids.has(s.id)) throw new ConfigError(`server.${s.id}`, "defined twice");
    ids.add(s.id);
  }
  if (c.extendedTypesEnabled && c.servers.some((s) => s.id > 254))
    throw new ConfigError("extendedTypesEnabled", "server ids must be below 255");
}
