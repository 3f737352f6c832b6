// The tree's path -> node index. V8's Map keeps deleted entries in their hash chains until it
// rehashes, so a large Map that keeps deleting and re-creating the same key (a lock node, a fixed
// ephemeral name) walks ever longer chains: measured 110k set+delete pairs/s at 1M keys, against
// 2.8M/s and more for a dictionary-mode object. Lookups cost about the same either way.
// Iteration is in insertion order, which snapshots rely on: a parent is always inserted before its
// children.

export class PathMap<V> implements Iterable<[string, V]> {
  private readonly entries: Record<string, V> = Object.create(null) as Record<string, V>;
  private count = 0;
  /**
   * Every value set, with its path, in the order set: slot i is live while entries[its path] is
   * its value. Deleting leaves a dead slot behind; they are swept out when they outnumber the
   * live ones, unless a reader holds slot numbers (hold). Iteration walks these, in insertion
   * order, and a snapshot can go through the slots of one moment while the map changes:
   * listing the keys of a dictionary of a million paths took the event loop a second.
   */
  private slotPaths: string[] = [];
  private slotValues: V[] = [];
  private holders = 0;

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
    const old = this.entries[path];
    if (old === value) return;
    if (old === undefined) this.count++;
    this.entries[path] = value;
    this.slotPaths.push(path);
    this.slotValues.push(value);
  }

  delete(path: string): boolean {
    if (this.entries[path] === undefined) return false;
    delete this.entries[path];
    this.count--;
    if (this.holders === 0 && this.slotPaths.length > 2 * this.count + 1024) this.sweep();
    return true;
  }

  /** How many slots there are now: a reader holding them sees slots 0 .. slotCount - 1. */
  get slotCount(): number {
    return this.slotPaths.length;
  }

  slotPath(slot: number): string {
    return this.slotPaths[slot]!;
  }

  slotValue(slot: number): V {
    return this.slotValues[slot]!;
  }

  /** Whether the slot's value is still the map's value for its path. */
  isLive(slot: number): boolean {
    return this.entries[this.slotPaths[slot]!] === this.slotValues[slot];
  }

  /** Slot numbers stay as they are until release (no sweep meanwhile). */
  hold(): void {
    this.holders++;
  }

  release(): void {
    this.holders--;
  }

  private sweep(): void {
    const paths: string[] = [];
    const values: V[] = [];
    for (let i = 0; i < this.slotPaths.length; i++) {
      if (!this.isLive(i)) continue;
      paths.push(this.slotPaths[i]!);
      values.push(this.slotValues[i]!);
    }
    this.slotPaths = paths;
    this.slotValues = values;
  }

  /** Every entry in insertion order, without a generator or a [path, value] pair per entry. */
  forEach(visit: (value: V, path: string) => void): void {
    const paths = this.slotPaths;
    const values = this.slotValues;
    const entries = this.entries;
    for (let i = 0; i < paths.length; i++) {
      const path = paths[i]!;
      if (entries[path] === values[i]) visit(values[i]!, path);
    }
  }

  *[Symbol.iterator](): Iterator<[string, V]> {
    for (let i = 0; i < this.slotPaths.length; i++) {
      if (this.isLive(i)) yield [this.slotPaths[i]!, this.slotValues[i]!];
    }
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
