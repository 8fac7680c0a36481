export { createScheduler, type Scheduler, type SchedulerDeps } from "./scheduler.js";
export { DEFAULT_CONFIG, resolveConfig, type SchedulerConfig } from "./config.js";
export { migrations } from "./migrations/index.js";
