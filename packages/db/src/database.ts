import type { Kysely } from "kysely";
import { openEmbedded } from "./embedded.js";
import { checkHealth, type DatabaseHealth } from "./health.js";
import { describePostgresError, openPostgres } from "./postgres.js";

/** Which engine serves a {@link Database}. */
export type DatabaseKind = "postgres" | "embedded";

/** How to open a {@link Database}. */
export interface DatabaseOptions {
  /** PostgreSQL URL (DATABASE_URL). When absent, the embedded PGlite database is used. */
  url?: string;
  /**
   * Directory of the embedded database; in memory when absent. Ignored with `url`.
   * The directory is locked (`<dataDir>.lock`) while open: one process only.
   */
  dataDir?: string;
  /** pg pool size (default 10). */
  poolMax?: number;
  /**
   * Per-statement timeout for pg in ms (default 30 s), set as the session's `statement_timeout`;
   * 0 disables it. Not applied to the embedded database. {@link migrateToLatest} lifts it for
   * its own connection, since a migration or the wait for another migrator may take longer.
   */
  statementTimeoutMs?: number;
  /** How long pg waits for a new connection in ms before failing with UNAVAILABLE (default 10 s). */
  connectTimeoutMs?: number;
  /** Shown in `pg_stat_activity`, so operators see which service holds a connection. */
  applicationName?: string;
  /**
   * Told about errors of idle pooled connections (the server restarted or dropped them); the
   * pool already discarded them, so this is for logging. Password masked.
   */
  onIdleClientError?: (err: Error) => void;
}

/** An open database: a Kysely instance plus health and shutdown. */
export interface Database<T> {
  readonly db: Kysely<T>;
  readonly kind: DatabaseKind;
  /** `SELECT 1` with a timeout (default 5 s); never throws. */
  health(timeoutMs?: number): Promise<DatabaseHealth>;
  /** Ends the pool or closes PGlite (writing its data directory). Idempotent. */
  close(): Promise<void>;
}

const DEFAULT_POOL_MAX = 10;
const DEFAULT_STATEMENT_TIMEOUT_MS = 30_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_HEALTH_TIMEOUT_MS = 5_000;

/**
 * Opens PostgreSQL when `url` is set, otherwise the embedded PGlite database.
 *
 * PostgreSQL connects lazily: opening succeeds while the server is down, and queries fail with
 * DatabaseError UNAVAILABLE until it is back — use {@link Database.health} to report it.
 *
 * The embedded database runs inside this process and cannot be shared between processes, so in
 * a deployment without PostgreSQL only the job-scheduler opens it; every other service reaches
 * the data through the scheduler over NATS. It is one session: queries and transactions run one
 * at a time, and a query on `db` issued inside a transaction callback (instead of on the
 * transaction) waits for that transaction for ever. The same holds on PostgreSQL once the pool
 * is exhausted, so always use the transaction object.
 *
 * Both engines return the same JavaScript types: int8 and date as strings, timestamptz as Date.
 *
 * @throws DatabaseError INVALID_CONFIG for a malformed URL, LOCKED when `dataDir` is open
 * elsewhere, UNAVAILABLE when PGlite cannot open `dataDir`.
 */
export async function openDatabase<T>(opts: DatabaseOptions): Promise<Database<T>> {
  if (opts.url) {
    const url = opts.url;
    const postgres = openPostgres<T>({
      url,
      poolMax: opts.poolMax ?? DEFAULT_POOL_MAX,
      statementTimeoutMs: opts.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS,
      connectTimeoutMs: opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      applicationName: opts.applicationName,
      onIdleClientError: opts.onIdleClientError,
    });
    return handle(postgres.db, "postgres", postgres.close, (err) => describePostgresError(err, url));
  }
  const embedded = await openEmbedded<T>(opts.dataDir);
  return handle(embedded.db, "embedded", () => embedded.close(), describeError);
}

function handle<T>(
  db: Kysely<T>,
  kind: DatabaseKind,
  closeOnce: () => Promise<void>,
  describe: (err: unknown) => string,
): Database<T> {
  let closing: Promise<void> | undefined;
  return {
    db,
    kind,
    async health(timeoutMs = DEFAULT_HEALTH_TIMEOUT_MS) {
      if (closing) return { available: false, latencyMs: null, error: "the database has been closed" };
      return checkHealth(db as Kysely<any>, timeoutMs, describe);
    },
    close() {
      closing ??= closeOnce();
      return closing;
    },
  };
}

function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
