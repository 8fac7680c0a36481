import { z } from "zod";
import { sanitizeLogText } from "../log-text.js";
import { envelope } from "./envelope.js";

/** Published by the job-scheduler once a job is stored; the runners' work queue. */
export const TrainingSubmittedSchema = z.object({
  ...envelope,
  job_id: z.string(),
  experiment_name: z.string(),
  model_name: z.string(),
  script_name: z.string(),
  /** sha256 of the script, which the runner receives in the claim answer. */
  script_sha256: z.string(),
  requirements: z.array(z.string()),
  timeout_seconds: z.number().int().positive(),
  submitted_at: z.iso.datetime(),
});
export type TrainingSubmitted = z.infer<typeof TrainingSubmittedSchema>;

/** A batch of output lines of one attempt of a job, on `job.log.<job_id>`. */
export const JobLogSchema = z.object({
  ...envelope,
  job_id: z.string(),
  attempt: z.number().int().positive(),
  /** Sequence of this batch within the attempt, from 1. */
  batch: z.number().int().positive(),
  lines: z.array(
    z.object({
      stream: z.enum(["stdout", "stderr", "system"]),
      /** Sanitised on parse (see `sanitizeLogText`): what a consumer reads can always be stored. */
      text: z.string().overwrite(sanitizeLogText),
      at: z.iso.datetime(),
    }),
  ),
});
export type JobLog = z.infer<typeof JobLogSchema>;

/**
 * A job-log batch the scheduler could not store however often it was delivered (PostgreSQL
 * refused its data), parked so it stops being redelivered. The batch itself stays readable in
 * `stream` at `stream_seq` for that stream's max age; this record says which and why.
 */
export const JobLogDeadLetterSchema = z.object({
  ...envelope,
  job_id: z.string(),
  attempt: z.number().int(),
  batch: z.number().int(),
  /** The stream holding the original message, and its sequence there. */
  stream: z.string(),
  stream_seq: z.number().int().positive(),
  /** Deliveries before it was parked: the failed ones, and any spent waiting for the batch before it. */
  delivery_count: z.number().int().positive(),
  /** Why the last delivery failed (the database's error code and message). */
  error: z.string(),
});
export type JobLogDeadLetter = z.infer<typeof JobLogDeadLetterSchema>;

export const RUN_OUTCOMES = ["succeeded", "failed", "timeout", "cancelled", "env_build_failed", "runner_lost"] as const;
/**
 * Classes of failure. Additive: `runner_error` (the runner itself could not carry the attempt
 * out, e.g. its work folder could not be written) came after the first five, `resource_limit`
 * (the sandbox stopped the script at its memory, process or file-size limit) after it.
 */
export const ERROR_TYPES = ["env_build", "script_error", "timeout", "runner_lost", "mlflow", "runner_error", "resource_limit"] as const;

/** Published by a runner when an attempt ends, however it ended. */
export const RunCompletedSchema = z.object({
  ...envelope,
  job_id: z.string(),
  attempt: z.number().int().positive(),
  runner_id: z.string(),
  outcome: z.enum(RUN_OUTCOMES),
  error_type: z
    .enum(ERROR_TYPES)
    .nullable()
    .describe(
      "Class of the failure, null on success and cancel: `env_build` (the environment could not be built), " +
        "`script_error` (the script failed), `timeout` (the script ran past its timeout), " +
        "`runner_lost` (the runner stopped answering), `mlflow` (the tracking server could not set up the job's run), " +
        "`runner_error` (the runner itself failed to carry the attempt out), " +
        "`resource_limit` (the sandbox stopped the script at its memory, process-count or file-size limit). New values may be added. " +
        "`runner_lost`, `mlflow` and `runner_error` are platform faults: the job is queued again for another attempt, " +
        "at most 3 attempts in all, and a job that runs out of them fails with this type and an error naming the faults " +
        "(e.g. \"runner lost 3 times: …\"). The script's timeout counts its own running time in each attempt only.",
    ),
  error: z.string().nullable(),
  exit_code: z.number().int().nullable(),
  run_id: z.string().nullable(),
  experiment_id: z.string().nullable(),
  model_name: z.string(),
  /** MLflow 3 LoggedModel id and URI when the run logged a model. */
  logged_model_id: z.string().nullable(),
  logged_model_uri: z.string().nullable(),
  duration_seconds: z.number().nonnegative(),
  /** Stream sequence of the attempt's last `job.log` batch (0 when none was written). */
  last_log_seq: z.number().int().nonnegative(),
  last_log_batch: z.number().int().nonnegative(),
});
export type RunCompleted = z.infer<typeof RunCompletedSchema>;
