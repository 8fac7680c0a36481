import { AbortedTransactionError, sql, type Kysely } from "kysely";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MigrationError, isUniqueViolation, migrateToLatest, pgErrorCode, type Database } from "../src/index.js";
import { suiteTitle, targets, type FreshDatabase } from "./support/targets.js";
import {
  findWidget,
  insertWidget,
  moveStock,
  sampleMigrations,
  updateWidget,
  type SampleSchema,
} from "./support/widgets.js";

describe(suiteTitle("database"), () => {
  describe.each(targets)("on $name", (target) => {
    let fresh: FreshDatabase<SampleSchema>;
    let database: Database<SampleSchema>;
    let db: Kysely<SampleSchema>;

    beforeEach(async () => {
      fresh = await target.fresh<SampleSchema>();
      database = fresh.database;
      db = database.db;
    });
    afterEach(async () => {
      await fresh.dispose();
    });

    describe("migrateToLatest", () => {
      it("applies every migration once; a second call applies nothing", async () => {
        expect(await migrateToLatest(db, sampleMigrations)).toEqual({
          applied: ["2025-01-01-widgets", "2025-02-01-widget-made-on"],
        });
        expect(await migrateToLatest(db, sampleMigrations)).toEqual({ applied: [] });
        const recorded = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db);
        expect(recorded.rows.map((r) => r.name)).toEqual(["2025-01-01-widgets", "2025-02-01-widget-made-on"]);
      });

      it("applies only the migrations added since the last run", async () => {
        const { ["2025-02-01-widget-made-on"]: later, ...first } = sampleMigrations;
        expect((await migrateToLatest(db, first)).applied).toEqual(["2025-01-01-widgets"]);
        expect((await migrateToLatest(db, { ...first, "2025-02-01-widget-made-on": later! })).applied).toEqual([
          "2025-02-01-widget-made-on",
        ]);
      });

      it("keeps its records in the table it is given", async () => {
        await migrateToLatest(db, sampleMigrations, { tableName: "widget_migrations" });
        const recorded = await sql<{ n: string }>`select count(*) as n from widget_migrations`.execute(db);
        expect(recorded.rows[0]?.n).toBe("2");
      });

      it("runs a parameterless multi-statement migration", async () => {
        await migrateToLatest(db, {
          "2025-03-01-script": {
            async up(m) {
              await sql`create table a (x int); create table b (y int); insert into a values (1);`.execute(m);
            },
          },
        });
        const rows = await sql<{ x: number }>`select x from a`.execute(db);
        expect(rows.rows).toEqual([{ x: 1 }]);
      });

      it("names the failed migration and rolls back the whole run", async () => {
        const broken = {
          ...sampleMigrations,
          "2025-03-01-broken": {
            async up(m: Kysely<any>) {
              await sql`alter table no_such_table add column x int`.execute(m);
            },
          },
        };
        const failure = await migrateToLatest(db, broken).catch((err: unknown) => err);
        expect(failure).toBeInstanceOf(MigrationError);
        expect(failure).toMatchObject({ code: "MIGRATION_FAILED", migration: "2025-03-01-broken" });
        expect((failure as Error).message).toMatch(/^migration "2025-03-01-broken" failed: .*no_such_table/);
        expect(pgErrorCode(failure)).toBe("42P01");
        const tables = await db.introspection.getTables();
        expect(tables.map((t) => t.name)).not.toContain("widgets");
        expect((await migrateToLatest(db, sampleMigrations)).applied).toHaveLength(2);
      });

      it("refuses a migration whose name does not start with a date", async () => {
        const failure = await migrateToLatest(db, { widgets: sampleMigrations["2025-01-01-widgets"]! }).catch(
          (err: unknown) => err,
        );
        expect(failure).toMatchObject({ name: "MigrationError", migration: "widgets" });
        expect(await db.introspection.getTables()).toEqual([]);
      });

      it("applies each migration once when two instances migrate at the same time", async () => {
        const peer = await fresh.peer();
        let runs = 0;
        const slow = {
          ...sampleMigrations,
          "2025-03-01-slow": {
            async up(m: Kysely<any>) {
              runs += 1;
              // Long enough that the other caller arrives while this one holds the lock.
              await sql`select pg_sleep(0.3)`.execute(m);
              await m.schema.createTable("slow").addColumn("id", "integer").execute();
            },
          },
        };
        const [a, b] = await Promise.all([migrateToLatest(db, slow), migrateToLatest(peer.db, slow)]);
        expect([...a.applied, ...b.applied].sort()).toEqual(Object.keys(slow).sort());
        expect(runs).toBe(1);
        const recorded = await sql<{ n: string }>`select count(*) as n from kysely_migration`.execute(db);
        expect(recorded.rows[0]?.n).toBe("3");
      });
    });

    describe("a repository over a sample table", () => {
      beforeEach(async () => {
        await migrateToLatest(db, sampleMigrations);
      });

      it("inserts, selects and updates rows with the same types on every engine", async () => {
        const inserted = await insertWidget(db, { name: "gear", stock: 3, tags: ["metal", "small"], made_on: "2024-02-29" });
        expect(inserted).toEqual({
          id: expect.stringMatching(/^\d+$/),
          name: "gear",
          stock: 3,
          tags: ["metal", "small"],
          made_on: "2024-02-29",
          created_at: expect.any(Date),
        });
        expect(await findWidget(db, "gear")).toEqual(inserted);
        expect(await findWidget(db, "sprocket")).toBeUndefined();

        expect(await updateWidget(db, inserted.id, { stock: 7, made_on: null })).toBe(1n);
        expect(await updateWidget(db, "999999", { stock: 1 })).toBe(0n);
        expect(await findWidget(db, "gear")).toMatchObject({ stock: 7, made_on: null });

        const counted = await db.selectFrom("widgets").select((eb) => eb.fn.countAll().as("n")).executeTakeFirstOrThrow();
        expect(counted.n).toBe("1");
        const deleted = await db.deleteFrom("widgets").where("name", "=", "nothing").executeTakeFirst();
        expect(deleted.numDeletedRows).toBe(0n);
      });

      it("rolls a transaction back when a statement in it fails", async () => {
        await insertWidget(db, { name: "a", stock: 1 });
        await insertWidget(db, { name: "b", stock: 0 });
        const failure = await moveStock(db, "a", "b", 5).catch((err: unknown) => err);
        expect(pgErrorCode(failure)).toBe("23514");
        expect((await findWidget(db, "a"))?.stock).toBe(1);
        expect((await findWidget(db, "b"))?.stock).toBe(0);

        await moveStock(db, "a", "b", 1);
        expect((await findWidget(db, "a"))?.stock).toBe(0);
        expect((await findWidget(db, "b"))?.stock).toBe(1);
      });

      it("rolls a transaction back when its callback throws", async () => {
        const failure = await db
          .transaction()
          .execute(async (trx) => {
            await insertWidget(trx, { name: "ghost", stock: 1 });
            throw new Error("changed my mind");
          })
          .catch((err: unknown) => err);
        expect(failure).toMatchObject({ message: "changed my mind" });
        expect(await findWidget(db, "ghost")).toBeUndefined();
      });

      it("reports a transaction that swallowed a failed statement instead of committing it", async () => {
        const failure = await db
          .transaction()
          .execute(async (trx) => {
            await insertWidget(trx, { name: "kept?", stock: 1 });
            await insertWidget(trx, { name: "kept?", stock: 1 }).catch(() => undefined);
          })
          .catch((err: unknown) => err);
        expect(failure).toBeInstanceOf(AbortedTransactionError);
        expect(await findWidget(db, "kept?")).toBeUndefined();
        // The engine is usable afterwards.
        await insertWidget(db, { name: "after", stock: 1 });
      });

      it("keeps concurrent transactions apart", async () => {
        await insertWidget(db, { name: "pool", stock: 100 });
        const names = Array.from({ length: 8 }, (_, i) => `w${i}`);
        await Promise.all(names.map((name) => insertWidget(db, { name, stock: 0 })));
        const outcomes = await Promise.allSettled(
          names.map((name, i) =>
            db.transaction().execute(async (trx) => {
              await trx.updateTable("widgets").set((eb) => ({ stock: eb("stock", "+", 1) })).where("name", "=", name).execute();
              // Every other transaction fails after its first write; its write must vanish
              // without touching the others, which interleave with it on PostgreSQL and queue
              // behind it on the embedded engine.
              if (i % 2 === 1) throw new Error(`abort ${name}`);
              await trx.updateTable("widgets").set((eb) => ({ stock: eb("stock", "-", 1) })).where("name", "=", "pool").execute();
            }),
          ),
        );
        expect(outcomes.map((o) => o.status)).toEqual(names.map((_, i) => (i % 2 === 1 ? "rejected" : "fulfilled")));
        const rows = await db.selectFrom("widgets").select(["name", "stock"]).orderBy("name").execute();
        expect(Object.fromEntries(rows.map((r) => [r.name, r.stock]))).toEqual({
          pool: 96,
          ...Object.fromEntries(names.map((name, i) => [name, i % 2 === 1 ? 0 : 1])),
        });
      });

      it("rolls back to a savepoint inside a transaction", async () => {
        const trx = await db.startTransaction().execute();
        await insertWidget(trx, { name: "outer", stock: 1 });
        const inner = await trx.savepoint("inner").execute();
        await insertWidget(inner, { name: "inner", stock: 1 });
        const afterRollback = await inner.rollbackToSavepoint("inner").execute();
        await afterRollback.commit().execute();
        expect(await findWidget(db, "outer")).toBeDefined();
        expect(await findWidget(db, "inner")).toBeUndefined();
      });

      it("honours a read-only transaction", async () => {
        const failure = await db
          .transaction()
          .setAccessMode("read only")
          .execute((trx) => insertWidget(trx, { name: "nope", stock: 1 }))
          .catch((err: unknown) => err);
        expect(pgErrorCode(failure)).toBe("25006");
        expect(await findWidget(db, "nope")).toBeUndefined();
      });

      it("surfaces a unique violation with pg code 23505", async () => {
        await insertWidget(db, { name: "twin", stock: 1 });
        const failure = await insertWidget(db, { name: "twin", stock: 2 }).catch((err: unknown) => err);
        expect(failure).toMatchObject({ code: "23505", constraint: "widgets_name_key" });
        expect(isUniqueViolation(failure)).toBe(true);
        expect(isUniqueViolation(failure, "widgets_name_key")).toBe(true);
        expect(isUniqueViolation(failure, "widgets_pkey")).toBe(false);
        expect(isUniqueViolation(new Error("wrapped", { cause: failure }))).toBe(true);

        const otherFailure = await insertWidget(db, { name: "neg", stock: -1 }).catch((err: unknown) => err);
        expect(isUniqueViolation(otherFailure)).toBe(false);
      });
    });

    describe("health", () => {
      it("reports a live database as available", async () => {
        const health = await database.health();
        expect(health).toEqual({ available: true, latencyMs: expect.any(Number), error: null });
        expect(health.latencyMs).toBeGreaterThanOrEqual(0);
      });

      it("reports a closed database as unavailable without throwing", async () => {
        await database.close();
        const health = await database.health();
        expect(health).toMatchObject({ available: false, latencyMs: null });
        expect(health.error).toEqual(expect.any(String));
        await database.close();
      });
    });
  });
});
