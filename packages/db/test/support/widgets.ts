import { sql, type ColumnType, type Generated, type Insertable, type Kysely, type Migration, type Selectable, type Updateable } from "kysely";

/** A small sample table, standing in for a service's schema. */
export interface WidgetTable {
  id: Generated<string>;
  name: string;
  stock: number;
  tags: ColumnType<string[], string[] | undefined, string[]>;
  made_on: string | null;
  created_at: ColumnType<Date, Date | undefined, never>;
}

export interface SampleSchema {
  widgets: WidgetTable;
}

export type Widget = Selectable<WidgetTable>;
export type NewWidget = Insertable<WidgetTable>;
export type WidgetUpdate = Updateable<WidgetTable>;

export const sampleMigrations: Record<string, Migration> = {
  "2025-01-01-widgets": {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable("widgets")
        .addColumn("id", "bigserial", (c) => c.primaryKey())
        .addColumn("name", "text", (c) => c.notNull().unique())
        .addColumn("stock", "integer", (c) => c.notNull().check(sql`stock >= 0`))
        .addColumn("tags", sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
        .addColumn("created_at", "timestamptz", (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.dropTable("widgets").execute();
    },
  },
  "2025-02-01-widget-made-on": {
    async up(db: Kysely<any>) {
      await db.schema.alterTable("widgets").addColumn("made_on", "date").execute();
    },
  },
};

/** The repository: plain functions taking `db` first, returning rows. */
export async function insertWidget(db: Kysely<SampleSchema>, widget: NewWidget): Promise<Widget> {
  return db.insertInto("widgets").values(widget).returningAll().executeTakeFirstOrThrow();
}

export async function findWidget(db: Kysely<SampleSchema>, name: string): Promise<Widget | undefined> {
  return db.selectFrom("widgets").selectAll().where("name", "=", name).executeTakeFirst();
}

export async function updateWidget(db: Kysely<SampleSchema>, id: string, changes: WidgetUpdate): Promise<bigint> {
  const result = await db.updateTable("widgets").set(changes).where("id", "=", id).executeTakeFirst();
  return result.numUpdatedRows;
}

/** Moves stock between two widgets; the CHECK constraint makes an overdraft fail half-way. */
export async function moveStock(db: Kysely<SampleSchema>, from: string, to: string, amount: number): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx.updateTable("widgets").set((eb) => ({ stock: eb("stock", "+", amount) })).where("name", "=", to).execute();
    await trx.updateTable("widgets").set((eb) => ({ stock: eb("stock", "-", amount) })).where("name", "=", from).execute();
  });
}
