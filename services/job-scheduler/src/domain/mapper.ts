import { EVENTS, type Job, type JobSummary, type LogLine, type TrainingSubmitted } from "@asgard/contracts";
import type { JobRow, LogLineRow } from "../db/schema.js";
import { isTerminal } from "./state-machine.js";

/*
 * The one place where rows become wire types. Environment variable values never leave here
 * except in a claim answer (the runner needs them); a job as the API shows it has none.
 */

const iso = (d: Date | null): string | null => (d === null ? null : d.toISOString());

/** Seconds from claim to end, to the millisecond. */
export function durationSeconds(row: Pick<JobRow, "started_at" | "completed_at">): number | null {
  if (!row.started_at || !row.completed_at) return null;
  return Math.max(0, row.completed_at.getTime() - row.started_at.getTime()) / 1000;
}

/** A job without its logs, as lists show it. */
export function toJobSummary(row: JobRow): JobSummary {
  return {
    job_id: row.job_id,
    script_name: row.script_name,
    experiment_name: row.experiment_name,
    model_name: row.model_name,
    status: row.status,
    run_id: row.run_id,
    model_version: row.model_version,
    error: row.error,
    created_at: row.created_at.toISOString(),
    started_at: iso(row.started_at),
    completed_at: iso(row.completed_at),
    duration_seconds: durationSeconds(row),
    phase: isTerminal(row.status) ? null : row.phase,
    attempt: row.attempt,
    error_type: row.error_type,
    exit_code: row.exit_code,
    registration_error: row.registration_error,
    cancel_requested: row.cancel_requested,
    requirements: row.requirements,
    tags: row.tags,
    timeout: row.timeout_seconds,
    logs_truncated: row.logs_truncated,
    tenant: row.tenant,
    ...(row.resources !== null ? { resources: row.resources } : {}),
  };
}

/** A job with its logs; `cut` says the answer left stored lines out to stay small. */
export function toJob(row: JobRow, logs: { logs: string; cut: boolean }): Job {
  const summary = toJobSummary(row);
  return { ...summary, logs: logs.logs, logs_truncated: row.logs_truncated || logs.cut };
}

export function toLogLine(row: Pick<LogLineRow, "stream" | "text" | "at">): LogLine {
  return { stream: row.stream, text: row.text, at: row.at.toISOString() };
}

/** The runners' work item. Its event id is the job id, so every re-publish is the same event. */
export function toTrainingSubmitted(row: JobRow): TrainingSubmitted {
  return {
    event_id: row.job_id,
    schema_version: EVENTS.trainingSubmitted.schemaVersion,
    occurred_at: row.created_at.toISOString(),
    tenant: row.tenant,
    job_id: row.job_id,
    experiment_name: row.experiment_name,
    model_name: row.model_name,
    script_name: row.script_name,
    script_sha256: row.script_sha256,
    requirements: row.requirements,
    timeout_seconds: row.timeout_seconds,
    submitted_at: row.created_at.toISOString(),
  };
}
