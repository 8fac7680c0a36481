import { resolve } from "node:path";
import { tryLock } from "@asgard/tools";
import { DatabaseError } from "./errors.js";

/**
 * Takes `<dataDir>.lock` for this process, or throws LOCKED. PGlite itself opens the same
 * directory twice without complaint and the two copies then overwrite each other's pages.
 * The lock sits beside the directory because initdb wants the directory to itself; it is the
 * platform's one cross-process lock, so one left by a process that no longer runs is taken
 * over. Returns the function that releases it.
 */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const path = `${resolve(dataDir)}.lock`;
  let attempt;
  try {
    attempt = await tryLock(path);
  } catch (err) {
    throw new DatabaseError("UNAVAILABLE", `cannot take the lock ${path} beside the embedded data directory`, { cause: err });
  }
  if (attempt.acquired) return attempt.release;
  throw new DatabaseError(
    "LOCKED",
    `the embedded database ${dataDir} is already open in process ${attempt.holder}` +
      (attempt.holder === process.pid ? " (this process)" : "") +
      `; only one process may open it (remove ${path} if that process is not an Asgard service)`,
  );
}
