// npm run server [-- zoo.cfg]     a standalone server on embedded defaults (port 2181, data under
//                                 ./data), or whatever the given zoo.cfg says (an ensemble member)
// Clean shutdown on SIGTERM/SIGINT: sockets closed, the log made durable.

import { readFileSync } from "node:fs";
import { applyEnvironment, ConfigError, parseZooCfg } from "./config.ts";
import { keepHeapHeadroom } from "./gc-headroom.ts";
import { jsonLogger } from "./log.ts";
import { ListenError, ZkServer } from "./server.ts";

const embeddedDefaults =
  "tickTime=2000\ninitLimit=10\nsyncLimit=5\ndataDir=./data\nclientPort=2181\n" +
  "4lw.commands.whitelist=*\nmetricsProvider.httpPort=7000\n";

/** Exit statuses: a configuration the server refuses, and a port it cannot listen on. */
const exitBadConfig = 2;
const exitCannotListen = 3;

async function main(): Promise<void> {
  const path = process.argv[2];
  let parsed;
  try {
    parsed = parseZooCfg(path === undefined ? embeddedDefaults : readFileSync(path, "utf8"));
    applyEnvironment(parsed.config, process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(exitBadConfig);
    }
    throw error;
  }
  const log = jsonLogger({ server: parsed.config.myid ?? 1 }, parsed.config.logLevel);
  for (const warning of parsed.warnings) log("warn", warning);
  // Process-wide (a V8 setting), so here and not in the server, which tests run several of.
  if (parsed.config.gcHeadroomMB > 0) keepHeapHeadroom(parsed.config.gcHeadroomMB * 1024 * 1024);
  const server = new ZkServer(parsed.config, log);
  try {
    await server.start();
  } catch (error) {
    if (error instanceof ListenError) {
      const { key, host, port, code } = error;
      log("error", error.message, { key, host, port, code });
      process.exit(exitCannotListen);
    }
    if (error instanceof ConfigError) {
      log("error", error.message, { key: error.key });
      process.exit(exitBadConfig);
    }
    throw error;
  }
  const shutdown = (signal: string) => {
    log("info", "shutting down", { signal });
    void server.stop().then(() => process.exit(0));
  };
  process.once("SIGTERM", () => shutdown("SIGTERM"));
  process.once("SIGINT", () => shutdown("SIGINT"));
}

await main();
