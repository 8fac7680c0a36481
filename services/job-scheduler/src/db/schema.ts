import type { ColumnType, Generated, Selectable, Transaction, Kysely } from "kysely";
import type { JobPhase, JobResources, JobStatus, LogLine } from "@asgard/contracts";
import type { AttemptFault, AttemptOutcome, EarlyRegistration, ErrorType } from "../domain/state-machine.js";

/** A timestamp column: Date both ways. */
type Timestamp = ColumnType<Date, Date, Date>;

/** The `jobs` table: one row per training job, the system of record. */
export interface JobsTable {
  job_id: string;
  /** The tenant the job belongs to; set once, at creation (jobs from before tenants: `default`). */
  tenant: ColumnType<string, string, never>;
  script_name: string;
  script_sha256: string;
  script_bytes: number;
  experiment_name: string;
  model_name: string;
  status: JobStatus;
  phase: JobPhase | null;
  attempt: Generated<number>;
  runner_id: string | null;
  requirements: string[];
  environment_vars: Record<string, string>;
  tags: Record<string, string>;
  timeout_seconds: number;
  run_id: string | null;
  experiment_id: string | null;
  model_version: string | null;
  logged_model_id: string | null;
  logged_model_uri: string | null;
  error: string | null;
  error_type: ErrorType | null;
  exit_code: number | null;
  registration_error: string | null;
  run_duration_seconds: number | null;
  cancel_requested: Generated<boolean>;
  idempotency_key: string | null;
  request_hash: string;
  created_at: Timestamp;
  updated_at: Timestamp;
  started_at: Timestamp | null;
  script_started_at: Timestamp | null;
  completed_at: Timestamp | null;
  deadline_at: Timestamp | null;
  last_heartbeat_at: Timestamp | null;
  /** Outbox marker: when the stream acknowledged training.submitted; null until then. */
  published_at: Timestamp | null;
  /** int8 comes back as a string on both engines (no precision loss). */
  log_bytes: ColumnType<string, number | undefined, number>;
  log_lines: Generated<number>;
  logs_truncated: Generated<boolean>;
  /** A run.completed of the current attempt waiting for its last log batches. */
  pending_outcome: AttemptOutcome | null;
  /** A registry answer that arrived before the job reached `registering`. */
  early_registration: EarlyRegistration | null;
  env_key: string | null;
  env_cache_hit: boolean | null;
  /** W3C trace context the job was created in; its events carry it as NATS headers. */
  traceparent: string | null;
  tracestate: string | null;
  /** Attempts lost to platform faults, oldest first; written whole by transitions. */
  faults: ColumnType<AttemptFault[], AttemptFault[] | undefined, AttemptFault[]>;
  /** Stream sequence of the message the current attempt was claimed from; int8 reads as a string. */
  claimed_seq: ColumnType<string | null, never, number | null>;
  /** What the job may use; null for jobs stored before per-job limits (the runner's defaults apply). */
  resources: ColumnType<JobResources | null, JobResources | null | undefined, never>;
}

/** `job_logs`: the stored output, one row per line, numbered from 0 per job. */
export interface JobLogsTable {
  job_id: string;
  line_no: number;
  attempt: number;
  batch: number;
  stream: LogLine["stream"];
  text: string;
  at: Timestamp;
}

/** `job_log_batches`: which batches of which attempt are stored, to drop redeliveries. */
export interface JobLogBatchesTable {
  job_id: string;
  attempt: number;
  batch: number;
  line_count: number;
  stored_at: Timestamp;
}

export interface SchedulerSchema {
  jobs: JobsTable;
  job_logs: JobLogsTable;
  job_log_batches: JobLogBatchesTable;
}

export type JobRow = Selectable<JobsTable>;
export type LogLineRow = Selectable<JobLogsTable>;

/** The job database, or a transaction on it. */
export type SchedulerDb = Kysely<SchedulerSchema>;
export type SchedulerTrx = Transaction<SchedulerSchema>;
