export { checkSandbox, type SandboxCheck } from "./detect.js";
export { SandboxError, type SandboxErrorCode } from "./errors.js";
export { DEFAULT_LIMITS, type LimitName, type ResourceLimits } from "./limits.js";
export { DEFAULT_SANDBOX_ID } from "./launch.js";
export { MAX_LINE_BYTES } from "./lines.js";
export { spawnSandboxed, type SandboxedExit, type SandboxedProcess, type SpawnSandboxedOptions } from "./sandboxed-process.js";
export {
  runScript,
  type RunResult,
  type RunScriptOptions,
  type RunningScript,
  type SandboxMode,
  type StopReason,
} from "./spawn.js";
