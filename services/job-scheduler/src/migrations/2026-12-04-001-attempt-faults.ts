import { sql, type Kysely, type Migration } from "kysely";

/*
 * `faults`: the attempts a job lost to platform faults (runner lost, MLflow unreachable while
 * the run was set up, the runner's own failure): the job is retried up to a bound, and when the
 * attempts run out its error names these faults. Jobs stored before this migration have none.
 * `claimed_seq`: the stream sequence of the message the current attempt was claimed from, so
 * that a re-published copy of the job's message cannot take over a live attempt (null: unknown).
 */
export const attemptFaultsMigration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .alterTable("jobs")
      .addColumn("faults", "jsonb", (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
      .execute();
    await db.schema.alterTable("jobs").addColumn("claimed_seq", "bigint").execute();
  },

  async down(db: Kysely<any>) {
    await db.schema.alterTable("jobs").dropColumn("claimed_seq").execute();
    await db.schema.alterTable("jobs").dropColumn("faults").execute();
  },
};
