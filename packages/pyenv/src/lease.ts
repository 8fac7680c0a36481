import { mkdir, readdir, rmdir, unlink, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { processAlive } from "@asgard/tools";
import { randomSuffix } from "./fsutil.js";
import { leasesDir, usedMarker, type Layout } from "./layout.js";

const LEASE_NAME = /^(\d+)-[0-9a-f]+$/;

/**
 * Records that this process uses envs/<envKey>: a file named `<pid>-<random>` in
 * `<envKey>.leases/`. Taken before the env is looked up, so an eviction that removes the env
 * either sees the lease or happened before the lookup (which then rebuilds).
 */
export async function takeLease(layout: Layout, envKey: string): Promise<string> {
  const dir = leasesDir(layout, envKey);
  const file = join(dir, `${process.pid}-${randomSuffix()}`);
  for (let attempt = 0; ; attempt++) {
    await mkdir(dir, { recursive: true });
    try {
      await writeFile(file, JSON.stringify({ pid: process.pid, acquired_at: new Date().toISOString() }), { flag: "wx" });
      return file;
    } catch (err) {
      // An eviction removed the (empty) leases directory between mkdir and write: make it again.
      if ((err as NodeJS.ErrnoException).code !== "ENOENT" || attempt >= 5) throw err;
    }
  }
}

export async function dropLease(file: string): Promise<void> {
  await unlink(file).catch(() => undefined);
}

/** Counts leases held by live processes; leases of dead pids are deleted on the way. */
export async function liveLeases(layout: Layout, envKey: string): Promise<number> {
  const dir = leasesDir(layout, envKey);
  const names = await readdir(dir).catch(() => [] as string[]);
  let live = 0;
  for (const name of names) {
    const pid = LEASE_NAME.exec(name)?.[1];
    if (pid !== undefined && processAlive(Number(pid))) live++;
    else await unlink(join(dir, name)).catch(() => undefined);
  }
  return live;
}

/** Removes the leases directory if it is empty; rmdir() refuses a non-empty one, which keeps a fresh lease safe. */
export async function removeLeasesDirIfEmpty(layout: Layout, envKey: string): Promise<void> {
  await rmdir(leasesDir(layout, envKey)).catch(() => undefined);
}

/** Marks the env as used now, for LRU eviction. */
export async function touchUsed(layout: Layout, envKey: string): Promise<void> {
  const marker = usedMarker(layout, envKey);
  const now = new Date();
  try {
    await utimes(marker, now, now);
  } catch {
    await writeFile(marker, "");
  }
}
