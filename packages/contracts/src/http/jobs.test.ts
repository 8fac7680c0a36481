import { describe, expect, it } from "vitest";
import { JobListResponseSchema, JobSchema, JobSummarySchema, LogEndEventSchema, LogLinesEventSchema, parseJobListQuery, parseLogStreamQuery } from "./jobs.js";
import { expectAccepted, expectRefused } from "./test-helpers.js";

const job = {
  job_id: "1e2a6715",
  script_name: "train.py",
  experiment_name: "my-experiment",
  model_name: "my-model",
  status: "completed",
  run_id: "b1a279bbef814cafb8055e2b95d24f7c",
  model_version: null,
  logs: "Installing requirements...\nAccuracy: 0.9450\n",
  error: null,
  created_at: "2025-10-31T10:00:00.000Z",
  started_at: "2025-10-31T10:00:01.000Z",
  completed_at: "2025-10-31T10:00:31.000Z",
  duration_seconds: 30,
  phase: null,
  attempt: 1,
  error_type: null,
  exit_code: 0,
  registration_error: "Model registration failed: no model was logged",
  cancel_requested: false,
  requirements: ["scikit-learn"],
  tags: { version: "1.0" },
  timeout: 300,
  logs_truncated: false,
  tenant: "team-a",
};

describe("job shapes", () => {
  it("holds the original's fields and the extensions, and no environment values", () => {
    expect(JobSchema.parse(job)).toEqual(job);
    expect(Object.keys(JobSchema.shape)).not.toContain("environment_vars");
    expect(JobSchema.safeParse({ ...job, status: "done" }).success).toBe(false);
    expect(JobSchema.safeParse({ ...job, phase: "registering", status: "running" }).success).toBe(true);
  });

  it("reads a job without a tenant (from a scheduler that predates tenants) as the default tenant's", () => {
    const { tenant: _tenant, ...untenanted } = job;
    expect(JobSchema.parse(untenanted).tenant).toBe("default");
  });

  it("lists jobs without their logs", () => {
    const { logs: _logs, ...summary } = job;
    expect(JobSummarySchema.parse(summary)).toEqual(summary);
    expect(JobListResponseSchema.parse({ jobs: [summary], next_page_token: null }).jobs).toHaveLength(1);
  });

  it("describes the log stream events", () => {
    const lines = { job_id: "j", attempt: 1, offset: 0, next_offset: 1, lines: [{ stream: "stdout", text: "hi", at: "2025-10-31T10:00:00.000Z" }] };
    expect(LogLinesEventSchema.parse(lines)).toEqual(lines);
    expect(LogEndEventSchema.parse({ job_id: "j", status: "failed", next_offset: 1 })).toBeTruthy();
    expect(LogEndEventSchema.safeParse({ job_id: "j", status: "running", next_offset: 1 }).success).toBe(false);
  });
});

describe("parseJobListQuery", () => {
  it("defaults the page size to 50", () => {
    expect(expectAccepted(parseJobListQuery({})).value).toEqual({ status: undefined, experiment_name: undefined, tenant: undefined, limit: 50, page_token: undefined });
  });

  it("reads every filter", () => {
    const query = { status: "running", experiment_name: "exp", tenant: "team-a", limit: "200", page_token: "t" };
    expect(expectAccepted(parseJobListQuery(query)).value).toEqual({ status: "running", experiment_name: "exp", tenant: "team-a", limit: 200, page_token: "t" });
  });

  it("takes the last value of a repeated parameter", () => {
    expect(expectAccepted(parseJobListQuery({ limit: ["5", "7"] })).value.limit).toBe(7);
  });

  it.each([
    ["limit", "0"],
    ["limit", "201"],
    ["limit", "abc"],
    ["status", "done"],
    ["tenant", "Team A"],
    ["tenant", "api"],
    ["bogus", "1"],
  ])("refuses %s=%j", (field, value) => {
    expectRefused(parseJobListQuery({ [field]: value }), 422, field);
  });
});

describe("parseLogStreamQuery", () => {
  it("starts at 0, or at the offset given", () => {
    expect(expectAccepted(parseLogStreamQuery({})).value.offset).toBe(0);
    expect(expectAccepted(parseLogStreamQuery({ offset: "120" })).value.offset).toBe(120);
  });

  it("lets Last-Event-ID win over offset", () => {
    expect(expectAccepted(parseLogStreamQuery({ offset: "3" }, "40")).value.offset).toBe(40);
  });

  it("refuses a bad offset or Last-Event-ID", () => {
    expectRefused(parseLogStreamQuery({ offset: "-1" }), 422, "offset");
    expectRefused(parseLogStreamQuery({}, "x"), 422, "offset");
    expectRefused(parseLogStreamQuery({ from: "1" }), 422, "from");
  });
});
