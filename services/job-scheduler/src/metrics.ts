import { JOB_STATUSES, type JobStatus } from "@asgard/contracts";
import { Counter, Gauge, Histogram, type Registry } from "@asgard/telemetry";
import type { JobRow } from "./db/schema.js";
import { durationSeconds } from "./domain/mapper.js";

/** The scheduler's Prometheus metrics. */
export interface SchedulerMetrics {
  /** Sets the per-status gauge from a fresh count. */
  setJobCounts(counts: ReadonlyArray<{ status: JobStatus; count: number }>): void;
  jobCreated(): void;
  /** A create was refused by a limit (`tenant_limit`: the tenant's live jobs). */
  jobRefused(reason: "tenant_limit"): void;
  /** A job turned terminal (called once per job, after its transaction committed). */
  jobFinished(row: JobRow): void;
  logLinesStored(n: number): void;
}

export function createSchedulerMetrics(registry: Registry): SchedulerMetrics {
  const byStatus = new Gauge({
    name: "asgard_scheduler_jobs",
    help: "Jobs in each status, as of the reconciler's last pass.",
    labelNames: ["status"] as const,
    registers: [registry],
  });
  const created = new Counter({
    name: "asgard_scheduler_jobs_created_total",
    help: "Jobs accepted (idempotent repeats not counted).",
    registers: [registry],
  });
  const refused = new Counter({
    name: "asgard_scheduler_jobs_refused_total",
    help: "Creates refused by a limit, by limit (tenant_limit: the tenant's queued + running jobs).",
    labelNames: ["reason"] as const,
    registers: [registry],
  });
  const finished = new Counter({
    name: "asgard_scheduler_jobs_finished_total",
    help: "Jobs that turned terminal, by final status.",
    labelNames: ["status"] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: "asgard_scheduler_job_duration_seconds",
    help: "From a runner's first claim to the end of the job (registration included).",
    labelNames: ["status"] as const,
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200],
    registers: [registry],
  });
  const logLines = new Counter({
    name: "asgard_scheduler_log_lines_stored_total",
    help: "Log lines stored (truncated output not counted).",
    registers: [registry],
  });
  return {
    setJobCounts(counts) {
      for (const status of JOB_STATUSES) byStatus.set({ status }, counts.find((c) => c.status === status)?.count ?? 0);
    },
    jobCreated: () => created.inc(),
    jobRefused: (reason) => refused.inc({ reason }),
    jobFinished(row) {
      finished.inc({ status: row.status });
      const seconds = durationSeconds(row);
      if (seconds !== null) duration.observe({ status: row.status }, seconds);
    },
    logLinesStored: (n) => logLines.inc(n),
  };
}
