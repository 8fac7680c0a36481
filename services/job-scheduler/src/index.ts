export { createScheduler, type Scheduler, type SchedulerDeps } from "./scheduler.js";
export { migrations } from "./migrations/index.js";
