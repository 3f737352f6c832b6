// The vocabulary of the coordination core: ids, Stat, ACLs, create modes.
// Names are ZooKeeper's (zxid, cversion, pzxid, ephemeralOwner) so the code reads like its docs.

/** A 64-bit transaction id: epoch << 32 | counter. Always a bigint, never a lossy number. */
export type Zxid = bigint & { readonly __brand: "Zxid" };
/** A 64-bit session id (ZooKeeper: server id in the high byte, time in the next five). */
export type SessionId = bigint & { readonly __brand: "SessionId" };

export const zxid = (value: bigint): Zxid => value as Zxid;
export const sessionId = (value: bigint): SessionId => value as SessionId;
export const makeZxid = (epoch: number, counter: number): Zxid =>
  ((BigInt(epoch) << 32n) | BigInt(counter >>> 0)) as Zxid;
export const zxidEpoch = (z: Zxid): number => Number(z >> 32n);
export const zxidCounter = (z: Zxid): number => Number(z & 0xffffffffn);
export const hex = (value: bigint): string =>
  value < 0n ? `-0x${(-value).toString(16)}` : `0x${value.toString(16)}`;

/** The client-visible Stat, field for field as ZooKeeper's jute `Stat` (68 bytes on the wire). */
export interface Stat {
  czxid: Zxid;
  mzxid: Zxid;
  ctime: number; // ms since the epoch, as the leader's clock saw the create
  mtime: number;
  version: number;
  cversion: number;
  aversion: number;
  ephemeralOwner: bigint;
  dataLength: number;
  numChildren: number;
  pzxid: Zxid;
}

export interface Id {
  scheme: string;
  id: string;
}

export interface Acl {
  perms: number;
  id: Id;
}

/** ZooDefs.Perms bits. */
export const Perms = {
  READ: 1,
  WRITE: 2,
  CREATE: 4,
  DELETE: 8,
  ADMIN: 16,
  ALL: 31,
} as const;

// Frozen: shared by every caller, and by every log record that carries the open ACL
// (core/storage.ts readAcl), so nothing may change them.
export const anyoneId: Id = Object.freeze({ scheme: "world", id: "anyone" });
/** ZooDefs.Ids.OPEN_ACL_UNSAFE */
export const openAclUnsafe: readonly Acl[] = Object.freeze([
  Object.freeze({ perms: Perms.ALL, id: anyoneId }),
]);
/** ZooDefs.Ids.READ_ACL_UNSAFE */
export const readAclUnsafe: readonly Acl[] = Object.freeze([
  Object.freeze({ perms: Perms.READ, id: anyoneId }),
]);

/** CreateMode flags as sent on the wire (ZooKeeper's CreateMode.toFlag). */
export const CreateMode = {
  PERSISTENT: 0,
  EPHEMERAL: 1,
  PERSISTENT_SEQUENTIAL: 2,
  EPHEMERAL_SEQUENTIAL: 3,
  CONTAINER: 4,
  PERSISTENT_WITH_TTL: 5,
  PERSISTENT_SEQUENTIAL_WITH_TTL: 6,
} as const;
export type CreateModeFlag = (typeof CreateMode)[keyof typeof CreateMode];

export interface CreateModeInfo {
  ephemeral: boolean;
  sequential: boolean;
  container: boolean;
  ttl: boolean;
}

export function createModeInfo(flag: number): CreateModeInfo | undefined {
  switch (flag) {
    case 0:
      return { ephemeral: false, sequential: false, container: false, ttl: false };
    case 1:
      return { ephemeral: true, sequential: false, container: false, ttl: false };
    case 2:
      return { ephemeral: false, sequential: true, container: false, ttl: false };
    case 3:
      return { ephemeral: true, sequential: true, container: false, ttl: false };
    case 4:
      return { ephemeral: false, sequential: false, container: true, ttl: false };
    case 5:
      return { ephemeral: false, sequential: false, container: false, ttl: true };
    case 6:
      return { ephemeral: false, sequential: true, container: false, ttl: true };
    default:
      return undefined;
  }
}

// ephemeralOwner encodings (ZooKeeper's EphemeralType): a container is Long.MIN_VALUE; a TTL node
// has 0xFF in the high byte and the TTL (ms) in the low 40 bits.
export const containerEphemeralOwner = -(1n << 63n);
const extendedMask = 0xff00000000000000n;
const reservedBitsMask = 0x00ffff0000000000n;
const extendedValueMask = 0x000000ffffffffffn;
export const ttlMaxMs = Number(extendedValueMask);

export type EphemeralKind = "none" | "session" | "container" | "ttl";

/** Signed 64-bit view of an unsigned bit pattern, so owners compare like Java longs. */
export const toSigned64 = (value: bigint): bigint => BigInt.asIntN(64, value);

export function ttlEphemeralOwner(ttlMs: number): bigint {
  return toSigned64(extendedMask | BigInt(ttlMs));
}

/** Classifies an ephemeralOwner as ZooKeeper does; TTL owners only exist with extended types on. */
export function ephemeralKind(owner: bigint, extendedTypesEnabled: boolean): EphemeralKind {
  if (owner === 0n) return "none"; // most nodes: no BigInt.asUintN (it allocates) on every write
  const unsigned = BigInt.asUintN(64, owner);
  if (extendedTypesEnabled && (unsigned & extendedMask) === extendedMask) {
    if ((unsigned & reservedBitsMask) !== 0n) return "session"; // not a known extended feature
    return "ttl";
  }
  if (owner === containerEphemeralOwner) return "container";
  return owner === 0n ? "none" : "session";
}

export function ttlOfOwner(owner: bigint): number {
  return Number(BigInt.asUintN(64, owner) & extendedValueMask);
}
