import type { JobResources, RunCompleted } from "@asgard/contracts";
import { DEFAULT_LIMITS, type LimitName, type RunResult } from "@asgard/sandbox";

export const MISMATCH_MARKER = "[asgard] experiment mismatch:";

type Classified = Pick<RunCompleted, "outcome" | "error_type" | "error" | "exit_code">;

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

/** What each sandbox limit means to the person whose script ran into it, naming the limit and how to raise it. */
function limitMessage(limit: LimitName, r: JobResources): string {
  switch (limit) {
    case "memory":
      return `the script went over its memory limit of ${r.memory_mb} MiB (resources.memory_mb; all its processes together, files in its work directory, /tmp and /dev/shm included) and was killed: use less memory, e.g. smaller batches or data types, or ask for more`;
    case "pids":
      return `the script went over its limit of ${r.processes} processes and threads (resources.processes): start fewer workers (n_jobs, num_workers, multiprocessing pools), or ask for more`;
    case "file_size":
      return `the script tried to write a file larger than ${DEFAULT_LIMITS.fileSizeBytes / GiB} GiB, the limit for one file`;
    case "disk":
      return `the script ran out of space: its work directory holds at most ${r.disk_mb} MiB (resources.disk_mb), /tmp ${DEFAULT_LIMITS.tmpBytes / MiB} MiB and /dev/shm ${DEFAULT_LIMITS.shmBytes / MiB} MiB: write less (log large outputs as MLflow artifacts as you go and delete them) or ask for more disk_mb`;
  }
}

/** Turns how the script ended into the job's outcome and a message people can act on. */
export function classifyExit(result: RunResult, timeoutSeconds: number, stderrTail: string[], resources: JobResources): Classified {
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
  if (result.limitExceeded !== null) {
    return { outcome: "failed", error_type: "resource_limit", error: limitMessage(result.limitExceeded, resources), exit_code: result.exitCode };
  }
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
