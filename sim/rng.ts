// Seeded randomness for the simulator. Every component gets its own stream, derived from the run's
// seed and the component's name, so adding a draw in one component never reshuffles another.

import seedrandom from "seedrandom";

export class Rng {
  private readonly next: () => number;

  constructor(readonly seed: string) {
    this.next = seedrandom(seed);
  }

  /** A uniform float in [0, 1). */
  float(): number {
    return this.next();
  }

  /** A uniform integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error("pick from an empty list");
    return items[Math.floor(this.next() * items.length)]!;
  }

  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }

  /** Exponentially distributed with the given mean (latencies, fault intervals). */
  exponential(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }

  /** An independent stream for a named component. */
  fork(name: string): Rng {
    return new Rng(`${this.seed}/${name}`);
  }
}
