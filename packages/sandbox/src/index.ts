export { checkSandbox, type SandboxCheck } from "./detect.js";
export { SandboxError, type SandboxErrorCode } from "./errors.js";
export { MAX_LINE_BYTES } from "./lines.js";
export {
  runScript,
  type RunResult,
  type RunScriptOptions,
  type RunningScript,
  type SandboxMode,
  type StopReason,
} from "./spawn.js";
