import { describe, expect, it } from "vitest";
import { JobSchema, JobSummarySchema, TrainingSubmittedSchema } from "@asgard/contracts";
import type { JobRow } from "../db/schema.js";
import { durationSeconds, toJob, toJobSummary, toLogLine, toTrainingSubmitted } from "./mapper.js";

function row(overrides: Partial<JobRow> = {}): JobRow {
  const created = new Date("2026-01-01T10:00:00.000Z");
  return {
    job_id: "job-1",
    tenant: "team-a",
    script_name: "train.py",
    script_sha256: "a".repeat(64),
    script_bytes: 12,
    experiment_name: "exp",
    model_name: "model",
    status: "running",
    phase: "running",
    attempt: 1,
    faults: [],
    claimed_seq: null,
    resources: null,
    runner_id: "r1",
    requirements: ["numpy"],
    environment_vars: { TOKEN: "secret-value" },
    tags: { team: "ml" },
    timeout_seconds: 300,
    run_id: "run-1",
    experiment_id: "1",
    model_version: null,
    logged_model_id: null,
    logged_model_uri: null,
    error: null,
    error_type: null,
    exit_code: null,
    registration_error: null,
    run_duration_seconds: null,
    cancel_requested: false,
    idempotency_key: "key",
    request_hash: "hash",
    created_at: created,
    updated_at: created,
    started_at: new Date("2026-01-01T10:00:01.000Z"),
    script_started_at: null,
    completed_at: null,
    deadline_at: null,
    last_heartbeat_at: null,
    published_at: created,
    log_bytes: "10",
    log_lines: 2,
    logs_truncated: false,
    pending_outcome: null,
    early_registration: null,
    env_key: null,
    env_cache_hit: null,
    traceparent: null,
    tracestate: null,
    ...overrides,
  };
}

describe("mapper", () => {
  it("maps a live job to the API shape, never showing environment variable values", () => {
    const job = toJob(row(), { logs: "a\nb", cut: false });
    expect(JobSchema.parse(job)).toEqual(job);
    expect(job).toMatchObject({
      job_id: "job-1",
      status: "running",
      phase: "running",
      logs: "a\nb",
      timeout: 300,
      duration_seconds: null,
      started_at: "2026-01-01T10:00:01.000Z",
      logs_truncated: false,
      tenant: "team-a",
    });
    expect(JSON.stringify(job)).not.toContain("secret-value");
  });

  it("reports the duration from claim to end and no phase once terminal", () => {
    const done = row({ status: "completed", phase: "registering", completed_at: new Date("2026-01-01T10:01:02.500Z"), model_version: "2" });
    expect(durationSeconds(done)).toBe(61.5);
    const summary = toJobSummary(done);
    expect(JobSummarySchema.parse(summary)).toEqual(summary);
    expect(summary).toMatchObject({ phase: null, duration_seconds: 61.5, model_version: "2" });
    expect(summary).not.toHaveProperty("logs");
    expect(durationSeconds(row({ started_at: null, completed_at: new Date() }))).toBeNull();
  });

  it("shows logs_truncated when the store or the answer cut the log", () => {
    expect(toJob(row({ logs_truncated: true }), { logs: "", cut: false }).logs_truncated).toBe(true);
    expect(toJob(row(), { logs: "", cut: true }).logs_truncated).toBe(true);
  });

  it("maps a log line and the runners' work item", () => {
    expect(toLogLine({ stream: "stderr", text: "x", at: new Date("2026-01-01T00:00:00.000Z") })).toEqual({
      stream: "stderr",
      text: "x",
      at: "2026-01-01T00:00:00.000Z",
    });
    const event = toTrainingSubmitted(row());
    expect(TrainingSubmittedSchema.parse(event)).toEqual(event);
    expect(event).toMatchObject({ event_id: "job-1", job_id: "job-1", tenant: "team-a", script_sha256: "a".repeat(64), timeout_seconds: 300 });
    expect(JSON.stringify(event)).not.toContain("secret-value");
  });
});
