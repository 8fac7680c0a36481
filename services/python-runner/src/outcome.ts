import type { RunCompleted } from "@asgard/contracts";

/** How an attempt ended, as run.completed reports it. */
export type Outcome = Pick<RunCompleted, "outcome" | "error_type" | "error" | "exit_code">;

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

export const succeeded: Outcome = { outcome: "succeeded", error_type: null, error: null, exit_code: 0 };

export function cancelledOutcome(error: string): Outcome {
  return { outcome: "cancelled", error_type: null, error, exit_code: null };
}

export function envBuildFailed(err: unknown): Outcome {
  return { outcome: "env_build_failed", error_type: "env_build", error: `the environment could not be built: ${message(err)}`, exit_code: null };
}

/** The tracking server could not set up the attempt's run: a platform fault, not the script's. */
export function mlflowFailed(err: unknown): Outcome {
  return { outcome: "failed", error_type: "mlflow", error: `MLflow could not create the job's run: ${message(err)}`, exit_code: null };
}

/** The runner itself could not carry the attempt out (work folder, spawn, a bug of ours). */
export function runnerFailed(err: unknown): Outcome {
  return { outcome: "failed", error_type: "runner_error", error: `the runner could not complete the attempt: ${message(err)}`, exit_code: null };
}

/** The MLflow run's final status for an outcome. */
export function mlflowRunStatus(o: Outcome): "FINISHED" | "FAILED" | "KILLED" {
  return o.outcome === "succeeded" ? "FINISHED" : o.outcome === "failed" ? "FAILED" : "KILLED";
}
