import { spawn } from "node:child_process";
import { once } from "node:events";
import { access, writeFile } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { inject, describe, expect, it } from "vitest";
import { DatabaseError, migrateToLatest, openDatabase } from "../src/index.js";
import { findWidget, insertWidget, sampleMigrations, type SampleSchema } from "./support/widgets.js";

const infra = inject("infra");
const freshDir = () => join(infra.workDir, `pglite-${randomBytes(4).toString("hex")}`);
const exists = (path: string) => access(path).then(() => true, () => false);

describe("embedded database in a data directory", () => {
  it("keeps its data across close and reopen", async () => {
    const dataDir = freshDir();
    const first = await openDatabase<SampleSchema>({ dataDir });
    expect(first.kind).toBe("embedded");
    await migrateToLatest(first.db, sampleMigrations);
    const saved = await insertWidget(first.db, { name: "kept", stock: 4, tags: ["x"], made_on: "2025-06-30" });
    await first.close();

    const second = await openDatabase<SampleSchema>({ dataDir });
    try {
      expect(await findWidget(second.db, "kept")).toEqual(saved);
      expect(await migrateToLatest(second.db, sampleMigrations)).toEqual({ applied: [] });
    } finally {
      await second.close();
    }
  });

  it("refuses a second opener while open and admits one after close", async () => {
    const dataDir = freshDir();
    const first = await openDatabase({ dataDir });
    const second = await openDatabase({ dataDir }).catch((err: unknown) => err);
    expect(second).toBeInstanceOf(DatabaseError);
    expect(second).toMatchObject({ code: "LOCKED", message: expect.stringContaining(`process ${process.pid} (this process)`) });
    await first.close();
    expect(await exists(`${dataDir}.lock`)).toBe(false);

    const third = await openDatabase({ dataDir });
    expect((await third.health()).available).toBe(true);
    await third.close();
  });

  it("refuses a data directory locked by another running process", async () => {
    const dataDir = freshDir();
    await writeFile(`${dataDir}.lock`, `${process.ppid}\n`);
    const failure = await openDatabase({ dataDir }).catch((err: unknown) => err);
    expect(failure).toMatchObject({ code: "LOCKED", message: expect.stringContaining(`process ${process.ppid}`) });
  });

  it("takes over the lock of a process that has exited", async () => {
    const dataDir = freshDir();
    const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
    await once(child, "exit");
    await writeFile(`${dataDir}.lock`, `${child.pid}\n`);
    const database = await openDatabase({ dataDir });
    try {
      expect((await database.health()).available).toBe(true);
    } finally {
      await database.close();
    }
  });
});
