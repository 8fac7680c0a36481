import { mkdir, readFile, readdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { throwIfAborted } from "./errors.js";
import { exists, pause, pidAlive, randomSuffix } from "./fsutil.js";
import type { Logger } from "./types.js";

const POLL_MS = 200;
const SCRATCH = /\.(\d+)-[0-9a-f]+\.(?:staging|stale|released)$/;

/**
 * Runs `fn` while holding a lock directory shared by every process using the same root.
 *
 * The lock is a directory holding the owner's pid, made complete in a scratch directory and
 * renamed into place, so it never exists without its pid. A lock whose pid is dead is taken
 * over. Two processes that both find the same stale lock can, rarely, both proceed: the lock
 * only avoids duplicate work, correctness comes from the atomic publish of what it guards.
 */
export async function withMutex<T>(
  dir: string,
  fn: () => Promise<T>,
  opts: { signal?: AbortSignal; what: string; logger?: Logger },
): Promise<T> {
  for (;;) {
    throwIfAborted(opts.signal, opts.what);
    if (await tryLock(dir)) break;
    const owner = await readOwner(dir);
    if (owner === "gone") continue;
    if (!pidAlive(owner)) {
      opts.logger?.warn({ lock: dir, pid: owner }, "taking over a lock left by a dead process");
      await discard(dir, "stale");
      continue;
    }
    await pause(POLL_MS, opts.signal, opts.what);
  }
  try {
    return await fn();
  } finally {
    await discard(dir, "released");
  }
}

async function tryLock(dir: string): Promise<boolean> {
  const staging = `${dir}.${process.pid}-${randomSuffix()}.staging`;
  await mkdir(staging, { recursive: true });
  try {
    await writeFile(join(staging, "pid"), String(process.pid));
    // rename() onto a directory that exists (and holds a pid file) fails: that is the lock.
    await rename(staging, dir);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EEXIST" || code === "ENOTEMPTY") return false;
    throw err;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** The owner's pid; NaN for a lock without a readable pid (never made by this code: treated as stale). */
async function readOwner(dir: string): Promise<number | "gone"> {
  try {
    return Number.parseInt(await readFile(join(dir, "pid"), "utf8"), 10);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") return Number.NaN;
    return (await exists(dir)) ? Number.NaN : "gone";
  }
}

/** Moves the lock aside in one step, then deletes it: the lock name is free at once, never half-removed. */
async function discard(dir: string, why: "stale" | "released"): Promise<void> {
  const aside = `${dir}.${process.pid}-${randomSuffix()}.${why}`;
  try {
    await rename(dir, aside);
  } catch {
    return;
  }
  await rm(aside, { recursive: true, force: true });
}

/** Removes scratch left in a mutex directory by processes that died mid-operation. */
export async function cleanMutexScratch(mutexDir: string): Promise<void> {
  const names = await readdir(mutexDir).catch(() => [] as string[]);
  for (const name of names) {
    const pid = SCRATCH.exec(name)?.[1];
    if (pid !== undefined && !pidAlive(Number(pid))) await rm(join(mutexDir, name), { recursive: true, force: true });
  }
}
