// The simulator's agenda: events ordered by virtual time, ties broken by insertion order, so a
// run is a pure function of its seed.

export interface Scheduled<T> {
  atMs: number;
  seq: number;
  event: T;
}

export class Agenda<T> {
  private readonly heap: Scheduled<T>[] = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  // Sifts move a hole instead of swapping pairs: the agenda holds every timer of every client,
  // and each event passes through it twice. The order is (atMs, seq) either way.
  push(atMs: number, event: T): void {
    const item = { atMs, seq: this.seq++, event };
    const heap = this.heap;
    let i = heap.length;
    heap.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const above = heap[parent]!;
      if (!before(item, above)) break;
      heap[i] = above;
      i = parent;
    }
    heap[i] = item;
  }

  pop(): Scheduled<T> | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined || heap.length === 0) return top;
    const size = heap.length;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= size) break;
      const r = l + 1;
      const child = r < size && before(heap[r]!, heap[l]!) ? r : l;
      const below = heap[child]!;
      if (!before(below, last)) break;
      heap[i] = below;
      i = child;
    }
    heap[i] = last;
    return top;
  }

  peekTime(): number | undefined {
    return this.heap[0]?.atMs;
  }
}

function before<T>(a: Scheduled<T>, b: Scheduled<T>): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq);
}
