import type { Kysely } from "kysely";
import { jsonb } from "../../src/db/json.js";

/*
 * How the release before tenants wrote a job: its repository's `insertJob` and `NewJob`, kept
 * as they were (094d5e3, services/job-scheduler/src/db/jobs.ts) so a test can fill a database
 * the way that release did and then migrate it. The current repository writes a tenant, which
 * that schema has no column for.
 */

/** A job as created: queued, not yet published. */
export interface NewJobBeforeTenants {
  job_id: string;
  script_name: string;
  script_sha256: string;
  script_bytes: number;
  experiment_name: string;
  model_name: string;
  requirements: string[];
  environment_vars: Record<string, string>;
  tags: Record<string, string>;
  timeout_seconds: number;
  idempotency_key: string | null;
  request_hash: string;
  created_at: Date;
  deadline_at: Date;
  traceparent?: string | null;
  tracestate?: string | null;
}

/** Throws the database's unique violation when the idempotency key is taken. */
export async function insertJobBeforeTenants(db: Kysely<any>, job: NewJobBeforeTenants): Promise<void> {
  await db
    .insertInto("jobs")
    .values({
      ...job,
      requirements: jsonb(job.requirements),
      environment_vars: jsonb(job.environment_vars),
      tags: jsonb(job.tags),
      status: "queued",
      phase: "queued",
      updated_at: job.created_at,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}
