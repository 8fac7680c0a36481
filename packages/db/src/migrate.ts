import { Migrator, sql, type Kysely, type Migration, type MigrationResultSet } from "kysely";
import { MigrationError } from "./errors.js";

/** Options of {@link migrateToLatest}. */
export interface MigrateOptions {
  /** Table that records applied migrations (default kysely's `kysely_migration`); its lock table gets `_lock` appended. */
  tableName?: string;
}

/** A migration name starts with its date, so that sorting by name is sorting by age. */
const DATE_PREFIX = /^\d{4}-?\d{2}-?\d{2}/;

/**
 * Applies every migration not yet applied, in name order, and returns the names it applied.
 *
 * `migrations` is keyed by date-prefixed names (`2025-01-31-jobs`); each is `{ up, down? }`
 * written against `Kysely<any>` and never importing application code, so it stays valid as the
 * code moves on. Safe to call from several processes at once: kysely's migrator holds a
 * PostgreSQL advisory lock while it reads what ran and applies the rest, so each migration runs
 * once; on the embedded database callers queue on its single session. All pending migrations
 * run in one transaction, so a failure leaves the schema as it was.
 *
 * The connection's statement timeout is lifted for the run: waiting for another migrator's
 * lock, or a long index build, must not fail because a query timeout was meant for requests.
 *
 * @throws MigrationError naming the migration and carrying the database's error as `cause`;
 * DatabaseError UNAVAILABLE when no connection could be had at all (worth a retry, unlike a
 * broken migration).
 */
export async function migrateToLatest(
  db: Kysely<any>,
  migrations: Record<string, Migration>,
  opts: MigrateOptions = {},
): Promise<{ applied: string[] }> {
  for (const name of Object.keys(migrations)) {
    if (!DATE_PREFIX.test(name)) {
      throw new MigrationError(name, `migration "${name}" must start with its date (YYYY-MM-DD or YYYYMMDD)`);
    }
  }
  const tableName = opts.tableName ?? "kysely_migration";
  const result = await db.connection().execute(async (conn) => {
    await sql`set statement_timeout = 0`.execute(conn);
    try {
      const migrator = new Migrator({
        db: conn,
        provider: { getMigrations: async () => migrations },
        migrationTableName: tableName,
        migrationLockTableName: `${tableName}_lock`,
      });
      return await migrator.migrateToLatest();
    } finally {
      // Back to the session default (the pool's statement_timeout) before the pool reuses it.
      await sql`reset statement_timeout`.execute(conn).catch(() => undefined);
    }
  });
  if (result.error !== undefined) throw toMigrationError(result);
  return { applied: (result.results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName) };
}

function toMigrationError({ error, results }: MigrationResultSet): MigrationError {
  const cause = error instanceof Error ? error.message : String(error);
  const failed = results?.find((r) => r.status === "Error")?.migrationName ?? null;
  const message = failed ? `migration "${failed}" failed: ${cause}` : `migrations could not run: ${cause}`;
  return new MigrationError(failed, message, { cause: error });
}
