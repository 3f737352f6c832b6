// Test servers are bounded: a test process that dies without its cleanup (killed from outside,
// or torn down by the runner after a timeout) takes its servers with it.

import { spawn } from "node:child_process";
import { once } from "node:events";
import { describe, expect, it } from "vitest";

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function gone(pid: number, withinMs: number): Promise<boolean> {
  for (const deadline = Date.now() + withinMs; Date.now() < deadline; ) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return !alive(pid);
}

describe("test servers (net/test/processes.ts)", () => {
  it("exit when the test process that started them is killed -9", async () => {
    const script = new URL("./test/ensemble-holder.ts", import.meta.url).pathname;
    const stdio = ["ignore", "pipe", "inherit"] as const;
    const holder = spawn(process.execPath, ["--import", "tsx", script], { stdio: [...stdio] });
    let pids: number[] = [];
    try {
      const [line] = (await Promise.race([
        once(holder.stdout!, "data"),
        new Promise((_, reject) => setTimeout(() => reject(new Error("no holder")), 20_000)),
      ])) as [Buffer];
      pids = (JSON.parse(line.toString()) as { pids: number[] }).pids;
      expect(pids).toHaveLength(1);
      expect(alive(pids[0]!)).toBe(true);
      holder.kill("SIGKILL");
      expect(await gone(pids[0]!, 10_000), "the server outlived its test process").toBe(true);
    } finally {
      holder.kill("SIGKILL");
      for (const pid of pids) if (alive(pid)) process.kill(pid, "SIGKILL");
    }
  }, 40_000);
});
