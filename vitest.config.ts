import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Suites start their own Postgres servers; two cores, so keep parallelism modest.
    maxWorkers: 2,
  },
});
