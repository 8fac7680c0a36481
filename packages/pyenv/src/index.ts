export { createPyEnvManager, envScope } from "./manager.js";
export type { AcquireOptions, EnvLease, PyEnvManager, PyEnvManagerOptions, PyEnvStats } from "./manager.js";
export { PyEnvError, type PyEnvErrorCode } from "./errors.js";
export { sandboxedSourceBuilds, sourceBuildLimits, sourceBuildsRefusal, type SourceBuildSandbox } from "./sandboxed.js";
export { buildChildEnv, PASSED_THROUGH_ENV } from "./child-env.js";
export { checkRequirement, normalizeRequirements, normalizePackageName, MAX_REQUIREMENT_CHARS } from "./validate.js";
export type { Logger } from "./types.js";
export {
  constraintsFromSetting,
  excludesFromSetting,
  loadConstraints,
  parseConstraints,
  renderConstraints,
  statedVersion,
  platformConstraints,
  type ConstraintSet,
} from "./constraints.js";
export { unsatisfied } from "./satisfy.js";
