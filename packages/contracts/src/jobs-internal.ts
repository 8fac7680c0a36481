import { z } from "zod";
import { JOB_PHASES, JobListQuerySchema, JobListResponseSchema, JobSchema, LogLineSchema } from "./http/jobs.js";
import { DEFAULT_TENANT, TenantSchema } from "./tenant.js";
import { ScriptNameSchema } from "./http/training.js";
import { JobResourcesSchema } from "./http/resources.js";

/**
 * Internal contracts of the training flow: the job-scheduler's request/reply endpoints
 * (used by the gateway and the runners) and the runners' core-NATS signals. Not public:
 * they may change with the services, but only additively between two releases so that a
 * rolling upgrade keeps working.
 */

/** A job id as the scheduler's endpoints take it; the gateway answers 404 for any other path id. */
export const JobIdSchema = z.string().min(1).max(200);
const jobId = JobIdSchema;

/**
 * Whose request it is, as the gateway authenticated it: every request that reads or changes
 * jobs for a caller carries it, and it is required — the scheduler never reads a missing
 * scope as "every tenant". A non-admin scope reaches only its tenant's jobs; another
 * tenant's job answers exactly as a job that does not exist. An admin scope reaches every
 * tenant's jobs (and creates jobs in `tenant`, the one it acts in).
 *
 * Not an additive change, on purpose: an unscoped request from a gateway that predates tenants
 * is refused rather than served unscoped, so gateways roll before the scheduler
 * (docs/operations.md, Upgrades).
 */
export const JobScopeSchema = z.object({
  tenant: TenantSchema,
  admin: z.boolean(),
});
export type JobScope = z.infer<typeof JobScopeSchema>;

/** What a job runs, the same from the upload through the scheduler to its runner. */
const JOB_SPEC_FIELDS = {
  script_name: ScriptNameSchema,
  /** The script, base64 (bounds the NATS payload whatever its characters). */
  script_b64: z.string(),
  experiment_name: z.string(),
  model_name: z.string(),
  requirements: z.array(z.string()),
  environment_vars: z.record(z.string(), z.string()),
  tags: z.record(z.string(), z.string()),
};

/** A validated upload as the gateway hands it to the scheduler. */
export const CreateJobRequestSchema = z.object({
  /** The caller; the job belongs to `scope.tenant`, and its Idempotency-Key and limit are that tenant's. */
  scope: JobScopeSchema,
  ...JOB_SPEC_FIELDS,
  timeout: z.number().int().positive(),
  /** `Idempotency-Key` header, when the client sent one. */
  idempotency_key: z.string().nullable(),
  /** sha256 of the canonical request, to tell a repeat from a different body under one key. */
  request_hash: z.string(),
  /**
   * What the job may use, resolved against the gateway's maxima (added later: a gateway that
   * predates it sends none, and the job runs with the defaults).
   */
  resources: JobResourcesSchema.optional(),
});
export type CreateJobRequest = z.infer<typeof CreateJobRequestSchema>;

/** The created (or, for a repeated idempotency key, the existing) job. */
export const CreateJobResponseSchema = z.object({
  job: JobSchema,
  /** True when an idempotency key matched an existing job. */
  existing: z.boolean(),
});

/** One job, as a caller refers to it. */
export const JobRefSchema = z.object({ job_id: jobId, scope: JobScopeSchema });
export type JobRef = z.infer<typeof JobRefSchema>;

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
  scope: JobScopeSchema,
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

/**
 * Published by the scheduler once lines it appended to a job's log are committed (from a
 * runner's batch, or its own markers), and once the job turned terminal. A follower that has
 * sent the log up to `offset` sends `lines` on without asking for them; one elsewhere in the
 * log (it missed a signal: core NATS keeps none) reads what it lacks with `getJobLogs`, which
 * stays the only source of truth.
 */
