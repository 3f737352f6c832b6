import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["{core,sim,net,jepsen-like,bench,scripts}/**/*.test.ts"],
    // The differential suite starts a JVM; give it room on a loaded 2-core machine.
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
