// npm run server [-- zoo.cfg]     a standalone server on embedded defaults (port 2181, data under
//                                 ./data), or whatever the given zoo.cfg says (an ensemble member)
// Clean shutdown on SIGTERM/SIGINT: sockets closed, the log made durable.

import { readFileSync } from "node:fs";
import { ConfigError, parseZooCfg } from "./config.ts";
import { jsonLogger } from "./log.ts";
import { ZkServer } from "./server.ts";

const embeddedDefaults = "tickTime=2000\ninitLimit=10\nsyncLimit=5\ndataDir=./data\nclientPort=2181\n4lw.commands.whitelist=*\nmetricsProvider.httpPort=7000\n";

async function main(): Promise<void> {
  const path = process.argv[2];
  let parsed;
  try {
    parsed = parseZooCfg(path === undefined ? embeddedDefaults : readFileSync(path, "utf8"));
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
  const log = jsonLogger({ server: parsed.config.myid ?? 1 });
  for (const warning of parsed.warnings) log("warn", warning);
  const server = new ZkServer(parsed.config, log);
  await server.start();
  const shutdown = (signal: string) => {
    log("info", "shutting down", { signal });
    void server.stop().then(() => process.exit(0));
  };
  process.once("SIGTERM", () => shutdown("SIGTERM"));
  process.once("SIGINT", () => shutdown("SIGINT"));
}

await main();
