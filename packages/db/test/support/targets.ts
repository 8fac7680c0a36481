import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { inject } from "vitest";
import { createScratchDatabase } from "@asgard/test-support";
import { openDatabase, type Database } from "../../src/index.js";

/** One engine the shared suite runs against. */
export interface Target {
  name: string;
  /** A fresh, empty database, plus how to open a second handle on it and how to drop it. */
  fresh<T>(): Promise<FreshDatabase<T>>;
}

export interface FreshDatabase<T> {
  database: Database<T>;
  /**
   * A second handle on the same data, as a second service instance would have. PostgreSQL: a
   * new pool. Embedded: the same handle, because only one opener is allowed.
   */
  peer(): Promise<Database<T>>;
  dispose(): Promise<void>;
}

const infra = inject("infra");

const postgres: Target | null = infra.databaseUrl
  ? {
      name: "postgres",
      async fresh<T>() {
        if (!infra.postgresAdminUrl) throw new Error("the harness gave a database URL but no admin URL");
        // One database per test: suites and tests never see each other's tables.
        const scratch = await createScratchDatabase(infra.postgresAdminUrl, "asgard_db_test");
        const opened: Array<Database<T>> = [];
        const open = async () => {
          const database = await openDatabase<T>({ url: scratch.url, poolMax: 4 });
          opened.push(database);
          return database;
        };
        const database = await open();
        return {
          database,
          peer: open,
          async dispose() {
            await Promise.all(opened.map((d) => d.close()));
            await scratch.drop();
          },
        };
      },
    }
  : null;

function embedded(name: string, inDirectory: boolean): Target {
  return {
    name,
    async fresh<T>() {
      const dataDir = inDirectory ? join(infra.workDir, `pglite-${randomBytes(4).toString("hex")}`) : undefined;
      const database = await openDatabase<T>(dataDir ? { dataDir } : {});
      return { database, peer: async () => database, dispose: () => database.close() };
    },
  };
}

/** The engines of this run: the embedded ones always, PostgreSQL when DATABASE_URL is set. */
export const targets: Target[] = [
  ...(postgres ? [postgres] : []),
  embedded("embedded (in memory)", false),
  embedded("embedded (data directory)", true),
];

/** Suite title that says whether PostgreSQL took part, so a run without it is visible. */
export const suiteTitle = (what: string): string =>
  postgres ? what : `${what} — embedded only (DATABASE_URL not set, PostgreSQL not tested)`;
