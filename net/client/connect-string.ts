// ZooKeeper's connect string: "host:port,host:port,.../optional/chroot". A host without a port
// gets 2181; an IPv6 address is written in brackets ("[::1]:2181").

export interface ServerAddress {
  host: string;
  port: number;
}

export interface ConnectString {
  servers: ServerAddress[];
  /** The chroot every path is relative to, without a trailing slash; "" for none. */
  chroot: string;
}

export function parseConnectString(text: string): ConnectString {
  const slash = text.indexOf("/");
  const hosts = slash < 0 ? text : text.slice(0, slash);
  let chroot = slash < 0 ? "" : text.slice(slash);
  if (chroot === "/") chroot = "";
  if (chroot.endsWith("/") || chroot.includes("//")) {
    throw new Error(`invalid chroot ${JSON.stringify(chroot)} in connect string`);
  }
  const servers = hosts
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .map(parseServer);
  if (servers.length === 0) throw new Error(`no server in connect string ${JSON.stringify(text)}`);
  return { servers, chroot };
}

function parseServer(text: string): ServerAddress {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracketed !== null) return { host: bracketed[1]!, port: port(bracketed[2], text) };
  const colon = text.lastIndexOf(":");
  if (colon < 0) return { host: text, port: 2181 };
  return { host: text.slice(0, colon), port: port(text.slice(colon + 1), text) };
}

function port(text: string | undefined, server: string): number {
  if (text === undefined) return 2181;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    throw new Error(`invalid port in ${JSON.stringify(server)}`);
  }
  return value;
}
