export * from "./logger.js";
export * from "./metrics.js";
export * from "./metrics-server.js";
export * from "./shutdown.js";
export * from "./retry.js";
export * from "./trace-context.js";
export * from "./periodic.js";
