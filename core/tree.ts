// The znode tree: a map from path to node, changed only by applying committed txns (see
// database.ts). It keeps the indexes ZooKeeper's DataTree keeps (ephemerals per session,
// containers, TTL nodes) and an incremental digest: the sum over nodes of a 64-bit node hash, so
// two replicas that applied the same txns agree on it and a replay can be proven equal without
// comparing trees.

import { assert, InvariantViolation } from "./assert.ts";
import { dataLength, emptyBytes } from "./bytes.ts";
import type { ZnodeData } from "./bytes.ts";
import { childName, configPath, isSpecialPath, parentPath } from "./path.ts";
import { procPath, quotaPath, rootPath } from "./path.ts";
import { NameSet, PathMap } from "./path-map.ts";
import {
  containerEphemeralOwner,
  ephemeralKind,
  openAclUnsafe,
  readAclUnsafe,
  zxid,
} from "./types.ts";
import type { Acl, SessionId, Stat, Zxid } from "./types.ts";

export interface ZNode {
  data: ZnodeData;
  acl: readonly Acl[];
  czxid: Zxid;
  mzxid: Zxid;
  pzxid: Zxid;
  ctime: number;
  mtime: number;
  version: number;
  cversion: number;
  aversion: number;
  ephemeralOwner: bigint;
  /**
   * Child names (in no promised order, as in ZooKeeper); null for a leaf (saves a set per node at a
   * million nodes).
   */
  children: NameSet | null;
  /** This node's contribution to the tree digest, two 32-bit lanes. */
  hashHigh: number;
  hashLow: number;
  /** Changed since its hash was computed: the digest recounts it when next asked for. */
  hashStale: boolean;
}

export type WatchEventType =
  | "NodeCreated"
  | "NodeDeleted"
  | "NodeDataChanged"
  | "NodeChildrenChanged";

/**
 * A change a txn made, as data: the watch manager (replicated core) turns these into notifications.
 */
export interface WatchTrigger {
  type: WatchEventType;
  path: string;
}

const zeroZxid = zxid(0n);
/** Stale nodes wait for a digest read up to this many, then are recounted (a read stays cheap). */
const staleRecountLimit = 256;

/**
 * The Stat a client sees. Two ZooKeeper quirks, checked against Apache ZooKeeper 3.8: cversion is
 * reported as 2 * (children created) - (children now), i.e. creates plus deletes, while the
 * sequential suffix counts creates only; and containers and TTL nodes report ephemeralOwner 0.
 */
export function statOf(node: ZNode): Stat {
  const numChildren = node.children === null ? 0 : node.children.size;
  return {
    czxid: node.czxid,
    mzxid: node.mzxid,
    ctime: node.ctime,
    mtime: node.mtime,
    version: node.version,
    cversion: (2 * node.cversion - numChildren) | 0,
    aversion: node.aversion,
    ephemeralOwner: clientEphemeralOwner(node.ephemeralOwner),
    dataLength: dataLength(node.data),
    numChildren,
    pzxid: node.pzxid,
  };
}

const extendedOwnerMask = 0xff00000000000000n;

function clientEphemeralOwner(owner: bigint): bigint {
  if (owner === containerEphemeralOwner) return 0n;
  return (BigInt.asUintN(64, owner) & extendedOwnerMask) === extendedOwnerMask ? 0n : owner;
}

export interface TreeOptions {
  extendedTypesEnabled: boolean;
}

/**
 * The tree as it was at one moment, readable while the tree goes on changing: a snapshot is
 * encoded from it a piece at a time between steps, without a second copy of the tree. It walks
 * the tree's slots of that moment (PathMap), and the tree hands each node it is about to change or
 * delete to its open captures first: a capture keeps the first such copy per node
 * (copy-on-write). A node created later is in no slot of the capture's and is not copied.
 */
export class TreeCapture {
  readonly size: number;
  readonly digest: bigint;
  /** The slots of the moment of capture: 0 .. end - 1, but for those a sweep left skipped. */
  private readonly end: number;
  private readonly skipped: { start: number; end: number };
  private slot = 0;
  /** Nodes as they were when captured, by node, for those changed or deleted since. */
  private readonly earlier = new Map<ZNode, ZNode>();
  private released = false;
  /** The path and node next() stepped to. */
  path = "";
  node!: ZNode;

