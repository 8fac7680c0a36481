import { randomBytes } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { TEMP_NAME_PREFIX } from "./keys.js";

/** The in-flight name for `target`: beside it (rename is atomic only within a file system). */
export function tempPathFor(target: string): string {
  return join(dirname(target), `${TEMP_NAME_PREFIX}${randomBytes(8).toString("hex")}`);
}

/** True for names written by {@link writeFileAtomic} that were never renamed. */
export function isTempName(name: string): boolean {
  return basename(name).startsWith(TEMP_NAME_PREFIX);
}

/**
 * Writes `data` to a temporary file, flushes it to disk, then renames it over `target`.
 * A reader opening `target` sees the old content or the new, never a prefix of it; a
 * crash leaves at most a temporary file, which listings skip.
 */
export async function writeFileAtomic(target: string, data: Buffer | string): Promise<void> {
  const temp = tempPathFor(target);
  try {
    const handle = await open(temp, "wx", 0o644);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, target);
  } catch (err) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw err;
  }
}
