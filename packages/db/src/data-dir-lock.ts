import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { DatabaseError } from "./errors.js";

/**
 * Takes `<dataDir>.lock` for this process, or throws LOCKED. PGlite itself opens the same
 * directory twice without complaint and the two copies then overwrite each other's pages.
 * The lock sits beside the directory because initdb wants the directory to itself.
 * A lock left by a process that no longer runs is taken over.
 * Returns the function that releases it.
 */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const path = `${resolve(dataDir)}.lock`;
  try {
    await mkdir(dirname(path), { recursive: true });
  } catch (err) {
    throw new DatabaseError("UNAVAILABLE", `cannot create the parent of the embedded data directory ${dataDir}`, { cause: err });
  }
  // Two rounds: the second follows the removal of a stale lock.
  for (let round = 0; round < 2; round++) {
    try {
      await writeFile(path, `${process.pid}\n`, { flag: "wx" });
      return async () => {
        await rm(path, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") {
        throw new DatabaseError("UNAVAILABLE", `cannot write the lock file ${path}`, { cause: err });
      }
    }
    const holder = Number.parseInt(await readFile(path, "utf8").catch(() => ""), 10);
    if (Number.isInteger(holder) && holder > 0 && isRunning(holder)) {
      throw new DatabaseError(
        "LOCKED",
        `the embedded database ${dataDir} is already open in process ${holder}` +
          (holder === process.pid ? " (this process)" : "") +
          `; only one process may open it (remove ${path} if that process is not an Asgard service)`,
      );
    }
    await rm(path, { force: true });
  }
  throw new DatabaseError("LOCKED", `the embedded database ${dataDir} is being opened by another process`);
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
