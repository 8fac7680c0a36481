import { defineConfig } from "vitest/config";

const SOURCE_CONDITIONS = ["@asgard/source", "node", "development|production"];

export default defineConfig({
  // Workspace packages resolve to their TypeScript sources (see their `exports`), so tests
  // never need a build; vitest also passes these conditions to its worker processes.
  ssr: { resolve: { conditions: SOURCE_CONDITIONS } },
  environments: { __vitest__: { resolve: { conditions: SOURCE_CONDITIONS } } },
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
    globalSetup: ["packages/test-support/src/global-setup.ts"],
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
