import { sql, type Kysely, type Migration } from "kysely";

/*
 * The job store. Written against Kysely<any> with its own literals (statuses, phases), never
 * importing application code, so it stays what it was when it first ran.
 */
export const jobsMigration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .createTable("jobs")
      .addColumn("job_id", "text", (c) => c.primaryKey())
      .addColumn("script_name", "text", (c) => c.notNull())
      .addColumn("script_sha256", "text", (c) => c.notNull())
      .addColumn("script_bytes", "integer", (c) => c.notNull())
      .addColumn("experiment_name", "text", (c) => c.notNull())
      .addColumn("model_name", "text", (c) => c.notNull())
      .addColumn("status", "text", (c) =>
        c.notNull().check(sql`status in ('queued', 'running', 'completed', 'failed', 'cancelled')`),
      )
      .addColumn("phase", "text", (c) => c.check(sql`phase in ('queued', 'building_env', 'running', 'registering')`))
      .addColumn("attempt", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("runner_id", "text")
      .addColumn("requirements", "jsonb", (c) => c.notNull())
      .addColumn("environment_vars", "jsonb", (c) => c.notNull())
      .addColumn("tags", "jsonb", (c) => c.notNull())
      .addColumn("timeout_seconds", "integer", (c) => c.notNull())
      .addColumn("run_id", "text")
      .addColumn("experiment_id", "text")
      .addColumn("model_version", "text")
      .addColumn("logged_model_id", "text")
      .addColumn("logged_model_uri", "text")
      .addColumn("error", "text")
      .addColumn("error_type", "text")
      .addColumn("exit_code", "integer")
      .addColumn("registration_error", "text")
      .addColumn("run_duration_seconds", "double precision")
      .addColumn("cancel_requested", "boolean", (c) => c.notNull().defaultTo(false))
      .addColumn("idempotency_key", "text")
      .addColumn("request_hash", "text", (c) => c.notNull())
      .addColumn("created_at", "timestamptz", (c) => c.notNull())
      .addColumn("updated_at", "timestamptz", (c) => c.notNull())
      .addColumn("started_at", "timestamptz")
      .addColumn("script_started_at", "timestamptz")
      .addColumn("completed_at", "timestamptz")
      .addColumn("deadline_at", "timestamptz")
      .addColumn("last_heartbeat_at", "timestamptz")
      .addColumn("published_at", "timestamptz")
      // Bytes received, kept counting past the bound; bigint because a chatty hour-long job can pass 2 GiB.
      .addColumn("log_bytes", "bigint", (c) => c.notNull().defaultTo(0))
      .addColumn("log_lines", "integer", (c) => c.notNull().defaultTo(0))
      .addColumn("logs_truncated", "boolean", (c) => c.notNull().defaultTo(false))
      .addColumn("pending_outcome", "jsonb")
      .addColumn("early_registration", "jsonb")
      .addColumn("env_key", "text")
      .addColumn("env_cache_hit", "boolean")
      .addUniqueConstraint("jobs_idempotency_key_unique", ["idempotency_key"])
      .execute();

    await db.schema.createIndex("jobs_created_idx").on("jobs").columns(["created_at desc", "job_id desc"]).execute();
    await db.schema
      .createIndex("jobs_status_created_idx")
      .on("jobs")
      .columns(["status", "created_at desc", "job_id desc"])
      .execute();
    await db.schema
      .createIndex("jobs_experiment_created_idx")
      .on("jobs")
      .columns(["experiment_name", "created_at desc", "job_id desc"])
      .execute();
    // The outbox relay's query: stored but not yet acknowledged by the stream.
    await db.schema
      .createIndex("jobs_unpublished_idx")
      .on("jobs")
      .column("created_at")
      .where(sql.ref("status"), "=", "queued")
      .where(sql.ref("published_at"), "is", null)
      .execute();
    // The reconciler's queries: live jobs by deadline and by last heartbeat.
    await db.schema
      .createIndex("jobs_live_deadline_idx")
      .on("jobs")
      .column("deadline_at")
      .where(sql.ref("status"), "in", ["queued", "running"])
      .execute();
    await db.schema
      .createIndex("jobs_running_heartbeat_idx")
      .on("jobs")
      .column("last_heartbeat_at")
      .where(sql.ref("status"), "=", "running")
      .execute();

    await db.schema
      .createTable("job_logs")
      .addColumn("job_id", "text", (c) => c.notNull().references("jobs.job_id").onDelete("cascade"))
      .addColumn("line_no", "integer", (c) => c.notNull())
      .addColumn("attempt", "integer", (c) => c.notNull())
      // 0 for lines the scheduler writes itself (markers).
      .addColumn("batch", "integer", (c) => c.notNull())
      .addColumn("stream", "text", (c) => c.notNull().check(sql`stream in ('stdout', 'stderr', 'system')`))
      .addColumn("text", "text", (c) => c.notNull())
      .addColumn("at", "timestamptz", (c) => c.notNull())
      .addPrimaryKeyConstraint("job_logs_pk", ["job_id", "line_no"])
      .execute();

    await db.schema
      .createTable("job_log_batches")
      .addColumn("job_id", "text", (c) => c.notNull().references("jobs.job_id").onDelete("cascade"))
      .addColumn("attempt", "integer", (c) => c.notNull())
      .addColumn("batch", "integer", (c) => c.notNull())
      .addColumn("line_count", "integer", (c) => c.notNull())
      .addColumn("stored_at", "timestamptz", (c) => c.notNull())
      .addPrimaryKeyConstraint("job_log_batches_pk", ["job_id", "attempt", "batch"])
      .execute();
  },

  async down(db: Kysely<any>) {
    await db.schema.dropTable("job_log_batches").execute();
    await db.schema.dropTable("job_logs").execute();
    await db.schema.dropTable("jobs").execute();
  },
};
