import type { Kysely, Migration } from "kysely";

/*
 * `resources`: what the job may use (memory, CPUs, processes, work directory), resolved by the
 * gateway against its maxima and carried to the runner in the claim. Null for jobs stored
 * before per-job limits existed and for jobs from a gateway that predates them: the runner then
 * applies its defaults.
 */
export const jobResourcesMigration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable("jobs").addColumn("resources", "jsonb").execute();
  },

  async down(db: Kysely<any>) {
    await db.schema.alterTable("jobs").dropColumn("resources").execute();
  },
};