  constructor(
    private readonly tree: DataTree,
    /** The zxid the tree was at: a node whose czxid is later was created after the capture. */
    private readonly createdUpTo: Zxid,
  ) {
    this.size = tree.size;
    this.digest = tree.digest();
    this.end = tree.nodes.slotCount;
    this.skipped = tree.nodes.skipped; // fixed while held
    tree.nodes.hold();
  }

  /**
   * Steps to the next node of the tree as captured (path and node), parents before children;
   * false once every one was visited.
   */
  next(): boolean {
    const nodes = this.tree.nodes;
    while (this.slot < this.end) {
      if (this.slot === this.skipped.start && this.skipped.end > this.slot) {
        this.slot = this.skipped.end;
        continue;
      }
      const slot = this.slot++;
      const node = nodes.slotValue(slot);
      // Died before the capture, while no capture held the slots.
      if (node === undefined) continue;
      // A slot is of a node live at the capture if that node is live still, or was deleted since
      // (it left a copy); otherwise it was deleted before.
      const copy = this.earlier.get(node);
      if (copy === undefined && !nodes.isLive(slot)) continue;
      this.path = nodes.slotPath(slot);
      this.node = copy ?? node;
      return true;
    }
    return false;
  }

  /** How many nodes changed since the capture (what it holds on to). */
  get changedSince(): number {
    return this.earlier.size;
  }

  /** Called by the tree before `node` changes or goes. */
  keep(node: ZNode): void {
    if (node.czxid <= this.createdUpTo && !this.earlier.has(node)) {
      this.earlier.set(node, { ...node });
    }
  }

  /** The tree stops keeping copies for this capture (its slots may be swept again). */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.tree.release(this);
  }
}

export class DataTree {
  readonly nodes = new PathMap<ZNode>();
  /** Paths of each session's ephemerals, in creation order. */
  readonly ephemerals = new Map<SessionId, Set<string>>();
  readonly containers = new Set<string>();
  readonly ttls = new Set<string>();
  /** Sums of the nodes' hashes as last computed: stale nodes are recounted by digest(). */
  private digestHigh = 0;
  private digestLow = 0;
  /**
   * Nodes changed since their hash was computed, with their paths. Hashing at every change was a
   * tenth of the core's time in a 3-replica commit, while the digest is read only by snapshots and
   * checks: a node changed many times between reads is hashed once, one created and deleted not at
   * all.
   */
  private stalePaths: string[] = [];
  private staleNodes: ZNode[] = [];
  private readonly aclCache = new Map<string, readonly Acl[]>();
  /** Open captures: each gets a copy of a node before it first changes (usually none open). */
  private captures: TreeCapture[] = [];
  private lastInterned: readonly Acl[] | undefined;
  /** The parent of the last node restoreNode put back (a snapshot restores siblings in a row). */
  private restoreParentPath: string | undefined;
  private restoreParent: ZNode | undefined;

  constructor(readonly options: TreeOptions) {
    // ZooKeeper's fresh tree: /, /zookeeper, /zookeeper/quota (open ACL) and /zookeeper/config
    // (world-readable only), all with zeroed stats and no cversion change for these children.
    this.insertSystemNode(rootPath, openAclUnsafe);
    this.insertSystemNode(procPath, openAclUnsafe);
    this.insertSystemNode(quotaPath, openAclUnsafe);
    this.insertSystemNode(configPath, readAclUnsafe);
    // ZooKeeper sets the config node's ACL with version -1 after creating it, leaving aversion -1.
    this.mustGet(configPath).aversion = -1;
    this.markStale(configPath, this.mustGet(configPath));
  }

  private insertSystemNode(path: string, acl: readonly Acl[]): void {
    const node = this.newNode(emptyBytes, acl, zeroZxid, 0, 0n);
    node.pzxid = zeroZxid;
    if (path !== rootPath) this.addChild(this.mustGet(parentPath(path)), childName(path));
    this.nodes.set(path, node);
    this.markStale(path, node);
  }

  get size(): number {
    return this.nodes.size;
  }

  /** The tree as it is now, at `appliedZxid`, kept readable until released (TreeCapture). */
  capture(appliedZxid: Zxid): TreeCapture {
    const capture = new TreeCapture(this, appliedZxid);
    this.captures = [...this.captures, capture];
    return capture;
  }

