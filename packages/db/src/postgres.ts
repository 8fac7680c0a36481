import { Kysely, PostgresDialect, type PostgresPool, type PostgresPoolClient } from "kysely";
import pg from "pg";
import { DatabaseError } from "./errors.js";
import { redactText, redactUrl, sanitizeError } from "./redact.js";
import { pgTypes } from "./type-parsers.js";

/** Settings of the PostgreSQL pool; see {@link DatabaseOptions} for their meaning. */
export interface PostgresSettings {
  url: string;
  poolMax: number;
  statementTimeoutMs: number;
  connectTimeoutMs: number;
  applicationName: string | undefined;
  onIdleClientError: ((err: Error) => void) | undefined;
}

/** Throws INVALID_CONFIG for a URL pg would reject later with the URL (password included) in its error. */
export function validatePostgresUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new DatabaseError("INVALID_CONFIG", `the database URL is not a valid URL: ${redactUrl(url)}`);
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    throw new DatabaseError(
      "INVALID_CONFIG",
      `the database URL must start with postgres:// or postgresql://, got ${redactUrl(url)}`,
    );
  }
}

/** A Kysely instance over a lazily connecting pg pool: nothing is contacted until the first query. */
export function openPostgres<T>(settings: PostgresSettings): { db: Kysely<T>; close(): Promise<void> } {
  validatePostgresUrl(settings.url);
  const pool = new pg.Pool({
    connectionString: settings.url,
    max: settings.poolMax,
    // pg sends it as a startup parameter, so it is the session default of every connection.
    statement_timeout: settings.statementTimeoutMs,
    // pg's default is to wait for ever on a host that drops packets.
    connectionTimeoutMillis: settings.connectTimeoutMs,
    types: pgTypes,
    ...(settings.applicationName ? { application_name: settings.applicationName } : {}),
  });
  // An idle client that loses its server emits "error" on the pool; unhandled, that ends the
  // process. The pool already dropped the client and the next query opens a fresh one.
  pool.on("error", (err) => settings.onIdleClientError?.(redactedError(err, settings.url)));
  const db = new Kysely<T>({ dialect: new PostgresDialect({ pool: redactingPool(pool, settings.url) }) });
  return {
    db,
    async close() {
      await db.destroy();
      // Kysely skips its driver when no query ever ran; ending the pool makes later use fail.
      if (!pool.ended) await pool.end();
    },
  };
}

/** Describes a failure of this database for health reports and logs, password masked. */
export function describePostgresError(err: unknown, url: string): string {
  const message = err instanceof Error ? err.message : String(err);
  return redactText(message || (err as { code?: string } | null)?.code || "unknown error", url);
}

/**
 * Connection failures are the only pg errors that can carry connection details; server errors
 * on an open connection never hold the client's password. So checking out a client is where
 * errors are masked and turned into UNAVAILABLE.
 */
function redactingPool(pool: pg.Pool, url: string): PostgresPool {
  return {
    async connect(): Promise<PostgresPoolClient> {
      try {
        return await pool.connect();
      } catch (err) {
        throw new DatabaseError(
          "UNAVAILABLE",
          `cannot connect to ${redactUrl(url)}: ${describePostgresError(err, url)}`,
          { cause: sanitizeError(err, url) },
        );
      }
    },
    end: () => pool.end(),
  };
}

function redactedError(err: Error, url: string): Error {
  const clean = sanitizeError(err, url);
  return clean instanceof Error ? clean : new Error(String(clean));
}
