import { randomBytes } from "node:crypto";
import { lstat, readdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { cancelled } from "./errors.js";

/** A short random suffix for scratch names that must not collide across processes. */
export function randomSuffix(): string {
  return randomBytes(6).toString("hex");
}

/** Whether a process with this pid exists (EPERM: it exists but belongs to another user). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** Writes through a scratch file and rename(), so a reader sees the old or the new content, never half. */
export async function writeAtomic(path: string, content: string): Promise<void> {
  const scratch = `${path}.${process.pid}-${randomSuffix()}.part`;
  try {
    await writeFile(scratch, content);
    await rename(scratch, path);
  } catch (err) {
    await rm(scratch, { force: true });
    throw err;
  }
}

/** Apparent size of a tree in bytes; symlinks count as themselves, never their targets. */
export async function treeBytes(dir: string): Promise<number> {
  let total = 0;
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += await treeBytes(path);
    else total += await lstat(path).then((s) => s.size, () => 0);
  }
  return total;
}

/** Waits `ms`, rejecting with CANCELLED when `signal` fires. */
export async function pause(ms: number, signal: AbortSignal | undefined, what: string): Promise<void> {
  try {
    await sleep(ms, undefined, signal ? { signal } : undefined);
  } catch {
    throw cancelled(what);
  }
}
