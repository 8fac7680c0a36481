import type { Migration } from "kysely";
import { jobsMigration } from "./2026-11-27-001-jobs.js";
import { jobTraceContextMigration } from "./2026-11-27-002-job-trace-context.js";
import { attemptFaultsMigration } from "./2026-12-04-001-attempt-faults.js";
import { jobTenantsMigration } from "./2026-12-04-002-job-tenants.js";
import { jobResourcesMigration } from "./2026-12-04-003-job-resources.js";

/** The job-scheduler's migrations, date-prefixed; they never import application code. */
export const migrations: Record<string, Migration> = {
  "2026-11-27-001-jobs": jobsMigration,
  "2026-11-27-002-job-trace-context": jobTraceContextMigration,
  "2026-12-04-001-attempt-faults": attemptFaultsMigration,
  "2026-12-04-002-job-tenants": jobTenantsMigration,
  "2026-12-04-003-job-resources": jobResourcesMigration,
};
