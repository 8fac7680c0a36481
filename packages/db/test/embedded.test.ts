import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { access, writeFile } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { promisify } from "node:util";
import { inject, describe, expect, it } from "vitest";
import { FROM_SOURCES } from "@asgard/test-support";
import { DatabaseError, migrateToLatest, openDatabase } from "../src/index.js";
import { findWidget, insertWidget, sampleMigrations, type SampleSchema } from "./support/widgets.js";

const infra = inject("infra");
const freshDir = () => join(infra.workDir, `pglite-${randomBytes(4).toString("hex")}`);
const exists = (path: string) => access(path).then(() => true, () => false);
const run = promisify(execFile);

/**
 * Opens a new data directory in a process of its own that then does nothing, as an idle
 * job-scheduler does, and prints its array-buffer bytes (WebAssembly memories included) once
 * they fell below `belowBytes` or after `polls` polls 100 ms apart.
 */
const IDLE_OPENER = `
  const [dataDir, belowBytes, polls] = process.argv.slice(1);
  const { openDatabase } = await import(new URL("../src/index.ts", "file://" + process.cwd() + "/test/").href);
  const database = await openDatabase({ dataDir });
  let bytes = process.memoryUsage().arrayBuffers;
  for (let i = 0; i < Number(polls) && bytes >= Number(belowBytes); i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    bytes = process.memoryUsage().arrayBuffers;
  }
  await database.close();
  process.stdout.write(String(bytes));
`;

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

  it("does not keep what creating the cluster took while it idles", async () => {
    // Creating a cluster leaves ~300 MB of WebAssembly memory and buffers behind; an idle
    // process runs no GC of its own, so they stay unless the opener collects them.
    const belowBytes = 64 * 1024 * 1024;
    const { stdout } = await run(
      process.execPath,
      [...FROM_SOURCES, "--input-type=module", "-e", IDLE_OPENER, freshDir(), String(belowBytes), "50"],
      { cwd: join(import.meta.dirname, "..") },
    );
    expect(Number(stdout)).toBeLessThan(belowBytes);
  });
});
