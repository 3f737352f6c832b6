// The tree's path -> node index. V8's Map keeps deleted entries in their hash chains until it
// rehashes, so a large Map that keeps deleting and re-creating the same key (a lock node, a fixed
// ephemeral name) walks ever longer chains: measured 110k set+delete pairs/s at 1M keys, against
// 2.8M/s and more for a dictionary-mode object. Lookups cost about the same either way.
// Iteration is in insertion order (paths are never integer-like keys), which snapshots rely on:
// a parent is always inserted before its children.

export class PathMap<V> implements Iterable<[string, V]> {
  private readonly entries: Record<string, V> = Object.create(null) as Record<string, V>;
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(path: string): V | undefined {
    return this.entries[path];
  }

  has(path: string): boolean {
    return this.entries[path] !== undefined;
  }

  set(path: string, value: V): void {
    if (this.entries[path] === undefined) this.count++;
    this.entries[path] = value;
  }

  delete(path: string): boolean {
    if (this.entries[path] === undefined) return false;
    delete this.entries[path];
    this.count--;
    return true;
  }

  /** Every path, in insertion order. */
  keys(): string[] {
    return Object.keys(this.entries);
  }

  /** Every entry in insertion order, without a generator or a [path, value] pair per entry. */
  forEach(visit: (value: V, path: string) => void): void {
    const entries = this.entries;
    for (const path in entries) visit(entries[path]!, path);
  }

  *[Symbol.iterator](): Iterator<[string, V]> {
    const entries = this.entries;
    for (const path in entries) yield [path, entries[path]!];
  }
}

/**
 * A node's child names, for the same reason: a parent with many children and one name re-created.
 */
export class NameSet implements Iterable<string> {
  private readonly names: Record<string, true> = Object.create(null) as Record<string, true>;
  private count = 0;

  get size(): number {
    return this.count;
  }

  has(name: string): boolean {
    return this.names[name] === true;
  }

  add(name: string): void {
    if (this.names[name] === true) return;
    this.names[name] = true;
    this.count++;
  }

  delete(name: string): boolean {
    if (this.names[name] !== true) return false;
    delete this.names[name];
    this.count--;
    return true;
  }

  [Symbol.iterator](): Iterator<string> {
    return Object.keys(this.names)[Symbol.iterator]();
  }
}