  release(capture: TreeCapture): void {
    this.captures = this.captures.filter((c) => c !== capture);
    this.nodes.release();
  }

  /** Before `node` changes or goes: every open capture keeps it as it was. */
  private beforeChange(node: ZNode): void {
    for (const capture of this.captures) capture.keep(node);
  }

  get(path: string): ZNode | undefined {
    return this.nodes.get(path);
  }

  mustGet(path: string): ZNode {
    const node = this.nodes.get(path);
    // Not assert(): its message would be built on every write.
    if (node === undefined) throw new InvariantViolation(`node ${path} exists`);
    return node;
  }

  /** The tree digest as a 64-bit value; equal trees have equal digests. */
  digest(): bigint {
    this.recountStale();
    return (BigInt(this.digestHigh >>> 0) << 32n) | BigInt(this.digestLow >>> 0);
  }

  /** Shares identical ACL lists between nodes, as ZooKeeper's ReferenceCountedACLCache does. */
  internAcl(acl: readonly Acl[]): readonly Acl[] {
    // Most writes carry the same ACL as the one before (a replayed log: every create): compare
    // with it before building the cache key.
    const last = this.lastInterned;
    if (last !== undefined && sameAcl(acl, last)) return last;
    this.lastInterned = this.internAclByKey(acl);
    return this.lastInterned;
  }

  private internAclByKey(acl: readonly Acl[]): readonly Acl[] {
    const key = acl.map((a) => `${a.perms},${a.id.scheme},${a.id.id}`).join("\n");
    let interned = this.aclCache.get(key);
    if (interned === undefined) {
      interned = Object.freeze(
        acl.map((a) => Object.freeze({ perms: a.perms, id: Object.freeze({ ...a.id }) })),
      );
      this.aclCache.set(key, interned);
    }
    return interned;
  }

  private newNode(
    data: ZnodeData,
    acl: readonly Acl[],
    z: Zxid,
    timeMs: number,
    owner: bigint,
  ): ZNode {
    return {
      data,
      acl: this.internAcl(acl),
      czxid: z,
      mzxid: z,
      pzxid: z,
      ctime: timeMs,
      mtime: timeMs,
      version: 0,
      cversion: 0,
      aversion: 0,
      ephemeralOwner: owner,
      children: null,
      hashHigh: 0,
      hashLow: 0,
      hashStale: false,
    };
  }

  /** Lists the child; true when it was not listed. */
  private addChild(parent: ZNode, name: string): boolean {
    if (parent.children === null) parent.children = new NameSet();
    return parent.children.add(name);
  }

  /** Creates a node (DataTree.createNode); the parent's cversion only moves forward. */
  createNode(args: {
    path: string;
    data: ZnodeData;
    acl: readonly Acl[];
    ephemeralOwner: bigint;
    parentCversion: number;
    zxid: Zxid;
    timeMs: number;
  }): WatchTrigger[] {
    const parentName = parentPath(args.path);
    const parent = this.mustGet(parentName);
    const node = this.newNode(args.data, args.acl, args.zxid, args.timeMs, args.ephemeralOwner);
    // The checks that the node is new are the inserts themselves: a lookup before each cost as
    // much as the insert, for a path never seen before.
    if (!this.nodes.set(args.path, node)) {
      throw new InvariantViolation(`create ${args.path}: node is new`);
    }
    if (this.captures.length !== 0) this.beforeChange(parent);
    assert(this.addChild(parent, childName(args.path)), "child is new");
    if (args.parentCversion > parent.cversion) {
      parent.cversion = args.parentCversion;
      parent.pzxid = args.zxid;
    }
    this.markStale(parentName, parent);
    this.markStale(args.path, node);
    this.indexOwner(args.path, args.ephemeralOwner, true);
    return [
      { type: "NodeCreated", path: args.path },
      { type: "NodeChildrenChanged", path: parentName },
    ];
  }

