import { TRACEPARENT_HEADER, TRACESTATE_HEADER } from "@asgard/telemetry";

/**
 * The complete environment of a training script: an allow-list, never a copy of the
 * runner's own (which holds NATS credentials, database URLs, cloud keys).
 */
export interface JobEnvironmentInput {
  trackingUri: string;
  experimentName: string;
  experimentId: string;
  runId: string;
  modelName: string;
  /**
   * The job's tenant's MLflow workspace. MLflow's client sends it with every call, so a
   * script's own `set_experiment`, runs and registered models land in its tenant's workspace.
   */
  workspace: string;
  /** Validated at upload: names never collide with the platform's. */
  userVariables: Record<string, string>;
  envBinDir: string;
  workDir: string;
  /** Folder holding the platform's sitecustomize.py. */
  platformPythonPath: string;
  /**
   * The attempt's trace as W3C headers (`traceparent`, optional `tracestate`), handed to the
   * script as OpenTelemetry's TRACEPARENT/TRACESTATE, so its own spans join the job's trace.
   */
  trace: Record<string, string>;
}

export function buildJobEnvironment(input: JobEnvironmentInput): Record<string, string> {
  return {
    ...input.userVariables,
    MLFLOW_TRACKING_URI: input.trackingUri,
    MLFLOW_EXPERIMENT_NAME: input.experimentName,
    MLFLOW_EXPERIMENT_ID: input.experimentId,
    MLFLOW_RUN_ID: input.runId,
    MLFLOW_WORKSPACE: input.workspace,
    // The names the original platform gave scripts.
    EXPERIMENT_NAME: input.experimentName,
    MODEL_NAME: input.modelName,
    PATH: `${input.envBinDir}:/usr/local/bin:/usr/bin:/bin`,
    VIRTUAL_ENV: input.envBinDir.replace(/\/bin$/, ""),
    HOME: input.workDir,
    TMPDIR: "/tmp",
    PYTHONUNBUFFERED: "1",
    PYTHONPATH: input.platformPythonPath,
    PYTHONNOUSERSITE: "1",
    // pip's self-check would reach for the index from inside a job; the env is read-only anyway.
    PIP_DISABLE_PIP_VERSION_CHECK: "1",
    LANG: "C.UTF-8",
    ...(input.trace[TRACEPARENT_HEADER] ? { TRACEPARENT: input.trace[TRACEPARENT_HEADER] } : {}),
    ...(input.trace[TRACESTATE_HEADER] ? { TRACESTATE: input.trace[TRACESTATE_HEADER] } : {}),
  };
}
