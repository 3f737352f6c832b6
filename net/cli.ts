#!/usr/bin/env node
// zk-sim: the package's one command. `zk-sim server [zoo.cfg]`, `zk-sim sim ...`,
// `zk-sim check ...`, `zk-sim jepsen ...` run the same programs as `npm start`, `npm run sim`,
// `npm run check` and `npm run jepsen`, from the compiled package or from the sources.

import { fileURLToPath } from "node:url";

const usage = `usage: zk-sim <command> [options]

commands:
  server [zoo.cfg]    a ZooKeeper-compatible server: standalone on embedded defaults (port 2181,
                      data in ./data), or as the zoo.cfg says (standalone or an ensemble member)
  sim [options]       seeded simulation runs of the replicated core under faults
  check <history>     check a client history (JSON Lines) for linearizability and ZooKeeper's
                      session guarantees
  jepsen [options]    a 3-server ensemble of real processes under kill -9 and SIGSTOP, checked

zk-sim <command> --help describes a command's options.
`;

const help: Record<string, string> = {
  server: `usage: zk-sim server [zoo.cfg]

Serves ZooKeeper's wire protocol. Without a zoo.cfg: tickTime=2000, clientPort=2181,
dataDir=./data, metrics on port 7000. JSON logs on stderr (ZKSIM_LOG_LEVEL=debug|info|warn|error).
Exit status 2: a zoo.cfg the server refuses; 3: a port it cannot listen on. Stops on SIGINT/SIGTERM.
`,
  sim: `usage: zk-sim sim [--seed N | --seeds A..B] [options]

  --seed N            one run with this seed (default: a random one)
  --seeds A..B        a sweep over seeds A to B on every core; prints failing seeds
  --nodes N           servers in the simulated ensemble
  --clients N         simulated clients
  --safety-ms MS      length of the phase with faults
  --no-faults         no faults at all
  --trace FILE        write the event trace
  --history FILE      write the client history (JSON Lines)
  --report DIR        write the checker's HTML report
Exit status 1 when a run violates an invariant or the history checker rejects it.
`,
  check: `usage: zk-sim check <history.jsonl> [options]

  --out DIR           write the verdict and a self-contained HTML report there
  --mode M            zookeeper (default: ZooKeeper's own guarantees) or strict (linearizable reads)
  --steps-max N       give up the search after N steps (verdict unknown)
  --time-limit-s S    give up after S seconds (verdict unknown)
Exit status 0 valid, 1 invalid, 2 unknown.
`,
  jepsen: `usage: zk-sim jepsen [options]

  --seconds S         how long the nemesis runs (kill -9, SIGSTOP of servers)
  --seed N            the nemesis's and workload's seed
  --clients N         wire-protocol clients
  --keys N            keys the workload uses
  --out DIR           write the history and the checker's report there
`,
};

const programs: Record<string, { path: string; load: () => Promise<unknown> }> = {
  server: { path: "./main", load: () => import("./main.ts") },
  sim: { path: "../sim/cli", load: () => import("../sim/cli.ts") },
  check: { path: "../jepsen-like/cli", load: () => import("../jepsen-like/cli.ts") },
  jepsen: {
    path: "../jepsen-like/real/real-cluster",
    load: () => import("../jepsen-like/real/real-cluster.ts"),
  },
};

const [command, ...rest] = process.argv.slice(2);
if (command === undefined || command === "--help" || command === "-h" || command === "help") {
  process.stdout.write(usage);
  process.exitCode = command === undefined ? 1 : 0;
} else if (programs[command] === undefined) {
  process.stderr.write(`zk-sim: unknown command ${JSON.stringify(command)}\n\n${usage}`);
  process.exitCode = 1;
} else if (rest.includes("--help") || rest.includes("-h")) {
  process.stdout.write(help[command]!);
} else {
  const program = programs[command]!;
  // Each program reads its arguments from process.argv and, for two of them, runs only when it is
  // the script named there: it is given the argv it would have had as the script itself.
  const extension = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
  const script = fileURLToPath(new URL(`${program.path}${extension}`, import.meta.url));
  process.argv = [process.argv[0]!, script, ...rest];
  await program.load();
}