  /** Deletes a node (DataTree.deleteNode): the parent's pzxid moves, its cversion does not. */
  deleteNode(path: string, z: Zxid): WatchTrigger[] {
    const node = this.mustGet(path);
    if (node.children !== null && node.children.size !== 0) {
      throw new InvariantViolation(`delete ${path}: node has no children`);
    }
    const parentName = parentPath(path);
    const parent = this.mustGet(parentName);
    if (this.captures.length !== 0) {
      this.beforeChange(parent);
      this.beforeChange(node);
    }
    assert(parent.children !== null && parent.children.delete(childName(path)), "child was listed");
    if (z > parent.pzxid) parent.pzxid = z;
    this.markStale(parentName, parent);
    this.unhash(node);
    this.nodes.delete(path);
    this.indexOwner(path, node.ephemeralOwner, false);
    return [
      { type: "NodeDeleted", path },
      { type: "NodeChildrenChanged", path: parentName },
    ];
  }

  /**
   * Puts a node back exactly as a snapshot recorded it (stat included), adopting the object given
   * (children null, its acl from internAcl). Snapshots list parents before children, so the parent
   * is always there; system nodes already exist and are overwritten in place.
   */
  restoreNode(path: string, node: ZNode): void {
    if (isSpecialPath(path)) {
      const existing = this.mustGet(path);
      if (this.captures.length !== 0) this.beforeChange(existing);
      this.unhash(existing);
      Object.assign(existing, node, {
        children: existing.children,
        hashHigh: 0,
        hashLow: 0,
        hashStale: false,
      });
      this.hashNow(path, existing);
      return;
    }
    const parentName = parentPath(path);
    // Snapshots hold siblings together: most nodes have the previous node's parent.
    if (parentName !== this.restoreParentPath) {
      this.restoreParent = this.mustGet(parentName);
      this.restoreParentPath = parentName;
    }
    this.addChild(this.restoreParent!, childName(path));
    this.nodes.set(path, node);
    this.hashNow(path, node);
    this.indexOwner(path, node.ephemeralOwner, true);
  }

  setData(path: string, data: ZnodeData, version: number, z: Zxid, timeMs: number): WatchTrigger[] {
    const node = this.mustGet(path);
    if (this.captures.length !== 0) this.beforeChange(node);
    node.data = data;
    node.version = version;
    node.mzxid = z;
    node.mtime = timeMs;
    this.markStale(path, node);
    return [{ type: "NodeDataChanged", path }];
  }

  setAcl(path: string, acl: readonly Acl[], aversion: number): void {
    const node = this.mustGet(path);
    if (this.captures.length !== 0) this.beforeChange(node);
    node.acl = this.internAcl(acl);
    node.aversion = aversion;
    this.markStale(path, node);
  }

  private indexOwner(path: string, owner: bigint, add: boolean): void {
    const kind = ephemeralKind(owner, this.options.extendedTypesEnabled);
    if (kind === "container") {
      if (add) this.containers.add(path);
      else this.containers.delete(path);
    } else if (kind === "ttl") {
      if (add) this.ttls.add(path);
      else this.ttls.delete(path);
    } else if (kind === "session") {
      const sessionIdValue = owner as SessionId;
      let paths = this.ephemerals.get(sessionIdValue);
      if (add) {
        if (paths === undefined) this.ephemerals.set(sessionIdValue, (paths = new Set()));
        paths.add(path);
      } else if (paths !== undefined) {
        paths.delete(path);
        if (paths.size === 0) this.ephemerals.delete(sessionIdValue);
      }
    }
  }

  /** Takes a node's hash out of the sums (it is being deleted, or about to be recounted). */
  private unhash(node: ZNode): void {
    this.digestHigh = (this.digestHigh - node.hashHigh) | 0;
    this.digestLow = (this.digestLow - node.hashLow) | 0;
    node.hashStale = false;
  }

  private hashNow(path: string, node: ZNode): void {
    this.unhash(node);
    hashNode(path, node);
    this.digestHigh = (this.digestHigh + node.hashHigh) | 0;
    this.digestLow = (this.digestLow + node.hashLow) | 0;
  }

  /** `node` at `path` changed: its hash is recounted when the digest is next asked for. */
  private markStale(path: string, node: ZNode): void {
    if (node.hashStale) return;
    node.hashStale = true;
    this.stalePaths.push(path);
    this.staleNodes.push(node);
    if (this.staleNodes.length >= staleRecountLimit) this.recountStale();
  }