export const JobLogStoredSchema = z.object({
  job_id: z.string(),
  /** The attempt that wrote the lines (the current one when the job ended). */
  attempt: z.number().int().nonnegative(),
  /** Number of the first of `lines` in the job's log. */
  offset: z.number().int().nonnegative(),
  /**
   * Lines the log holds after `lines`. Lines too large for one signal are left out: then
   * `offset` equals `next_offset`, and a follower behind it reads them.
   */
  next_offset: z.number().int().nonnegative(),
  /** As `getJobLogs` answers them. */
  lines: z.array(LogLineSchema),
  /** The job is terminal: a page read now says whether its log is complete. */
  ended: z.boolean(),
  /**
   * The runner's batch the lines were stored from (absent for the scheduler's own lines and
   * the end). The runner sends its next batch once this one is stored, so a busy scheduler
   * gets fewer, larger batches instead of a growing queue.
   */
  batch: z.number().int().positive().optional(),
});
export type JobLogStored = z.infer<typeof JobLogStoredSchema>;

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
    /**
     * The job's tenant (added later; a scheduler that predates tenants has only `default`): the
     * runner runs the job in this tenant's MLflow workspace and stamps it on the job's events.
     */
    tenant: TenantSchema.default(DEFAULT_TENANT),
    attempt: z.number().int().positive(),
    ...JOB_SPEC_FIELDS,
    timeout_seconds: z.number().int().positive(),
    /** The previous attempt's MLflow run, which the runner ends as KILLED. */
    previous_run_id: z.string().nullable(),
    /**
     * What the job may use (added later): absent from a scheduler that predates it and for
     * jobs stored before it; the runner then applies the defaults.
     */
    resources: JobResourcesSchema.optional(),
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

/**
 * Everything the gateway may filter on when listing, and the caller's scope: a non-admin
 * lists only its tenant's jobs; an admin lists every tenant's, or one tenant's with `tenant`.
 */
export const ListJobsRequestSchema = JobListQuerySchema.extend({ scope: JobScopeSchema });
export const ListJobsResponseSchema = JobListResponseSchema;

// ---- Signals (core NATS) -------------------------------------------------------------

/**
 * How a runner isolates the scripts it runs, as it found its machine at start-up.
 * - `mode`: `bwrap` (namespaces, a minimal read-only root, seccomp) or `process-group` (no sandbox).
 * - `cgroups`: which cgroup version gives each job its memory, process and CPU limits; `none`
 *   when the runner cannot create groups (then memory and processes are per-process rlimits).
 * - `seccomp`: the filter that refuses new user namespaces and other escapes is applied.
 * - `internet`: jobs get outbound internet (a deployment setting, off by default).
 */
export const RunnerIsolationSchema = z.object({
  mode: z.enum(["bwrap", "process-group"]),
  cgroups: z.enum(["v1", "v2", "none"]),
  seccomp: z.boolean(),
  internet: z.boolean(),
});
export type RunnerIsolation = z.infer<typeof RunnerIsolationSchema>;

/** Every few seconds from each runner: who it is, its slots, and what it holds. */
export const RunnerHeartbeatSchema = z.object({
  runner_id: z.string(),
  slots: z.number().int().positive(),
  busy: z.number().int().nonnegative(),
  draining: z.boolean(),
  jobs: z.array(z.object({ job_id: z.string(), attempt: z.number().int().positive(), phase: z.enum(JOB_PHASES) })),
  at: z.iso.datetime(),
  /** Added later: a runner that predates it sends none. */
  isolation: RunnerIsolationSchema.optional(),
});
export type RunnerHeartbeat = z.infer<typeof RunnerHeartbeatSchema>;

/** Published by the scheduler when a running job is cancelled; the runner holding it kills it. */
export const JobCancelSchema = z.object({
  job_id: z.string(),
  /** The attempt to stop (the current one when the cancel was recorded). */
  attempt: z.number().int().nonnegative(),
  reason: z.string(),
});

