import { existsSync } from "node:fs";
import { join } from "node:path";
import { setImmediate as nextTurn } from "node:timers/promises";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { PGlite } from "@electric-sql/pglite";
import { Kysely } from "kysely";
import { lockDataDir } from "./data-dir-lock.js";
import { DatabaseError } from "./errors.js";
import { PGliteDialect } from "./pglite-dialect.js";
import { pgliteParsers } from "./type-parsers.js";

/** An open embedded database and the function that closes it and releases its directory. */
export interface EmbeddedDatabase<T> {
  db: Kysely<T>;
  close(): Promise<void>;
}

/**
 * PostgreSQL's default shared_buffers (128 MB) is WebAssembly memory here, resident in the
 * job-scheduler from the start: 16 MB keeps the job tables' hot pages, and whatever does not
 * fit is a read from the data directory, which the OS caches anyway.
 */
const START_PARAMS = [...PGlite.defaultStartParams, "-c", "shared_buffers=16MB"];

/** Opens PGlite in `dataDir` (locked for this process), or in memory when absent. */
export async function openEmbedded<T>(dataDir: string | undefined): Promise<EmbeddedDatabase<T>> {
  const unlock = dataDir ? await lockDataDir(dataDir) : async () => undefined;
  // PGlite runs initdb when the directory holds no cluster yet.
  const creates = dataDir !== undefined && !existsSync(join(dataDir, "PG_VERSION"));
  let pglite: PGlite;
  try {
    pglite = await PGlite.create({ ...(dataDir ? { dataDir } : {}), parsers: pgliteParsers, startParams: START_PARAMS });
  } catch (err) {
    await unlock();
    throw new DatabaseError("UNAVAILABLE", `cannot open the embedded database ${dataDir ?? "(in memory)"}`, {
      cause: err,
    });
  }
  // Memory only (a failure costs nothing else). In memory (tests, one-off tools) the database
  // lives as long as its short process: nothing to gain there.
  if (creates) await collectInitdbGarbage().catch(() => undefined);
  const db = new Kysely<T>({ dialect: new PGliteDialect(pglite) });
  return {
    db,
    async close() {
      try {
        // Closing PGlite writes its state to the directory; only then may another opener have it.
        await db.destroy();
        // Kysely skips its driver when no query ever ran.
        if (!pglite.closed) await pglite.close();
      } finally {
        await unlock();
      }
    },
  };
}

/**
 * PGlite creates a cluster in a second, throwaway PGlite plus an initdb WebAssembly instance,
 * and copies it over as a tarball: about 400 MB of WebAssembly memory and buffers that are
 * garbage once `create` returns. Only a full GC frees them, and V8 starts one when the JS heap
 * grows, which an idle job-scheduler never does: it stayed at ~700 MB RSS instead of ~300.
 * So collect once, on this rare path only. The throwaway instance is closed without being
 * awaited, so wait a turn for it first; `--expose-gc` is given to a new context just long
 * enough to fetch `gc`.
 */
async function collectInitdbGarbage(): Promise<void> {
  await nextTurn();
  const exposed = typeof globalThis.gc === "function";
  if (!exposed) setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  if (!exposed) setFlagsFromString("--no-expose-gc");
  gc();
}
