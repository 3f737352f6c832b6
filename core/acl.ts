// ACL rules as ZooKeeper's ZooKeeperServer.checkACL, PrepRequestProcessor.fixupACL and the built-in
// authentication providers (world, auth, digest, ip, super).

import { sha1 } from "@noble/hashes/legacy.js";
import { base64, utf8 } from "./bytes.ts";
import type { Acl, Id } from "./types.ts";

/**
 * "user:password" -> "user:base64(sha1(user:password))", ZooKeeper's DigestAuthenticationProvider.
 */
export function digestId(userPassword: string): string {
  const user = userPassword.split(":", 1)[0] ?? "";
  return `${user}:${base64(sha1(utf8(userPassword)))}`;
}

/**
 * Ids a connection gains from an auth packet (`addAuth(scheme, credentials)`), or undefined when
 * the scheme is unknown (AUTHFAILED). A digest that matches the configured superDigest also grants
 * `super`, which bypasses every ACL.
 */
export function authenticate(
  scheme: string,
  credentials: string,
  superDigest: string | undefined,
): Id[] | undefined {
  if (scheme !== "digest") return undefined; // ip is granted from the socket, not by addAuth
  const id = digestId(credentials);
  const ids: Id[] = [];
  if (superDigest !== undefined && id === superDigest) ids.push({ scheme: "super", id: "" });
  ids.push({ scheme: "digest", id });
  return ids;
}

/** Java's String.split drops trailing empty strings; ZooKeeper's validity checks depend on it. */
function javaSplit(text: string, separator: string): string[] {
  const parts = text.split(separator);
  while (parts.length > 0 && parts[parts.length - 1] === "") parts.pop();
  return parts;
}

function ipv4Bytes(addr: string): number[] | undefined {
  const parts = addr.split(".");
  if (parts.length !== 4) return undefined;
  const bytes: number[] = [];
  for (const part of parts) {
    if (!/^[+-]?\d+$/.test(part)) return undefined;
    const value = Number.parseInt(part, 10);
    if (value < 0 || value > 255) return undefined;
    bytes.push(value);
  }
  return bytes;
}

function ipPrefixBits(aclExpr: string): { addr: number[]; bits: number } | undefined {
  const slash = aclExpr.indexOf("/");
  const addr = ipv4Bytes(slash < 0 ? aclExpr : aclExpr.slice(0, slash));
  if (addr === undefined) return undefined;
  if (slash < 0) return { addr, bits: 32 };
  const bitsText = aclExpr.slice(slash + 1);
  if (!/^[+-]?\d+$/.test(bitsText)) return undefined;
  const bits = Number.parseInt(bitsText, 10);
  return bits < 0 || bits > 32 ? undefined : { addr, bits };
}

function ipMatches(clientAddr: string, aclExpr: string): boolean {
  const acl = ipPrefixBits(aclExpr);
  const client = ipv4Bytes(clientAddr);
  if (acl === undefined || client === undefined) return false;
  for (let i = 0; i < 4; i++) {
    const keep = Math.max(0, Math.min(8, acl.bits - i * 8));
    const mask = (0xff << (8 - keep)) & 0xff;
    if ((client[i]! & mask) !== (acl.addr[i]! & mask)) return false;
  }
  return true;
}

/** Whether an id is well formed for its scheme (AuthenticationProvider.isValid). */
function isValidId(id: Id): boolean {
  switch (id.scheme) {
    case "digest":
      return javaSplit(id.id, ":").length === 2;
    case "ip":
      return ipPrefixBits(id.id) !== undefined;
    default:
      return false;
  }
}

/** Schemes whose ids `auth` expands to (ZooKeeper: providers that say isAuthenticated). */
const authenticatedSchemes = new Set(["digest", "super"]);

/**
 * Validates and expands the ACL of a create or setACL (fixupACL): duplicates dropped, `auth`
 * replaced by the caller's authenticated ids. Undefined means INVALIDACL.
 */
export function fixupAcl(acl: readonly Acl[], authIds: readonly Id[]): readonly Acl[] | undefined {
  // Nearly every create carries the open ACL alone: nothing to expand, nothing to copy.
  if (acl.length === 1 && acl[0]!.id.scheme === "world" && acl[0]!.id.id === "anyone") return acl;
  const unique: Acl[] = [];
  for (const entry of acl) {
    if (!unique.some((u) => aclEquals(u, entry))) unique.push(entry);
  }
  if (unique.length === 0) return undefined;
  const fixed: Acl[] = [];
  for (const entry of unique) {
    if (entry.id.scheme === "world" && entry.id.id === "anyone") {
      fixed.push(entry);
    } else if (entry.id.scheme === "auth") {
      const expanded = authIds.filter((id) => authenticatedSchemes.has(id.scheme));
      if (expanded.length === 0) return undefined;
      for (const id of expanded) fixed.push({ perms: entry.perms, id });
    } else if (isValidId(entry.id)) {
      fixed.push(entry);
    } else {
      return undefined;
    }
  }
  return fixed;
}

function idMatches(authId: Id, aclId: Id): boolean {
  if (authId.scheme !== aclId.scheme) return false;
  if (aclId.scheme === "digest") return authId.id === aclId.id;
  if (aclId.scheme === "ip") return ipMatches(authId.id, aclId.id);
  return false;
}

/** True when `authIds` may do `perm` on a node with `acl` (ZooKeeperServer.checkACL). */
export function aclPermits(acl: readonly Acl[], perm: number, authIds: readonly Id[]): boolean {
  if (acl.length === 0) return true;
  if (authIds.some((id) => id.scheme === "super")) return true;
  for (const entry of acl) {
    if ((entry.perms & perm) === 0) continue;
    if (entry.id.scheme === "world" && entry.id.id === "anyone") return true;
    if (authIds.some((authId) => idMatches(authId, entry.id))) return true;
  }
  return false;
}

export function aclEquals(a: Acl, b: Acl): boolean {
  return a.perms === b.perms && a.id.scheme === b.id.scheme && a.id.id === b.id.id;
}

/** getACL without ADMIN shows digest ids as "user:x" (FinalRequestProcessor). */
export function maskDigests(acl: readonly Acl[]): Acl[] {
  return acl.map((entry) =>
    entry.id.scheme === "digest"
      ? { perms: entry.perms, id: { scheme: "digest", id: entry.id.id.replace(/:.*/g, ":x") } }
      : entry,
  );
}

/** whoAmI's view of an id: the user name the provider extracts (AuthUtil.getClientInfos). */
export function userOf(id: Id): string {
  if (id.scheme === "digest") return id.id.split(":")[0] ?? "";
  if (id.scheme === "ip") return id.id;
  return "";
}
