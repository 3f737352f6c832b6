// npm run bench:checker: how long the history checker takes, and how much heap it holds, on
// generated histories of 10k, 100k and 1M operations (10 to 100 clients, keys spread over many
// paths, overlapping intervals, 1% indeterminate ops, plain reads from lagging replicas).
// Target: the 1M-op history checked end to end (validate, pair, partition and search, guarantees)
// in under 5 s on a 2-core machine. The records are generated in memory, laid out in history
// order as a recorder or a parser leaves them, so JSON text parsing is not part of the figure.
// SIZES=10000,100000 limits the run to those sizes.

import { getHeapStatistics, setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { checkPaired } from "../jepsen-like/check.ts";
import { generateDefaults, generateHistory } from "../jepsen-like/test/generate.ts";
import type { HistoryRecord } from "../jepsen-like/history.ts";
import { pairedFromJson } from "../jepsen-like/operations.ts";

interface Size {
  ops: number;
  clients: number;
  paths: number;
}

const sizes: Size[] = [
  { ops: 10_000, clients: 10, paths: 100 },
  { ops: 100_000, clients: 50, paths: 1_000 },
  { ops: 1_000_000, clients: 100, paths: 10_000 },
];

// What process.memoryUsage().heapUsed reports, without also reading the RSS on every partition.
const heapMb = (): number => getHeapStatistics().used_heap_size / 1e6;
const seconds = (fromMs: number): string => ((performance.now() - fromMs) / 1000).toFixed(2);

// A full collection before each heap reading, without asking for node flags.
setFlagsFromString("--expose-gc");
const collect = runInNewContext("gc") as () => void;

let peakMb = 0;

function progress(label: string, done: number, total: number): void {
  peakMb = Math.max(peakMb, heapMb());
  if (done % Math.max(1, Math.floor(total / 10)) === 0)
    console.log(`  ${label}: ${done}/${total} partitions checked, heap ${heapMb().toFixed(0)} MB`);
}

function runSize(size: Size): string {
  const label = `${size.ops / 1000}k ops`;
  console.log(`${label}: ${size.clients} clients, ${size.paths} paths`);
  let started = performance.now();
  let records: HistoryRecord[] | undefined = generateHistory({
    ...generateDefaults,
    seed: 42,
    ...size,
    infoRate: 0.01,
  });
  console.log(`  generated ${records.length} records in ${seconds(started)} s`);
  started = performance.now();
  const history = pairedFromJson(records); // what checkHistory runs
  const formatS = seconds(started);
  records = undefined; // only the paired history stays
  collect();
  const baseMb = heapMb();
  console.log(`  validated and paired in ${formatS} s; heap ${baseMb.toFixed(0)} MB`);
  started = performance.now();
  peakMb = baseMb;
  const { verdict } = checkPaired(history, {
    onProgress: (done, total) => progress(label, done, total),
  });
  const checkS = seconds(started);
  const afterMb = Math.max(peakMb, heapMb());
  const lin = verdict.linearizability;
  const searchS = (verdict.linearizabilityMs / 1000).toFixed(2);
  const guaranteesS = (verdict.guaranteesMs / 1000).toFixed(2);
  const totalS = (Number(formatS) + Number(checkS)).toFixed(2);
  console.log(
    `  checked in ${checkS} s (linearizability ${searchS} s, guarantees ${guaranteesS} s): ` +
      `valid=${verdict.valid}, ${lin.partitions.length} partitions, ` +
      `${lin.steps} search steps; peak heap ${afterMb.toFixed(0)} MB; end to end ${totalS} s`,
  );
  const cells = [
    label,
    size.clients,
    size.paths,
    `${formatS} s`,
    `${searchS} s`,
    `${guaranteesS} s`,
    `${totalS} s`,
    `${baseMb.toFixed(0)} MB`,
    `${afterMb.toFixed(0)} MB`,
    verdict.valid,
  ];
  return `| ${cells.join(" | ")} |`;
}

console.log(
  "End to end: validating and pairing the generated records (in memory, in history order; no " +
    "JSON parsing), then the whole check: linearizability (partitioning and search) and " +
    "every guarantee.\n",
);
const only = process.env.SIZES?.split(",").map(Number);
const rows = sizes.filter((s) => only === undefined || only.includes(s.ops)).map(runSize);
console.log(
  "\n| size | clients | paths | validate+pair | linearizability | guarantees | end to end " +
    "| heap: history | heap: peak while checking | valid |",
);
console.log("|---|---|---|---|---|---|---|---|---|---|");
for (const row of rows) console.log(row);
