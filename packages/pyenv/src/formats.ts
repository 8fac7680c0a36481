import { readdir, rm, rmdir } from "node:fs/promises";
import { cleanTmp } from "./build.js";
import { evictEnvs } from "./evict.js";
import { KEY_FORMAT } from "./keys.js";
import { ENV_KEY, layoutOf } from "./layout.js";
import { cleanMutexScratch } from "./mutex.js";
import type { Logger } from "./types.js";

/**
 * Removes what older key formats left under the cache root, so nothing built under an older
 * format's rules (format 1 may have built source distributions outside the sandbox) stays on
 * disk. Only folders a manager itself makes are touched: `locks`, `envs`, `tmp` and `mutex`
 * (directly under the root for format 1, in `format-<n>` after it). An environment a live
 * process still leases is kept, as eviction keeps it; a later start removes it.
 */
export async function purgeOldFormats(root: string, logger: Logger | undefined): Promise<string[]> {
  const removed: string[] = [];
  for (let format = 1; format < KEY_FORMAT; format++) {
    const old = layoutOf(root, format);
    const envs = await readdir(old.envs).catch(() => null);
    const locks = await readdir(old.locks).catch(() => null);
    if (envs === null && locks === null) continue;
    removed.push(...(await evictEnvs(old, 0, undefined)).removed);
    await rm(old.locks, { recursive: true, force: true });
    const left = (await readdir(old.envs).catch(() => [] as string[])).filter((name) => ENV_KEY.test(name));
    if (left.length > 0) {
      logger?.warn({ format, leased: left.length }, "environments of an older cache format are still in use; they are removed on a later start");
      continue;
    }
    // Nothing of this format is in use any more: its bookkeeping (markers, empty lease folders) goes too.
    await rm(old.envs, { recursive: true, force: true });
    await cleanTmp(old);
    await cleanMutexScratch(old.mutex);
    for (const dir of [old.tmp, old.mutex]) await rmdir(dir).catch(() => undefined);
    if (format > 1) await rmdir(old.root).catch(() => undefined);
  }
  if (removed.length > 0) logger?.info({ removed: removed.length }, "removed environments of an older cache format");
  return removed;
}
