// The client's public API: see README.md next to this file.

export { ZooKeeperClient, text, openAclUnsafe, readAclUnsafe, Perms } from "./client.ts";
export type {
  Acl,
  ClientOptions,
  ConnectionState,
  CreateModeName,
  CreateOptions,
  Data,
  Id,
  MultiOp,
  MultiReadOp,
  MultiReadResultOf,
  MultiResult,
  MultiResultOf,
  RequestOptions,
  Stat,
  WatchEvent,
  WatchEventType,
  Watcher,
  WatcherTypeName,
  WatchOptions,
} from "./client.ts";
export * from "./errors.ts";
export { parseConnectString } from "./connect-string.ts";
export type { ConnectString, ServerAddress } from "./connect-string.ts";
