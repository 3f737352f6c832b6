// Latency histogram in microseconds, log-linear (HdrHistogram's layout with 64 sub-buckets per
// power of two, so every bucket is within 1.6% of its values). A fixed Uint32Array: recording costs
// no allocation on the hot path, and the main thread merges the workers' copies by adding them.

export const bucketCount = 1664;

export function bucketOf(micros: number): number {
  const v = micros < 0 ? 0 : micros > 0x7fffffff ? 0x7fffffff : Math.floor(micros);
  if (v < 128) return v;
  const shift = 31 - Math.clz32(v) - 6;
  return shift * 64 + (v >>> shift);
}

/** The smallest value that falls into bucket `i`. */
export function bucketLow(i: number): number {
  if (i < 128) return i;
  const shift = (i >> 6) - 1;
  return ((i & 63) + 64) * 2 ** shift;
}

/** The middle of bucket `i`, what a percentile reports. */
export function bucketMid(i: number): number {
  return i < 128 ? i : (bucketLow(i) + bucketLow(i + 1) - 1) / 2;
}

export function newHistogram(): Uint32Array {
  return new Uint32Array(bucketCount);
}

export function mergeInto(into: Uint32Array, from: Uint32Array): void {
  for (let i = 0; i < bucketCount; i++) into[i]! += from[i]!;
}

export function totalCount(h: Uint32Array): number {
  let n = 0;
  for (let i = 0; i < bucketCount; i++) n += h[i]!;
  return n;
}

/** The value (µs) below which `p` percent of the recorded values lie. */
export function percentile(h: Uint32Array, p: number): number {
  const n = totalCount(h);
  if (n === 0) return NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * n));
  let seen = 0;
  for (let i = 0; i < bucketCount; i++) {
    seen += h[i]!;
    if (seen >= rank) return bucketMid(i);
  }
  return NaN;
}

/** (value µs, cumulative fraction) at every non-empty bucket, for CDF plots. */
export function cdfPoints(h: Uint32Array): [number, number][] {
  const n = totalCount(h);
  const points: [number, number][] = [];
  let seen = 0;
  for (let i = 0; i < bucketCount; i++) {
    if (h[i] === 0) continue;
    seen += h[i]!;
    points.push([bucketMid(i), seen / n]);
  }
  return points;
}
