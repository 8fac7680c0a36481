import type { RunCompleted } from "@asgard/contracts";
import type { RunResult } from "@asgard/sandbox";

export const MISMATCH_MARKER = "[asgard] experiment mismatch:";

type Classified = Pick<RunCompleted, "outcome" | "error_type" | "error" | "exit_code">;

/** Turns how the script ended into the job's outcome and a message people can act on. */
export function classifyExit(result: RunResult, timeoutSeconds: number, stderrTail: string[]): Classified {
  if (result.timedOut) {
    return {
      outcome: "timeout",
      error_type: "timeout",
      error: `the script exceeded its timeout of ${timeoutSeconds} s and was stopped`,
      exit_code: result.exitCode,
    };
  }
  if (result.cancelled) {
    return { outcome: "cancelled", error_type: null, error: "cancelled", exit_code: result.exitCode };
  }
  if (result.exitCode === 0) return { outcome: "succeeded", error_type: null, error: null, exit_code: 0 };
  const mismatch = stderrTail.find((l) => l.startsWith(MISMATCH_MARKER));
  const lastError = [...stderrTail].reverse().find((l) => /^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b/.test(l.trim()));
  const detail = mismatch?.slice(MISMATCH_MARKER.length).trim() ?? lastError?.trim() ?? stderrTail.at(-1)?.trim();
  const how = result.exitCode !== null ? `exited with code ${result.exitCode}` : `was killed by ${result.signal ?? "a signal"}`;
  return {
    outcome: "failed",
    error_type: "script_error",
    error: detail ? `the script ${how}: ${detail}` : `the script ${how}`,
    exit_code: result.exitCode,
  };
}
