import type { PGlite, Results } from "@electric-sql/pglite";
import {
  AbortedTransactionError,
  CompiledQuery,
  IdentifierNode,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  RawNode,
  createQueryId,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
  type TransactionSettings,
} from "kysely";
import { pgErrorCode } from "./errors.js";

/*
 * A Kysely dialect for PGlite, written here instead of using kysely-pglite-dialect 1.3 because
 * that one ignores a transaction's access mode (a "read only" transaction can write), has no
 * savepoints, cannot run a parameterless multi-statement script (pg can), and commits an
 * aborted transaction without telling anyone. Each of those would make code that passes on
 * PGlite fail on PostgreSQL, or the reverse.
 */

/** Kysely dialect over one PGlite instance. Closing the Kysely instance closes PGlite. */
export class PGliteDialect implements Dialect {
  constructor(private readonly pglite: PGlite) {}

  createAdapter(): DialectAdapter {
    return new PostgresAdapter();
  }

  createDriver(): Driver {
    return new PGliteDriver(this.pglite);
  }

  createQueryCompiler(): QueryCompiler {
    return new PostgresQueryCompiler();
  }

  createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new PostgresIntrospector(db);
  }
}

/** The SQLSTATE PostgreSQL raises for any statement in a transaction that already failed. */
const IN_FAILED_TRANSACTION = "25P02";

class PGliteDriver implements Driver {
  readonly #pglite: PGlite;
  readonly #connection: PGliteConnection;
  // PGlite is one backend session. Kysely's transaction is BEGIN … COMMIT on a connection it
  // holds, so a second caller must wait for the whole transaction, not just a statement, or its
  // statements would run inside someone else's transaction.
  #holder: Promise<void> = Promise.resolve();
  #release: (() => void) | undefined;
  #destroyed = false;

  constructor(pglite: PGlite) {
    this.#pglite = pglite;
    this.#connection = new PGliteConnection(pglite);
  }

  async init(): Promise<void> {
    await this.#pglite.waitReady;
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const previous = this.#holder;
    let release!: () => void;
    this.#holder = new Promise<void>((resolve) => {
      release = resolve;
    });
    await previous;
    if (this.#destroyed) {
      release();
      throw new Error("the embedded database has been closed");
    }
    this.#release = release;
    return this.#connection;
  }

  async releaseConnection(): Promise<void> {
    try {
      // A BEGIN left open by a caller (e.g. raw SQL through db.connection()) would otherwise
      // swallow every later statement of every caller into that transaction.
      if (!this.#destroyed && this.#pglite.isInTransaction()) await this.#pglite.exec("rollback");
    } finally {
      const release = this.#release;
      this.#release = undefined;
      release?.();
    }
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    let statement = "start transaction";
    if (settings.isolationLevel) statement += ` isolation level ${settings.isolationLevel}`;
    if (settings.accessMode) statement += ` ${settings.accessMode}`;
    await connection.executeQuery(CompiledQuery.raw(statement));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    // PostgreSQL answers COMMIT of a failed transaction with ROLLBACK and pg reports that
    // command tag; PGlite does not expose it, so probe the state before committing.
    const aborted = await this.#pglite.query("select 1").then(
      () => false,
      (err: unknown) => {
        if (pgErrorCode(err) === IN_FAILED_TRANSACTION) return true;
        throw err;
      },
    );
    await connection.executeQuery(CompiledQuery.raw("commit"));
    if (aborted) throw new AbortedTransactionError();
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("rollback"));
  }

  async savepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler["compileQuery"]): Promise<void> {
    await connection.executeQuery(compile(savepointCommand("savepoint", name), createQueryId()));
  }

  async rollbackToSavepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler["compileQuery"]): Promise<void> {
    await connection.executeQuery(compile(savepointCommand("rollback to", name), createQueryId()));
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler["compileQuery"]): Promise<void> {
    await connection.executeQuery(compile(savepointCommand("release", name), createQueryId()));
  }

  async destroy(): Promise<void> {
    if (this.#destroyed) return;
    // Let the current holder and everyone queued finish before the backend goes away.
    const previous = this.#holder;
    this.#holder = previous.then(async () => {
      this.#destroyed = true;
      await this.#pglite.close();
    });
    await this.#holder;
  }
}

function savepointCommand(command: string, name: string): RawNode {
  // IdentifierNode quotes the name, as kysely's own PostgreSQL driver does.
  return RawNode.createWithChildren([RawNode.createWithSql(`${command} `), IdentifierNode.create(name)]);
}

const COUNTED_COMMANDS = /^\s*(insert|update|delete|merge)\b/i;

class PGliteConnection implements DatabaseConnection {
  constructor(private readonly pglite: PGlite) {}

  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    const result =
      compiledQuery.parameters.length === 0
        ? lastResult(await this.pglite.exec(compiledQuery.sql))
        : await this.pglite.query<R>(compiledQuery.sql, [...compiledQuery.parameters]);
    const affected = result.affectedRows ?? 0;
    // pg reports a count (0 included) for INSERT/UPDATE/DELETE/MERGE only, and kysely's write
    // builders read it; PGlite reports 0 for everything else, CTE-wrapped writes included.
    const counted = affected > 0 || COUNTED_COMMANDS.test(compiledQuery.sql);
    return { rows: result.rows as R[], ...(counted ? { numAffectedRows: BigInt(affected) } : {}) };
  }

  async *streamQuery<R>(compiledQuery: CompiledQuery, chunkSize: number): AsyncIterableIterator<QueryResult<R>> {
    if (!Number.isInteger(chunkSize) || chunkSize <= 0) throw new Error("chunkSize must be a positive integer");
    // PGlite has no cursors over its in-process protocol: read once, hand out in chunks.
    const { rows } = await this.executeQuery<R>(compiledQuery);
    for (let i = 0; i < rows.length; i += chunkSize) yield { rows: rows.slice(i, i + chunkSize) };
  }
}

/**
 * A parameterless statement goes through the simple protocol, as pg sends it, so a migration
 * may hold several statements. Only the last statement's rows are kept.
 */
function lastResult(results: Results[]): Results {
  return results.at(-1) ?? { rows: [], fields: [], affectedRows: 0 };
}
