// The namespace model's tree as a persistent table: paths get small numbers (PathIndex, shared by
// every state of one model) and a state's nodes sit in a 16-way trie over those numbers. A step
// copies only the trie nodes on the changed paths' way down, so the states the search keeps
// (its stack and its cache) share almost everything. With a Map copied per step, a partition of
// a few thousand sequential creates kept thousands of maps of thousands of entries each.

import type { ZNode } from "./semantics.ts";
import { nodesEqual } from "./semantics.ts";

const bits = 4;
const width = 1 << bits;
const mask = width - 1;

type Slot = ZNode | Trie | undefined;
type Trie = readonly Slot[];

/** Numbers for paths, in the order first seen, and each parent's numbered children. */
export class PathIndex {
  private readonly numbers = new Map<string, number>();
  private readonly paths: string[] = [];
  private readonly children = new Map<string, number[]>();

  constructor(private readonly parentOf: (path: string) => string) {}

  number(path: string): number {
    let n = this.numbers.get(path);
    if (n !== undefined) return n;
    n = this.paths.length;
    this.numbers.set(path, n);
    this.paths.push(path);
    if (path !== "/") {
      const parent = this.parentOf(path);
      const list = this.children.get(parent);
      if (list === undefined) this.children.set(parent, [n]);
      else list.push(n);
    }
    return n;
  }

  /** A number only if the path was ever numbered (lookups need not number a path). */
  known(path: string): number | undefined {
    return this.numbers.get(path);
  }

  path(n: number): string {
    return this.paths[n]!;
  }

  get size(): number {
    return this.paths.length;
  }

  childrenOf(parent: string): readonly number[] {
    return this.children.get(parent) ?? [];
  }
}

/** An immutable table from path numbers to nodes. */
export class NodeTable {
  static readonly empty = new NodeTable(0, undefined, 0);

  private constructor(
    private readonly shift: number,
    private readonly root: Trie | undefined,
    /** Nodes present. */
    readonly size: number,
  ) {}

  get(n: number): ZNode | undefined {
    if (this.root === undefined || n >>> (this.shift + bits) !== 0) return undefined;
    let slot: Slot = this.root;
    for (let shift = this.shift; shift > 0 && slot !== undefined; shift -= bits) {
      slot = (slot as Trie)[(n >>> shift) & mask];
    }
    return slot === undefined ? undefined : ((slot as Trie)[n & mask] as ZNode | undefined);
  }

  set(n: number, node: ZNode | undefined): NodeTable {
    const before = this.get(n);
    if (before === node) return this;
    let shift = this.shift;
    let root = this.root;
    while (n >>> (shift + bits) !== 0) {
      root = root === undefined ? undefined : [root];
      shift += bits;
    }
    const size = this.size + (before === undefined ? 1 : 0) - (node === undefined ? 1 : 0);
    return new NodeTable(shift, setIn(root, shift, n, node), size);
  }

  /** Calls `visit` for every present node, in number order. */
  forEach(visit: (n: number, node: ZNode) => void): void {
    if (this.root !== undefined) walk(this.root, this.shift, 0, visit);
  }

  equals(other: NodeTable): boolean {
    if (this.size !== other.size) return false;
    let [a, b] = [this.root, other.root];
    let shift = Math.max(this.shift, other.shift);
    // Bring both to one height: the taller one's extra levels hold nothing but slot 0.
    for (let s = this.shift; s < shift; s += bits) a = a === undefined ? undefined : [a];
    for (let s = other.shift; s < shift; s += bits) b = b === undefined ? undefined : [b];
    return triesEqual(a, b, shift);
  }
}

function setIn(trie: Trie | undefined, shift: number, n: number, node: ZNode | undefined): Trie {
  const copy: Slot[] = trie === undefined ? new Array<Slot>(width).fill(undefined) : trie.slice();
  const at = (n >>> shift) & mask;
  copy[at] = shift === 0 ? node : setIn(copy[at] as Trie | undefined, shift - bits, n, node);
  return copy;
}

function walk(trie: Trie, shift: number, base: number, visit: (n: number, node: ZNode) => void) {
  for (let i = 0; i < width; i++) {
    const slot = trie[i];
    if (slot === undefined) continue;
    const n = base + i * (1 << shift);
    if (shift === 0) visit(n, slot as ZNode);
    else walk(slot as Trie, shift - bits, n, visit);
  }
}

/** Shared subtries are equal at once; an absent subtrie equals one that holds no node. */
function triesEqual(a: Slot, b: Slot, shift: number): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return isEmpty(a ?? b, shift);
  for (let i = 0; i < width; i++) {
    const [x, y] = [(a as Trie)[i], (b as Trie)[i]];
    const same =
      shift === 0
        ? nodesEqual(x as ZNode | undefined, y as ZNode | undefined)
        : triesEqual(x, y, shift - bits);
    if (!same) return false;
  }
  return true;
}

function isEmpty(slot: Slot, shift: number): boolean {
  if (slot === undefined) return true;
  if (shift < 0) return false;
  return (slot as Trie).every((child) => isEmpty(child, shift === 0 ? -1 : shift - bits));
}
