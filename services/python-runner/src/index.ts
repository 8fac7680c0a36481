export { createRunner, type Runner, type RunnerDeps } from "./runner.js";
