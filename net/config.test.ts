import { describe, expect, it } from "vitest";
import { applyEnvironment, ConfigError, parseZooCfg } from "./config.ts";

const sample = `
# The number of milliseconds of each tick
tickTime=2000
initLimit=10
syncLimit=5
dataDir=/var/lib/zookeeper
clientPort=2181
maxClientCnxns=60
autopurge.snapRetainCount=3
autopurge.purgeInterval=1
4lw.commands.whitelist=ruok, srvr ,mntr
server.1=zk1.example:2888:3888
server.2=zk2.example:2888:3888;2182
server.3=zk3.example:2888:3888:observer;0.0.0.0:2183
admin.enableServer=false
`;

describe("net: zoo.cfg", () => {
  it("reads ZooKeeper's sample file unchanged", () => {
    const { config, warnings } = parseZooCfg(sample);
    expect(warnings).toEqual([
      "zoo.cfg: server.3 is an observer; observers are not supported, " +
        "it runs as a voting participant (the quorum counts it)",
    ]);
    expect(config).toMatchObject({
      tickTime: 2000,
      initLimit: 10,
      syncLimit: 5,
      dataDir: "/var/lib/zookeeper",
      dataLogDir: "/var/lib/zookeeper",
      clientPort: 2181,
      maxClientCnxns: 60,
      minSessionTimeout: 4000,
      maxSessionTimeout: 40000,
      autopurgePurgeIntervalHours: 1,
    });
    expect([...config.fourLetterWordWhitelist]).toEqual(["ruok", "srvr", "mntr"]);
    expect(config.servers).toEqual([
      {
        id: 1,
        host: "zk1.example",
        peerPort: 2888,
        electionPort: 3888,
        role: "participant",
        clientHost: undefined,
        clientPort: undefined,
      },
      {
        id: 2,
        host: "zk2.example",
        peerPort: 2888,
        electionPort: 3888,
        role: "participant",
        clientHost: undefined,
        clientPort: 2182,
      },
      {
        id: 3,
        host: "zk3.example",
        peerPort: 2888,
        electionPort: 3888,
        role: "observer",
        clientHost: "0.0.0.0",
        clientPort: 2183,
      },
    ]);
  });

  it("defaults to ZooKeeper's: only srvr whitelisted, 2x..20x tickTime session timeouts", () => {
    const { config } = parseZooCfg("tickTime=3000");
    expect([...config.fourLetterWordWhitelist]).toEqual(["srvr"]);
    expect([config.minSessionTimeout, config.maxSessionTimeout]).toEqual([6000, 60000]);
    expect(parseZooCfg("4lw.commands.whitelist=*").config.fourLetterWordWhitelist.has("wchs")).toBe(
      true,
    );
    expect(config.globalOutstandingLimit).toBe(1000);
    expect(parseZooCfg("globalOutstandingLimit=50").config.globalOutstandingLimit).toBe(50);
    expect(() => parseZooCfg("globalOutstandingLimit=0")).toThrow(/globalOutstandingLimit/);
  });

  it("reads reconfigEnabled (default off); an ensemble warns reconfig is not implemented", () => {
    expect(parseZooCfg("").config.reconfigEnabled).toBe(false);
    const standalone = parseZooCfg("reconfigEnabled=true");
    expect(standalone).toMatchObject({ config: { reconfigEnabled: true }, warnings: [] });
    const ensemble = parseZooCfg("reconfigEnabled=true\nserver.1=a:1:2\nserver.2=b:1:2");
    expect(ensemble.warnings).toEqual([expect.stringMatching(/reconfigEnabled.*not implemented/)]);
    expect(() => parseZooCfg("reconfigEnabled=maybe")).toThrow(/reconfigEnabled/);
  });

  it("warns on unknown keys and names the key of a bad value", () => {
    expect(parseZooCfg("tickTyme=2000").warnings).toEqual([
      'zoo.cfg: unknown key "tickTyme" ignored',
    ]);
    const bad: [string, string][] = [
      ["tickTime=fast", "tickTime"],
      ["clientPort=70000", "clientPort"],
      ["server.1=host:2888", "server.1"],
      ["server.0=h:1:2", "server.0"],
      ["4lw.commands.whitelist=ruok,nope", "4lw.commands.whitelist"],
      ["minSessionTimeout=9000\nmaxSessionTimeout=4000", "minSessionTimeout"],
      ["extendedTypesEnabled=maybe", "extendedTypesEnabled"],
      ["server.1=a:1:2\nserver.1=b:1:2", "server.1"],
      ["superDigest=nocolon", "superDigest"],
    ];
    for (const [text, key] of bad) {
      expect(() => parseZooCfg(text), text).toThrow(ConfigError);
      try {
        parseZooCfg(text);
      } catch (error) {
        expect((error as ConfigError).key).toBe(key);
      }
    }
  });

  it("takes the log level from zksim.logLevel, and from ZKSIM_LOG_LEVEL over the file", () => {
    expect(parseZooCfg("").config.logLevel).toBe("info");
    const { config } = parseZooCfg("zksim.logLevel=WARN");
    expect(config.logLevel).toBe("warn");
    applyEnvironment(config, { ZKSIM_LOG_LEVEL: "debug" });
    expect(config.logLevel).toBe("debug");
    applyEnvironment(config, {});
    expect(config.logLevel).toBe("debug");
    expect(() => parseZooCfg("zksim.logLevel=loud")).toThrow(
      /zksim\.logLevel: expected one of debug, info, warn, error/,
    );
    expect(() => applyEnvironment(config, { ZKSIM_LOG_LEVEL: "trace" })).toThrow(
      /^environment: ZKSIM_LOG_LEVEL/,
    );
  });

  it("does not repeat a malformed superDigest in its error (it is a credential)", () => {
    expect(() => parseZooCfg("superDigest=s3cretNoColon")).toThrow(ConfigError);
    try {
      parseZooCfg("superDigest=s3cretNoColon");
    } catch (error) {
      expect((error as Error).message).not.toContain("s3cretNoColon");
    }
  });
});
