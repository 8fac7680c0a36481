/** Stable codes of {@link DatabaseError}; callers branch on these, never on messages. */
export type DatabaseErrorCode =
  /** The database could not be reached or opened (connection refused, timeout, unreadable data directory). */
  | "UNAVAILABLE"
  /** The options are unusable (malformed URL, unsupported scheme). */
  | "INVALID_CONFIG"
  /** The embedded data directory is already open in this or another process. */
  | "LOCKED"
  /** A migration, or the migrator itself, failed; see {@link MigrationError}. */
  | "MIGRATION_FAILED";

/** Every error this package raises. Messages never contain a database password. */
export class DatabaseError extends Error {
  override readonly name: string = "DatabaseError";
  readonly code: DatabaseErrorCode;

  constructor(code: DatabaseErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** A migration run failed; every migration of that run was rolled back (PostgreSQL DDL is transactional). */
export class MigrationError extends DatabaseError {
  override readonly name = "MigrationError";
  /** The migration that failed, or null when the migrator failed outside any single migration. */
  readonly migration: string | null;

  constructor(migration: string | null, message: string, options?: { cause?: unknown }) {
    super("MIGRATION_FAILED", message, options);
    this.migration = migration;
  }
}

/** SQLSTATE of a unique-constraint violation. */
export const UNIQUE_VIOLATION = "23505";

/**
 * The SQLSTATE (`err.code`, e.g. "23505") of a PostgreSQL error, looking through `cause` chains.
 * Both pg and PGlite put it on the error they throw.
 */
export function pgErrorCode(err: unknown): string | undefined {
  return findPgError(err)?.code;
}

/**
 * True when `err` (or one of its causes) is a unique-constraint violation, optionally of the
 * named constraint — so a repository can turn "duplicate name" into a conflict without
 * mistaking another index for it.
 */
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  const pgErr = findPgError(err);
  if (pgErr?.code !== UNIQUE_VIOLATION) return false;
  return constraint === undefined || pgErr.constraint === constraint;
}

interface PgErrorFields {
  code: string;
  constraint?: string;
}

/** SQLSTATEs are five characters of digits and upper-case letters; Node's `code`s ("ECONNREFUSED") are not. */
const SQLSTATE = /^[0-9A-Z]{5}$/;

function findPgError(err: unknown): PgErrorFields | undefined {
  let current: unknown = err;
  // A bounded walk: cause chains can be cyclic.
  for (let depth = 0; depth < 8 && typeof current === "object" && current !== null; depth++) {
    const candidate = current as { code?: unknown; constraint?: unknown; cause?: unknown };
    if (typeof candidate.code === "string" && SQLSTATE.test(candidate.code)) {
      return {
        code: candidate.code,
        ...(typeof candidate.constraint === "string" ? { constraint: candidate.constraint } : {}),
      };
    }
    current = candidate.cause;
  }
  return undefined;
}
