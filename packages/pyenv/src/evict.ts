import { mkdir, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { randomSuffix, treeBytes } from "./fsutil.js";
import { ENV_KEY, envDir, envMetaFile, usedMarker, type Layout } from "./layout.js";
import { liveLeases, removeLeasesDirIfEmpty } from "./lease.js";
import type { Logger } from "./types.js";

interface EnvEntry {
  envKey: string;
  bytes: number;
  lastUsedMs: number;
}

async function describe(layout: Layout, envKey: string): Promise<EnvEntry | null> {
  const dir = envDir(layout, envKey);
  const dirStat = await stat(dir).catch(() => null);
  if (!dirStat?.isDirectory()) return null;
  let bytes: number | undefined;
  try {
    const meta = JSON.parse(await readFile(envMetaFile(layout, envKey), "utf8")) as { bytes?: unknown };
    if (typeof meta.bytes === "number") bytes = meta.bytes;
  } catch {
    /* no metadata (written after publish): measure instead */
  }
  bytes ??= await treeBytes(dir);
  const used = await stat(usedMarker(layout, envKey)).catch(() => null);
  return { envKey, bytes, lastUsedMs: (used ?? dirStat).mtimeMs };
}

/**
 * Removes least-recently-used envs until envs/ fits `budgetBytes`, skipping any env with a
 * live lease. An env is first moved out of envs/ in one rename and its leases are checked
 * again afterwards: an acquire that leased it in between gets it back, and one that leases
 * it later does not find it and builds it anew. Callers hold the evict mutex.
 */
export async function evictEnvs(
  layout: Layout,
  budgetBytes: number,
  logger: Logger | undefined,
): Promise<{ removed: string[]; bytes: number }> {
  const names = await readdir(layout.envs).catch(() => [] as string[]);
  const entries: EnvEntry[] = [];
  for (const name of names) {
    if (!ENV_KEY.test(name)) continue;
    const entry = await describe(layout, name);
    if (entry) entries.push(entry);
  }
  let total = entries.reduce((sum, e) => sum + e.bytes, 0);
  entries.sort((a, b) => a.lastUsedMs - b.lastUsedMs);
  const removed: string[] = [];
  let freed = 0;
  await mkdir(layout.tmp, { recursive: true });
  for (const entry of entries) {
    if (total <= budgetBytes) break;
    if ((await liveLeases(layout, entry.envKey)) > 0) continue;
    const aside = join(layout.tmp, `evict-${entry.envKey}-${process.pid}-${randomSuffix()}`);
    try {
      await rename(envDir(layout, entry.envKey), aside);
    } catch {
      continue;
    }
    if ((await liveLeases(layout, entry.envKey)) > 0) {
      // Leased between the check and the move: put it back (unless a rebuild already replaced it).
      await rename(aside, envDir(layout, entry.envKey)).catch(() => rm(aside, { recursive: true, force: true }));
      continue;
    }
    await rm(aside, { recursive: true, force: true });
    await rm(envMetaFile(layout, entry.envKey), { force: true });
    await rm(usedMarker(layout, entry.envKey), { force: true });
    await removeLeasesDirIfEmpty(layout, entry.envKey);
    removed.push(entry.envKey);
    freed += entry.bytes;
    total -= entry.bytes;
    logger?.info({ envKey: entry.envKey, bytes: entry.bytes }, "evicted python environment");
  }
  if (total > budgetBytes) logger?.warn({ bytes: total, budgetBytes }, "python environments exceed the disk budget; the rest are leased");
  return { removed, bytes: freed };
}
