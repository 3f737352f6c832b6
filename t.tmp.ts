import { runSimulation, swarmOptions } from "./sim/run.ts";
let v = 0, chk = 0; const t = performance.now();
for (let s = 1; s <= 60; s++) { const r = runSimulation(swarmOptions(s)); v += r.virtualMs; chk += r.check.verdict.elapsedMs; }
const wall = performance.now() - t;
console.log(`${(v / wall).toFixed(0)} sim s per wall s; checker ${(100 * chk / wall).toFixed(1)}% of wall`);
