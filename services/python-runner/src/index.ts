export { createRunner, type Runner, type RunnerDeps } from "./runner.js";
export type { RunnerConfig } from "./config.js";
export { buildJobEnvironment } from "./job-environment.js";
