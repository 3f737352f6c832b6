// Node flags a server process starts with: V8 reads them only at start, so every launcher in the
// project (npm start, the ensemble and test harnesses, the benchmarks) passes them.

/**
 * A young generation of 8 MiB semi-spaces instead of V8's 16: under write load about a tenth of
 * what a member allocates outlives a scavenge, so a scavenge's pause grows with the semi-space
 * (median 3.4 ms at 16 MiB, 2.2 ms at 8 on a 3-node setData run at 16x16) while the time spent in
 * scavenges stays the same. Interleaved, 5 fresh ensembles each, medians: setData 42.6k against
 * 40.0k ops/s, create+delete 34.4k against 32.9k, write p99 a little lower for both.
 */
export const serverNodeFlags: readonly string[] = ["--max-semi-space-size=8"];
