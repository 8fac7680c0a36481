import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { basename, dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

/**
 * The platform's one cross-process lock. A lock is a directory holding its owner's pid, made
 * complete in a scratch directory beside it and renamed into place, so it never exists
 * without its pid; releasing moves it aside in one step before deleting it.
 *
 * The staleness rule, the only one: a lock whose owner no longer runs, or that holds no
 * readable pid (never made by this code), is stale and is taken over. Two processes that find
 * the same stale lock at once can, rarely, both proceed, so a lock only avoids duplicate work
 * or double opening; whatever it guards must still be published atomically.
 */

export type LockAttempt = { acquired: true; release: () => Promise<void> } | { acquired: false; holder: number };

export interface WaitForLockOptions {
  signal?: AbortSignal;
  /** How often a held lock is looked at again (default 200 ms). */
  pollMs?: number;
  /** Gives up after this long (default: waits as long as the owner runs). */
  timeoutMs?: number;
  /** Told when a stale lock is taken over, with the pid it named (NaN: none readable). */
  onStale?: (holder: number) => void;
  /** The error to throw when `signal` aborts the wait (default: the signal's reason). */
  abortError?: () => Error;
}

const SCRATCH = /\.(\d+)-[0-9a-f]+\.(?:staging|stale|released)$/;

/** True while `pid` names a running process (one of another user counts). */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Takes the lock at `path` if it is free or stale; otherwise names the running holder. */
export async function tryLock(path: string, onStale?: (holder: number) => void): Promise<LockAttempt> {
  await mkdir(dirname(path), { recursive: true });
  for (;;) {
    if (await create(path)) return { acquired: true, release: () => discard(path, "released") };
    const holder = await readHolder(path);
    if (holder === "gone") continue;
    if (processAlive(holder)) return { acquired: false, holder };
    onStale?.(holder);
    await discard(path, "stale");
  }
}

/** Waits for the lock at `path` and runs `fn` while holding it. */
export async function withLock<T>(path: string, fn: () => Promise<T>, opts: WaitForLockOptions = {}): Promise<T> {
  const deadline = opts.timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + opts.timeoutMs;
  const aborted = () => opts.abortError?.() ?? (opts.signal?.reason instanceof Error ? opts.signal.reason : new Error(`gave up waiting for the lock ${path}`));
  let release: () => Promise<void>;
  for (;;) {
    if (opts.signal?.aborted) throw aborted();
    const attempt = await tryLock(path, opts.onStale);
    if (attempt.acquired) {
      release = attempt.release;
      break;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for the lock ${path}, held by process ${attempt.holder}`);
    try {
      await sleep(opts.pollMs ?? 200, undefined, opts.signal ? { signal: opts.signal } : undefined);
    } catch {
      throw aborted();
    }
  }
  try {
    return await fn();
  } finally {
    await release();
  }
}

/** The pid a lock at `path` names, or null when there is no lock or it names none. */
export async function lockHolder(path: string): Promise<number | null> {
  const holder = await readHolder(path);
  return holder === "gone" || !Number.isInteger(holder) || holder <= 0 ? null : holder;
}

/** Removes the scratch that processes which died mid-operation left beside locks in `dir`. */
export async function cleanLockScratch(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    const pid = SCRATCH.exec(name)?.[1];
    if (pid !== undefined && !processAlive(Number(pid))) await rm(join(dir, name), { recursive: true, force: true });
  }
}

const scratchName = (path: string, why: "staging" | "stale" | "released") =>
  join(dirname(path), `${basename(path)}.${process.pid}-${randomBytes(6).toString("hex")}.${why}`);

async function create(path: string): Promise<boolean> {
  const staging = scratchName(path, "staging");
  await mkdir(staging);
  try {
    await writeFile(join(staging, "pid"), String(process.pid));
    // rename() onto a directory that exists and holds a pid fails: that is the lock.
    await rename(staging, path);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EEXIST" || code === "ENOTEMPTY" || code === "ENOTDIR" || code === "EISDIR") return false;
    throw err;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/**
 * The holder's pid; NaN for a lock without a readable pid; "gone" when the lock vanished
 * meanwhile. A plain file holding a pid is a lock too: earlier releases of the embedded
 * database wrote theirs that way, and one of them may still run.
 */
async function readHolder(path: string): Promise<number | "gone"> {
  try {
    return Number.parseInt(await readFile(join(path, "pid"), "utf8"), 10);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOTDIR") return Number.parseInt(await readFile(path, "utf8").catch(() => ""), 10);
    if (code !== "ENOENT") return Number.NaN;
    try {
      await readdir(path);
      return Number.NaN;
    } catch {
      return "gone";
    }
  }
}

/** Moves the lock aside in one step, then deletes it: its name is free at once, never half-removed. */
async function discard(path: string, why: "stale" | "released"): Promise<void> {
  const aside = scratchName(path, why);
  try {
    await rename(path, aside);
  } catch {
    return;
  }
  await rm(aside, { recursive: true, force: true });
}
