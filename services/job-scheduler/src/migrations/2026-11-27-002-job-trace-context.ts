import type { Kysely, Migration } from "kysely";

/*
 * The W3C trace context a job was created in (`traceparent`, and `tracestate` when the caller
 * sent one). Events about the job are published later — by the outbox relay, after a restart —
 * so the context travels with the row, not with the request. Nullable: jobs stored before this
 * migration have none, and their events go out without trace headers.
 */
export const jobTraceContextMigration: Migration = {
  async up(db: Kysely<any>) {
    await db.schema.alterTable("jobs").addColumn("traceparent", "text").execute();
    await db.schema.alterTable("jobs").addColumn("tracestate", "text").execute();
  },

  async down(db: Kysely<any>) {
    await db.schema.alterTable("jobs").dropColumn("tracestate").execute();
    await db.schema.alterTable("jobs").dropColumn("traceparent").execute();
  },
};
