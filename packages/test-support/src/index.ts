export type { TestInfra } from "./infra.js";
export { createScratchDatabase } from "./postgres.js";
export { startPlatform, waitForJob, type Platform, type PlatformOptions, type ServiceProcess } from "./platform.js";
export { FROM_SOURCES, pollUntil, startServiceProcess } from "./services.js";
export { loggedMetricsPort, parseMetrics, scrape, total, type Sample } from "./metrics.js";
export { startAuthMlflow, type AuthMlflow } from "./mlflow-auth.js";
export * from "./training-scripts.js";
