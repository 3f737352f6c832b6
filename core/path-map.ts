// The tree's path -> node index. V8's Map keeps deleted entries in their hash chains until it
// rehashes, so a large Map that keeps deleting and re-creating the same key (a lock node, a fixed
// ephemeral name) walks ever longer chains: measured 110k set+delete pairs/s at 1M keys, against
// 2.8M/s and more for a dictionary-mode object. Lookups cost about the same either way.
// Iteration is in insertion order, which snapshots rely on: a parent is always inserted before its
// children.

export class PathMap<V> implements Iterable<[string, V]> {
  /** Path -> its slot: a small integer, so the dictionary holds no pointer to the value. */
  private readonly entries: Record<string, number> = Object.create(null) as Record<string, number>;
  private count = 0;
  /**
   * Every value set, with its path, in the order set: slot i is live while entries[its path] is i.
   * Deleting leaves a dead slot behind; once they outnumber the live ones a sweep moves the live
   * ones down, a few slots per set or delete (one pass over 2M slots, half of them dead, held the
   * event loop 140 ms), and never while a reader holds slot numbers (hold). The slots the sweep has
   * passed and not yet refilled, [gapStart, gapEnd), hold stale copies and are skipped. Iteration
   * walks these, in insertion order, and a snapshot can go through the slots of one moment while
   * the map changes: listing the keys of a dictionary of a million paths took the event loop a
   * second. A slot dying while no reader holds the slots lets go of its path and value at once:
   * kept until the sweep, every deleted node stayed reachable through about a thousand more
   * changes (up to 2 x live + 1,024 of them).
   */
  private readonly slotPaths: string[] = [];
  private readonly slotValues: (V | undefined)[] = [];
  private holders = 0;
  /** A sweep under way reads at gapEnd and writes at gapStart; none when they are equal. */
  private gapStart = 0;
  private gapEnd = 0;
  private sweeping = false;

  get size(): number {
    return this.count;
  }

  get(path: string): V | undefined {
    const slot = this.entries[path];
    return slot === undefined ? undefined : this.slotValues[slot];
  }

  has(path: string): boolean {
    return this.entries[path] !== undefined;
  }

  /** Sets the path's value; true when the path was not in the map. */
  set(path: string, value: V): boolean {
    const old = this.entries[path];
    if (old === undefined) this.count++;
    else if (this.slotValues[old] === value) return false;
    else if (this.holders === 0) this.forget(old);
    this.entries[path] = this.slotPaths.length;
    this.slotPaths.push(path);
    this.slotValues.push(value);
    if (this.sweeping && this.holders === 0) this.sweepSome();
    return old === undefined;
  }

  delete(path: string): boolean {
    const slot = this.entries[path];
    if (slot === undefined) return false;
    delete this.entries[path];
    this.count--;
    if (this.holders === 0) {
      this.forget(slot);
      if (!this.sweeping && this.slotPaths.length > 2 * this.count + 1024) this.sweeping = true;
      if (this.sweeping) this.sweepSome();
    }
    return true;
  }

  /** A dead slot no reader holds: "" is no path, so the slot stays dead. */
  private forget(slot: number): void {
    this.slotPaths[slot] = "";
    this.slotValues[slot] = undefined;
  }

  /** How many slots there are now: a reader holding them sees slots 0 .. slotCount - 1. */
  get slotCount(): number {
    return this.slotPaths.length;
  }

  /** The slots a reader skips: [start, end), stale until a sweep under way refills them. */
  get skipped(): { start: number; end: number } {
    return { start: this.gapStart, end: this.gapEnd };
  }

  slotPath(slot: number): string {
    return this.slotPaths[slot]!;
  }

  /** The slot's value; undefined once it died while no reader held the slots. */
  slotValue(slot: number): V | undefined {
    return this.slotValues[slot];
  }

  /** Whether the slot's value is still the map's value for its path (outside the skipped ones). */
  isLive(slot: number): boolean {
    return this.entries[this.slotPaths[slot]!] === slot;
  }

  /** Slot numbers stay as they are until release (no sweep meanwhile). */
  hold(): void {
    this.holders++;
  }

  release(): void {
    this.holders--;
  }

  /** Moves a few live slots down: more than a set adds, so the sweep ends. */
  private sweepSome(): void {
    const paths = this.slotPaths;
    const values = this.slotValues;
    const entries = this.entries;
    let read = this.gapEnd;
    let write = this.gapStart;
    const until = Math.min(paths.length, read + sweepSlotsPerChange);
    for (; read < until; read++) {
      const path = paths[read]!;
      if (entries[path] !== read) continue;
      paths[write] = path;
      values[write] = values[read];
      entries[path] = write;
      write++;
    }
    if (read === paths.length) {
      paths.length = write;
      values.length = write;
      this.gapStart = this.gapEnd = 0;
      this.sweeping = false;
    } else {
      this.gapStart = write;
      this.gapEnd = read;
    }
  }

  /** Every entry in insertion order, without a generator or a [path, value] pair per entry. */
  forEach(visit: (value: V, path: string) => void): void {
    const paths = this.slotPaths;
    const values = this.slotValues;
    const entries = this.entries;
    for (let i = 0; i < paths.length; i++) {
      if (i === this.gapStart && this.gapEnd > i) i = this.gapEnd;
      const path = paths[i]!;
      if (entries[path] === i) visit(values[i]!, path);
    }
  }

  *[Symbol.iterator](): Iterator<[string, V]> {
    for (let i = 0; i < this.slotPaths.length; i++) {
      if (i === this.gapStart && this.gapEnd > i) i = this.gapEnd;
      if (this.isLive(i)) yield [this.slotPaths[i]!, this.slotValues[i]!];
    }
  }
}

/** Slots a sweep looks at per set or delete. */
const sweepSlotsPerChange = 64;

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

  /** Adds the name; true when it was not in the set. */
  add(name: string): boolean {
    if (this.names[name] === true) return false;
    this.names[name] = true;
    this.count++;
    return true;
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
