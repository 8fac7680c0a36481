import { z } from "zod";
import { JOB_PHASES, JobListQuerySchema, JobListResponseSchema, JobSchema, LogLineSchema } from "./http/jobs.js";

/**
 * Internal contracts of the training flow: the job-scheduler's request/reply endpoints
 * (used by the gateway and the runners) and the runners' core-NATS signals. Not public:
 * they may change with the services, but only additively between two releases so that a
 * rolling upgrade keeps working.
 */

const jobId = z.string().min(1).max(200);

/** A validated upload as the gateway hands it to the scheduler. */
export const CreateJobRequestSchema = z.object({
  script_name: z.string(),
  /** The script, base64 (bounds the NATS payload whatever its characters). */
  script_b64: z.string(),
  experiment_name: z.string(),
  model_name: z.string(),
  requirements: z.array(z.string()),
  environment_vars: z.record(z.string(), z.string()),
  timeout: z.number().int().positive(),
  tags: z.record(z.string(), z.string()),
  /** `Idempotency-Key` header, when the client sent one. */
  idempotency_key: z.string().nullable(),
  /** sha256 of the canonical request, to tell a repeat from a different body under one key. */
  request_hash: z.string(),
});
export type CreateJobRequest = z.infer<typeof CreateJobRequestSchema>;

/** The created (or, for a repeated idempotency key, the existing) job. */
export const CreateJobResponseSchema = z.object({
  job: JobSchema,
  /** True when an idempotency key matched an existing job. */
  existing: z.boolean(),
});

export const JobRefSchema = z.object({ job_id: jobId });

export const JobScriptSchema = z.object({
  job_id: z.string(),
  script_name: z.string(),
  /** base64: JSON-escaping a script of control characters could grow it past NATS's 1 MiB. */
  script_b64: z.string(),
  sha256: z.string(),
  bytes: z.number().int().nonnegative(),
});
export type JobScript = z.infer<typeof JobScriptSchema>;

export const JobLogsRequestSchema = z.object({
  job_id: jobId,
  offset: z.number().int().nonnegative(),
  /** Most lines to return (the reply must fit one NATS message). */
  limit: z.number().int().positive().max(5_000),
});

/** A page of stored log lines, and whether more can ever come. */
export const JobLogsResponseSchema = z.object({
  job_id: z.string(),
  attempt: z.number().int().nonnegative(),
  offset: z.number().int().nonnegative(),
  next_offset: z.number().int().nonnegative(),
  lines: z.array(LogLineSchema),
  status: JobSchema.shape.status,
  /** True once the job is terminal and `next_offset` is the end of its log. */
  complete: z.boolean(),
});
export type JobLogsResponse = z.infer<typeof JobLogsResponseSchema>;

export const ClaimRequestSchema = z.object({
  job_id: jobId,
  runner_id: z.string().min(1),
  /** JetStream delivery count of the message being claimed (for the record). */
  delivery: z.number().int().positive(),
  /**
   * Stream sequence of the message being claimed. Optional (added later): with it, a second
   * copy of a job's message (a re-publish) cannot take over a live attempt — only a
   * redelivery of the attempt's own message can.
   */
  seq: z.number().int().positive().optional(),
});

/** What a runner needs to run the job, granted with a fresh attempt number; or why not. */
export const ClaimResponseSchema = z.discriminatedUnion("granted", [
  z.object({
    granted: z.literal(true),
    job_id: z.string(),
    attempt: z.number().int().positive(),
    script_name: z.string(),
    /** base64, for the same reason as in JobScriptSchema. */
    script_b64: z.string(),
    experiment_name: z.string(),
    model_name: z.string(),
    requirements: z.array(z.string()),
    environment_vars: z.record(z.string(), z.string()),
    tags: z.record(z.string(), z.string()),
    timeout_seconds: z.number().int().positive(),
    /** The previous attempt's MLflow run, which the runner ends as KILLED. */
    previous_run_id: z.string().nullable(),
  }),
  z.object({
    granted: z.literal(false),
    job_id: z.string(),
    /** `duplicate` (added later): another copy of the job's message is being run; drop this one. */
    reason: z.enum(["not_found", "cancelled", "terminal", "duplicate"]),
  }),
]);
export type ClaimResponse = z.infer<typeof ClaimResponseSchema>;

/** A runner reports what an attempt is doing; stale attempts are refused (fencing). */
export const ProgressRequestSchema = z.object({
  job_id: jobId,
  attempt: z.number().int().positive(),
  runner_id: z.string(),
  phase: z.enum(JOB_PHASES),
  run_id: z.string().nullable().optional(),
  experiment_id: z.string().nullable().optional(),
  /** Environment cache outcome, for the job record and metrics. */
  env_key: z.string().nullable().optional(),
  env_cache_hit: z.boolean().nullable().optional(),
});

export const ProgressResponseSchema = z.object({
  /** False when the attempt is stale or the job was cancelled: the runner stops. */
  accepted: z.boolean(),
  cancel_requested: z.boolean(),
});

/** Everything the gateway may filter on when listing. */
export const ListJobsRequestSchema = JobListQuerySchema;
export const ListJobsResponseSchema = JobListResponseSchema;

// ---- Signals (core NATS) -------------------------------------------------------------

/** Every few seconds from each runner: who it is, its slots, and what it holds. */
export const RunnerHeartbeatSchema = z.object({
  runner_id: z.string(),
  slots: z.number().int().positive(),
  busy: z.number().int().nonnegative(),
  draining: z.boolean(),
  jobs: z.array(z.object({ job_id: z.string(), attempt: z.number().int().positive(), phase: z.enum(JOB_PHASES) })),
  at: z.iso.datetime(),
});
export type RunnerHeartbeat = z.infer<typeof RunnerHeartbeatSchema>;

/** Published by the scheduler when a running job is cancelled; the runner holding it kills it. */
export const JobCancelSchema = z.object({
  job_id: z.string(),
  /** The attempt to stop (the current one when the cancel was recorded). */
  attempt: z.number().int().nonnegative(),
  reason: z.string(),
});

