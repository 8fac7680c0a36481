import type { Migration } from "kysely";

/** The job-scheduler's migrations, date-prefixed; they never import application code. */
export const migrations: Record<string, Migration> = {};
