import { once } from "node:events";
import { createServer, type Server, type Socket } from "node:net";
import { inspect } from "node:util";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createScratchDatabase } from "@asgard/test-support";
import { DatabaseError, migrateToLatest, openDatabase, pgErrorCode } from "../src/index.js";
import { suiteTitle } from "./support/targets.js";

const PASSWORD = "pa55-w0rd-never-printed";

async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, "close");
  return port;
}

describe(suiteTitle("PostgreSQL specifics"), () => {
  describe("without a server", () => {
    it("opens lazily and reports health false with a message on a closed port", async () => {
      const url = `postgres://app:${PASSWORD}@127.0.0.1:${await closedPort()}/asgard`;
      const database = await openDatabase({ url });
      try {
        expect(database.kind).toBe("postgres");
        const health = await database.health(2_000);
        expect(health).toMatchObject({ available: false, latencyMs: null });
        expect(health.error).toMatch(/ECONNREFUSED/);
        expect(health.error).not.toContain(PASSWORD);
      } finally {
        await database.close();
      }
    });

    it("fails queries with UNAVAILABLE and never prints the password", async () => {
      const url = `postgres://app:${PASSWORD}@127.0.0.1:${await closedPort()}/asgard`;
      const database = await openDatabase({ url });
      try {
        const failure = await sql`select 1`.execute(database.db).catch((err: unknown) => err);
        expect(failure).toBeInstanceOf(DatabaseError);
        expect(failure).toMatchObject({ code: "UNAVAILABLE" });
        expect((failure as Error).message).toContain("app:***@127.0.0.1");
        expect(inspect(failure, { depth: 8 })).not.toContain(PASSWORD);
      } finally {
        await database.close();
      }
    });

    it("gives up on a server that never answers after the health timeout", async () => {
      const sockets: Socket[] = [];
      const silent: Server = createServer((socket) => sockets.push(socket));
      silent.listen(0, "127.0.0.1");
      await once(silent, "listening");
      const { port } = silent.address() as { port: number };
      const database = await openDatabase({ url: `postgres://app:${PASSWORD}@127.0.0.1:${port}/asgard`, connectTimeoutMs: 60_000 });
      try {
        const health = await database.health(200);
        expect(health).toEqual({ available: false, latencyMs: null, error: "no answer to SELECT 1 within 200 ms" });
      } finally {
        for (const socket of sockets) socket.destroy();
        silent.close();
        await database.close();
      }
    });

    it("rejects a malformed URL or another scheme with INVALID_CONFIG, password masked", async () => {
      const malformed = await openDatabase({ url: `postgres://app:${PASSWORD}@db:notaport/asgard` }).catch((err: unknown) => err);
      expect(malformed).toMatchObject({ code: "INVALID_CONFIG" });
      expect(inspect(malformed, { depth: 8 })).not.toContain(PASSWORD);

      const mysql = await openDatabase({ url: `mysql://app:${PASSWORD}@db/asgard` }).catch((err: unknown) => err);
      expect(mysql).toMatchObject({ code: "INVALID_CONFIG", message: expect.stringContaining("mysql://app:***@db/asgard") });
    });
  });

  const infra = inject("infra");
  if (infra.databaseUrl && infra.postgresAdminUrl) {
    const adminUrl = infra.postgresAdminUrl;

    describe("with a server", () => {
      let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
      beforeAll(async () => {
        scratch = await createScratchDatabase(adminUrl, "asgard_db_pg");
      });
      afterAll(async () => {
        await scratch.drop();
      });

      it("sets statement_timeout (30 s by default) and the application name on its connections", async () => {
        const database = await openDatabase({ url: scratch.url, applicationName: "asgard-db-test" });
        try {
          const settings = await sql<{ timeout: string; app: string }>`
            select current_setting('statement_timeout') as timeout, current_setting('application_name') as app`.execute(database.db);
          expect(settings.rows).toEqual([{ timeout: "30s", app: "asgard-db-test" }]);
        } finally {
          await database.close();
        }
      });

      it("cancels a statement over the timeout but lets migrations run longer", async () => {
        // One connection, so the migration and the queries after it share a session.
        const database = await openDatabase({ url: scratch.url, statementTimeoutMs: 200, poolMax: 1 });
        try {
          const slow = await sql`select pg_sleep(1)`.execute(database.db).catch((err: unknown) => err);
          expect(pgErrorCode(slow)).toBe("57014");

          const { applied } = await migrateToLatest(database.db, {
            "2025-01-01-slow": {
              async up(db) {
                await sql`select pg_sleep(0.5)`.execute(db);
                await db.schema.createTable("slow_made").addColumn("id", "integer").execute();
              },
            },
          });
          expect(applied).toEqual(["2025-01-01-slow"]);

          const after = await sql<{ timeout: string }>`select current_setting('statement_timeout') as timeout`.execute(database.db);
          expect(after.rows).toEqual([{ timeout: "200ms" }]);
        } finally {
          await database.close();
        }
      });

      it("reports an idle connection the server dropped, without crashing", async () => {
        const dropped: Error[] = [];
        let signal!: () => void;
        const reported = new Promise<void>((resolve) => {
          signal = resolve;
        });
        const victim = await openDatabase({
          url: scratch.url,
          applicationName: "asgard-db-victim",
          onIdleClientError: (err) => {
            dropped.push(err);
            signal();
          },
        });
        try {
          await sql`select 1`.execute(victim.db);
          const killer = await openDatabase({ url: scratch.url });
          await sql`select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'asgard-db-victim'`.execute(
            killer.db,
          );
          await killer.close();
          await reported;
          expect(dropped[0]?.message).toMatch(/terminat/);
          // The pool dropped the dead connection and opens a new one.
          expect((await victim.health()).available).toBe(true);
        } finally {
          await victim.close();
        }
      });
    });
  }
});
