import { z } from "zod";
import { ERROR_TYPES } from "../events/training.js";
import { parseStrict, type ParseResult } from "./common.js";
import { queryEnum, queryInt, queryTenant, queryText } from "./query.js";
import { DEFAULT_TENANT, TenantSchema } from "../tenant.js";
import { JobResourcesSchema } from "./resources.js";

/** Job statuses; the original's four plus `cancelled` for the cancel extension. */
export const JOB_STATUSES = ["queued", "running", "completed", "failed", "cancelled"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** Statuses a job never leaves. */
export const TERMINAL_JOB_STATUSES = ["completed", "failed", "cancelled"] as const satisfies readonly JobStatus[];

/** What a live job is doing (extension); null once the job is terminal. */
export const JOB_PHASES = ["queued", "building_env", "running", "registering"] as const;
export type JobPhase = (typeof JOB_PHASES)[number];

const timestamp = () => z.iso.datetime();

/**
 * A training job as `GET /mlops/training/jobs/{job_id}` answers it. The fields up to
 * `duration_seconds` are the original API's; the rest are extensions. Environment variable
 * values are never part of a response (they may hold credentials).
 */
export const JobSchema = z.object({
  job_id: z.string().describe("Job id; unique, opaque."),
  script_name: z.string(),
  experiment_name: z.string(),
  model_name: z.string(),
  status: z.enum(JOB_STATUSES).describe("queued → running → completed | failed; cancelled after a cancel."),
  run_id: z.string().nullable().describe("The MLflow run this job created (null until the script started)."),
  model_version: z.string().nullable().describe("Version registered under model_name once the job completed (null if nothing was registered)."),
  logs: z.string().describe("Combined output: environment build summary, then the script's stdout/stderr; bounded, with a truncation marker. Complete once the status is terminal."),
  error: z.string().nullable().describe("Why the job failed, for people."),
  created_at: timestamp(),
  started_at: timestamp().nullable().describe("When a runner claimed the job."),
  completed_at: timestamp().nullable(),
  duration_seconds: z.number().nonnegative().nullable().describe("completed_at − started_at."),
  // Extensions.
  phase: z.enum(JOB_PHASES).nullable().describe("What a live job is doing; `registering` while its model is registered. Null when terminal."),
  attempt: z.number().int().nonnegative().describe("How many times a runner claimed the job (0 until the first claim; a job queued again after an attempt lost to a platform fault keeps its count)."),
  error_type: z.enum(ERROR_TYPES).nullable().describe("Class of the failure, for programs."),
  exit_code: z.number().int().nullable().describe("Exit code of the script, when it ran to an exit."),
  registration_error: z.string().nullable().describe("Why registering the trained model failed; the job is still `completed` (training succeeded)."),
  cancel_requested: z.boolean(),
  requirements: z.array(z.string()),
  tags: z.record(z.string(), z.string()),
  timeout: z.number().int().positive().describe("Seconds the script may run."),
  logs_truncated: z.boolean().describe("`logs` hit its size bound; the full output streams from /logs."),
  // Added with tenants; a scheduler that predates them has only default-tenant jobs.
  tenant: TenantSchema.default(DEFAULT_TENANT).describe("The tenant the job belongs to: the tenant of the key that submitted it (its MLflow workspace)."),
  // Added with per-job limits; optional so answers of an older scheduler still parse.
  resources: JobResourcesSchema.optional().describe(
    "What the job may use: memory_mb, cpus (null: uncapped), processes, disk_mb — what it asked for, the deployment's maxima for the rest.",
  ),
});
export type Job = z.infer<typeof JobSchema>;

/** A job in a list: everything but its logs. */
export const JobSummarySchema = JobSchema.omit({ logs: true });
export type JobSummary = z.infer<typeof JobSummarySchema>;

/** Answer of `GET /mlops/training/jobs`: newest first. */
export const JobListResponseSchema = z.object({
  jobs: z.array(JobSummarySchema),
  next_page_token: z.string().nullable().describe("Pass as page_token for the next page; null on the last page."),
});
export type JobListResponse = z.infer<typeof JobListResponseSchema>;

/** Path parameters of the `/mlops/training/jobs/{job_id}` routes; any string (an unknown or malformed id is a 404). */
export const JobParamsSchema = z.object({ job_id: z.string().describe("Job id as returned by the upload.") });

/** Jobs per page when `limit` is not given. */
export const JOB_LIST_DEFAULT_LIMIT = 50;
/** Largest accepted `limit`. */
export const JOB_LIST_MAX_LIMIT = 200;

/** Query of `GET /mlops/training/jobs`. */
export const JobListQuerySchema = z.object({
  status: queryEnum("Only jobs with this status.", JOB_STATUSES),
  experiment_name: queryText("Only jobs of this experiment (exact name)."),
  tenant: queryTenant("Only jobs of this tenant. Admin keys list every tenant's jobs without it; other keys list only their own tenant's."),
  limit: queryInt("Jobs per page", 1, JOB_LIST_MAX_LIMIT, JOB_LIST_DEFAULT_LIMIT),
  page_token: queryText("next_page_token of the previous page."),
});
export type JobListQuery = z.output<typeof JobListQuerySchema>;

/** Reads the job list query; unknown parameters are a 422 (an extension route). */
export function parseJobListQuery(query: unknown): ParseResult<JobListQuery> {
  return parseStrict(JobListQuerySchema, query, Object.keys(JobListQuerySchema.shape), { subject: "query string" });
}

/** Query of `GET /mlops/training/jobs/{job_id}/logs`. */
export const LogStreamQuerySchema = z.object({
  offset: queryInt("Index of the first log line to send (lines already received)", 0, Number.MAX_SAFE_INTEGER, 0),
});
export type LogStreamQuery = z.output<typeof LogStreamQuerySchema>;

/**
 * Reads the log stream query. A reconnecting EventSource sends `Last-Event-ID` instead:
 * pass it as `lastEventId` and it wins over `offset`, since it is the client's own record.
 */
export function parseLogStreamQuery(query: unknown, lastEventId?: string): ParseResult<LogStreamQuery> {
  const parsed = parseStrict(LogStreamQuerySchema, query, ["offset"], { subject: "query string" });
  if (!parsed.ok || lastEventId === undefined || lastEventId === "") return parsed;
  const fromHeader = parseStrict(LogStreamQuerySchema, { offset: lastEventId }, ["offset"], { subject: "Last-Event-ID header" });
  return fromHeader;
}

/** Names of the Server-Sent Events of the log stream. */
export const LOG_SSE_EVENTS = { lines: "log", end: "end" } as const;

/** One line of a job's output. */
export const LogLineSchema = z.object({
  stream: z.enum(["stdout", "stderr", "system"]).describe("`system`: lines written by the platform (environment build, truncation markers)."),
  text: z.string(),
  at: timestamp(),
});
export type LogLine = z.infer<typeof LogLineSchema>;

/**
 * `event: log` — a batch of lines. The SSE `id` is `next_offset`, so a reconnecting
 * EventSource resumes where it stopped.
 */
export const LogLinesEventSchema = z.object({
  job_id: z.string(),
  attempt: z.number().int().positive(),
  offset: z.number().int().nonnegative().describe("Index of the first line of this batch."),
  next_offset: z.number().int().nonnegative().describe("Index of the line after this batch."),
  lines: z.array(LogLineSchema),
});
export type LogLinesEvent = z.infer<typeof LogLinesEventSchema>;

/** `event: end` — the job is terminal and every line was sent; the server closes the stream. */
export const LogEndEventSchema = z.object({
  job_id: z.string(),
  status: z.enum(TERMINAL_JOB_STATUSES),
  next_offset: z.number().int().nonnegative(),
});
export type LogEndEvent = z.infer<typeof LogEndEventSchema>;
