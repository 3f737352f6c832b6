// The package as another project gets it: `npm pack` (which builds dist/), `npm install` of the
// tarball into an empty project, then the README's lock example run there against the packed
// test server, the typings checked by tsc, and the zk-sim command's help.

import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = new URL("..", import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), "zk-pack-"));
const app = join(work, "app");

function run(command: string, args: string[], cwd: string): string {
  return execFileSync(command, args, {
    cwd,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 180_000,
  });
}

/** The code block the README marks as the packed lock example. */
function readmeExample(): string {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const marker = readme.indexOf("<!-- packed-lock-example");
  expect(marker, "README marks its packed lock example").toBeGreaterThan(0);
  const block = /```js\n([\s\S]*?)```/.exec(readme.slice(marker));
  return block![1]!;
}

describe("the packed package", () => {
  beforeAll(() => {
    run("npm", ["pack", "--pack-destination", work], root);
    const tarball = readdirSync(work).find((f) => f.endsWith(".tgz"))!;
    mkdirSync(app);
    writeFileSync(
      join(app, "package.json"),
      JSON.stringify({ name: "app", version: "1.0.0", type: "module", private: true }),
    );
    run(
      "npm",
      ["install", "--prefer-offline", "--no-audit", "--no-fund", join(work, tarball)],
      app,
    );
  }, 300_000);
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it("runs the README's lock example against the packed test server", () => {
    const example = readmeExample();
    expect(example.split("\n").filter((l) => l.trim() !== "").length).toBeLessThanOrEqual(10);
    writeFileSync(join(app, "lock.mjs"), example);
    expect(run("node", ["lock.mjs"], app)).toMatch(
      /^holding \/locks\/demo\/\S+-lock-\d{10} with fencing token \d+\n$/,
    );
  }, 60_000);

  it("ships typings that another TypeScript project compiles against", () => {
    writeFileSync(
      join(app, "typed.ts"),
      [
        'import { NoNodeError, ZooKeeperClient } from "zk-sim/client";',
        'import type { LockHandle } from "zk-sim/recipes";',
        'import { startTestEnsemble } from "zk-sim/testing";',
        "export const connect = (s: string): Promise<ZooKeeperClient> =>",
        "  ZooKeeperClient.connect(s);",
        'export const error: NoNodeError = new NoNodeError("/a");',
        "export const token = (h: LockHandle): bigint => h.token;",
        "export const start = () => startTestEnsemble(3);",
        "",
      ].join("\n"),
    );
    writeFileSync(
      join(app, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          module: "NodeNext",
          moduleResolution: "NodeNext",
          strict: true,
          noEmit: true,
          skipLibCheck: true,
        },
        files: ["typed.ts"],
      }),
    );
    run(join(root, "node_modules/.bin/tsc"), ["-p", "."], app);
  }, 60_000);

  it("installs the zk-sim command with help for each subcommand", () => {
    expect(run("npx", ["--no-install", "zk-sim", "--help"], app)).toContain("server [zoo.cfg]");
    for (const command of ["server", "sim", "check", "jepsen"]) {
      expect(run("npx", ["--no-install", "zk-sim", command, "--help"], app)).toMatch(
        new RegExp(`^usage: zk-sim ${command}`),
      );
    }
  }, 60_000);
});
