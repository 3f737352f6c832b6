import { afterAll, describe, expect, it } from "vitest";
import type { TestEnsemble } from "./test/ensemble.ts";
import { freePort, startEnsemble } from "./test/ensemble.ts";

let ensemble: TestEnsemble | undefined;
afterAll(async () => ensemble?.stop());

describe("net: Prometheus metrics", () => {
  it("serves the server's gauges at /metrics", async () => {
    const port = await freePort();
    ensemble = await startEnsemble(1, `metricsProvider.httpPort=${port}`);
    const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(body).toMatch(/^zk_znode_count 4$/m);
    expect(body).toMatch(/^zk_is_leader 1$/m);
    expect(body).toContain("zk_process_");
    expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
  }, 30_000);
});
