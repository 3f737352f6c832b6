// Test helper for processes.test.ts: starts a one-server ensemble, prints the server's pid and
// waits, as a test process would, until it is killed.
import { startProcessEnsemble } from "./processes.ts";

const ensemble = await startProcessEnsemble(1);
process.stdout.write(`${JSON.stringify({ pids: ensemble.processes.map((p) => p?.pid) })}\n`);
setInterval(() => {}, 60_000);
