import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: [
      "packages/*/src/**/*.test.ts",
      "packages/*/test/**/*.test.ts",
      "services/*/src/**/*.test.ts",
      "services/*/test/**/*.test.ts",
      "test/e2e/**/*.test.ts",
      "test/docs/**/*.test.ts",
      "test/deploy/**/*.test.ts",
    ],
    globalSetup: ["test/harness/global-setup.ts"],
    setupFiles: [],
    pool: "forks",
    // Integration tests mostly wait on servers; a few files in parallel use both cores.
    maxWorkers: 3,
    testTimeout: 60_000,
    hookTimeout: 180_000,
    reporters: ["default"],
    // The AWS SDK warns about Node 20 support dates on every process start; it is noise here.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
  },
});