  private recountStale(): void {
    const nodes = this.staleNodes;
    if (nodes.length === 0) return;
    const paths = this.stalePaths;
    for (let i = 0; i < nodes.length; i++) {
      const node = nodes[i]!;
      // Not stale any more: deleted since (unhash took its hash out of the sums).
      if (node.hashStale) this.hashNow(paths[i]!, node);
    }
    this.staleNodes = [];
    this.stalePaths = [];
  }

  /**
   * Recomputes the digest from scratch; equal to digest() unless the incremental upkeep is wrong.
   */
  recomputeDigest(): bigint {
    this.recountStale();
    let high = 0;
    let low = 0;
    for (const [path, node] of this.nodes) {
      const saved = [node.hashHigh, node.hashLow] as const;
      hashNode(path, node);
      assert(
        node.hashHigh === saved[0] && node.hashLow === saved[1],
        `cached hash of ${path} is current`,
      );
      high = (high + node.hashHigh) | 0;
      low = (low + node.hashLow) | 0;
    }
    return (BigInt(high >>> 0) << 32n) | BigInt(low >>> 0);
  }
}

function sameAcl(a: readonly Acl[], b: readonly Acl[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.perms !== y.perms || x.id.scheme !== y.id.scheme || x.id.id !== y.id.id) return false;
  }
  return true;
}

// Two independent 32-bit FNV-1a style lanes (different offsets, multiply-xorshift finalizer):
// cheap, deterministic, and enough to tell replicas apart; not a cryptographic commitment.
function mix(h: number, v: number): number {
  h = Math.imul(h ^ (v & 0xffff), 0x01000193);
  return Math.imul(h ^ (v >>> 16), 0x01000193);
}

// Scratch space to split a 64-bit value into halves without allocating BigInts on every hash.
const split64 = new DataView(new ArrayBuffer(8));

/** The two lanes of the hash being computed, for the helpers below (no pair per value). */
let laneA = 0;
let laneB = 0;

function mixBigLanes(v: bigint): void {
  split64.setBigUint64(0, v); // takes v modulo 2^64, as BigInt.asUintN(64, v)
  const lo = split64.getUint32(4);
  const hi = split64.getUint32(0);
  laneA = mix(mix(laneA, lo), hi);
  laneB = mix(mix(laneB, lo), hi);
}

/** The second lane is salted for numbers, as it always was. */
function mixNumberLanes(v: number): void {
  // Versions and lengths are 32-bit: the same halves without a division.
  const small = (v | 0) === v;
  const lo = small ? v : v % 4294967296;
  const hi = small ? (v < 0 ? -1 : 0) : Math.floor(v / 4294967296);
  laneA = mix(mix(laneA, lo), hi);
  laneB = mix(mix(laneB ^ 0x5bd1e995, lo), hi);
}

function finalize(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

const nullDataMark = 0x6e756c6c; // "null"

function hashNode(path: string, node: ZNode): void {
  let a = 0x811c9dc5;
  let b = 0x050c5d1f;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193);
  }
  const data = node.data ?? emptyBytes;
  for (let i = 0; i < data.length; i++) {
    a = Math.imul(a ^ data[i]!, 0x01000193);
    b = Math.imul(b ^ data[i]!, 0x01000193);
  }
  // Null data hashes apart from empty data (replicas must agree on which a node holds); nodes with
  // data hash as they always did, so the digests in existing snapshots still check.
  if (node.data === null) {
    a = mix(a, nullDataMark);
    b = mix(b, nullDataMark);
  }
  // Written out, not looped over arrays: this runs for every node restored and every change.
  // Each value is split once for both lanes (the same mixes as one split per lane).
  laneA = a;
  laneB = b;
  mixBigLanes(node.czxid);
  mixBigLanes(node.mzxid);
  mixBigLanes(node.pzxid);
  mixBigLanes(node.ephemeralOwner);
  mixNumberLanes(node.ctime);
  mixNumberLanes(node.mtime);
  mixNumberLanes(node.version);
  mixNumberLanes(node.cversion);
  mixNumberLanes(node.aversion);
  mixNumberLanes(data.length);
  a = laneA;
  b = laneB;
  node.hashHigh = finalize(a);
  node.hashLow = finalize(b ^ 0x27d4eb2f);
}
