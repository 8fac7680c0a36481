import { cleanLockScratch, withLock } from "@asgard/tools";
import { cancelled } from "./errors.js";
import type { Logger } from "./types.js";

/**
 * Runs `fn` while holding the lock directory `dir`, shared by every process using the same
 * root (the platform's one cross-process lock, `@asgard/tools`' `withLock`). The lock only
 * avoids duplicate work: correctness comes from the atomic publish of what it guards.
 */
export function withMutex<T>(dir: string, fn: () => Promise<T>, opts: { signal?: AbortSignal; what: string; logger?: Logger }): Promise<T> {
  return withLock(dir, fn, {
    ...(opts.signal ? { signal: opts.signal } : {}),
    abortError: () => cancelled(opts.what),
    onStale: (pid) => opts.logger?.warn({ lock: dir, pid }, "taking over a lock left by a dead process"),
  });
}

/** Removes scratch left in a mutex directory by processes that died mid-operation. */
export const cleanMutexScratch = cleanLockScratch;
