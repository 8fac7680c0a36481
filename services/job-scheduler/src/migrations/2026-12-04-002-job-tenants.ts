import { sql, type Kysely, type Migration } from "kysely";

/*
 * Every job belongs to a tenant. Jobs stored before tenants existed belong to `default` (the
 * column's default fills them; PostgreSQL adds a column with a constant default without
 * rewriting the table).
 *
 * Idempotency keys become per tenant: the same key in two tenants names two jobs. The unique
 * constraint moves from (idempotency_key) to (tenant, idempotency_key); the scheduler releases
 * a key older than its lifetime (24 h) before reusing it, so uniqueness still decides races.
 *
 * Indexes: the scoped lists (a tenant's jobs newest first, by status, by experiment) and the
 * count of a tenant's live jobs that bounds them (queued + running).
 */
export const jobTenantsMigration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .alterTable("jobs")
      .addColumn("tenant", "text", (c) => c.notNull().defaultTo("default"))
      .execute();
    await db.schema.alterTable("jobs").dropConstraint("jobs_idempotency_key_unique").execute();
    await db.schema
      .alterTable("jobs")
      .addUniqueConstraint("jobs_tenant_idempotency_key_unique", ["tenant", "idempotency_key"])
      .execute();

    await db.schema
      .createIndex("jobs_tenant_created_idx")
      .on("jobs")
      .columns(["tenant", "created_at desc", "job_id desc"])
      .execute();
    await db.schema
      .createIndex("jobs_tenant_status_created_idx")
      .on("jobs")
      .columns(["tenant", "status", "created_at desc", "job_id desc"])
      .execute();
    await db.schema
      .createIndex("jobs_tenant_experiment_created_idx")
      .on("jobs")
      .columns(["tenant", "experiment_name", "created_at desc", "job_id desc"])
      .execute();
    await db.schema
      .createIndex("jobs_tenant_live_idx")
      .on("jobs")
      .column("tenant")
      .where(sql.ref("status"), "in", ["queued", "running"])
      .execute();
  },

  async down(db: Kysely<any>) {
    await db.schema.dropIndex("jobs_tenant_live_idx").execute();
    await db.schema.dropIndex("jobs_tenant_experiment_created_idx").execute();
    await db.schema.dropIndex("jobs_tenant_status_created_idx").execute();
    await db.schema.dropIndex("jobs_tenant_created_idx").execute();
    await db.schema.alterTable("jobs").dropConstraint("jobs_tenant_idempotency_key_unique").execute();
    // Keys repeated across tenants cannot go back under a global unique constraint: keep the first.
    await sql`
      update jobs set idempotency_key = null
      where idempotency_key is not null and job_id not in (
        select distinct on (idempotency_key) job_id from jobs
        where idempotency_key is not null
        order by idempotency_key, created_at, job_id
      )`.execute(db);
    await db.schema.alterTable("jobs").addUniqueConstraint("jobs_idempotency_key_unique", ["idempotency_key"]).execute();
    await db.schema.alterTable("jobs").dropColumn("tenant").execute();
  },
};
