import { sql, type Kysely, type Migration } from "kysely";

/*
 * The attempts a job lost to platform faults (runner lost, MLflow unreachable while the run was
 * set up, the runner's own failure): the job is retried up to a bound, and when the attempts run
 * out its error names these faults. Jobs stored before this migration start with none.
 */
export const attemptFaultsMigration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema
      .alterTable("jobs")
      .addColumn("faults", "jsonb", (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
      .execute();
  },

  async down(db: Kysely<any>) {
    await db.schema.alterTable("jobs").dropColumn("faults").execute();
  },
};
