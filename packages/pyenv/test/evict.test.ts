import { layoutOf } from "../src/layout.js";
import { readdir, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { deadPid, freshRoot, testManager } from "./helpers.js";

const published = async (root: string) =>
  (await readdir(layoutOf(root).envs)).filter((n) => /^[0-9a-f]{64}$/.test(n)).sort();

describe("evict", () => {
  it("removes least-recently-used envs over the budget and never a leased one", async () => {
    const root = await freshRoot("evict");
    const manager = await testManager(root, { diskBudgetBytes: 1 });
    const old = await manager.acquire(["iniconfig"]);
    const recent = await manager.acquire(["idna"]);
    const leased = await manager.acquire(["packaging"]);
    await old.release();
    await recent.release();
    // Make the order of use explicit: `old` longest ago.
    const marker = (key: string) => join(layoutOf(root).envs, `${key}.used`);
    await utimes(marker(old.envKey), new Date(1_000_000), new Date(1_000_000));
    await utimes(marker(recent.envKey), new Date(2_000_000), new Date(2_000_000));

    const first = await manager.evict();
    // Budget 1 byte: everything unleased goes, least recently used first; the leased one stays.
    expect(first.removed).toEqual([old.envKey, recent.envKey]);
    expect(first.bytes).toBeGreaterThan(0);
    expect(await published(root)).toEqual([leased.envKey]);
    expect(await readdir(layoutOf(root).tmp)).toEqual([]);

    await leased.release();
    expect((await manager.evict()).removed).toEqual([leased.envKey]);
    expect(await published(root)).toEqual([]);

    // The lock survives eviction: the next acquire rebuilds without asking the index.
    const again = await manager.acquire(["iniconfig"]);
    expect(again).toMatchObject({ lockHit: true, envHit: false, envKey: old.envKey });
    await again.release();
  });

  it("stops as soon as envs fit the budget", async () => {
    const root = await freshRoot("evict-fit");
    const manager = await testManager(root, { diskBudgetBytes: 1024 ** 4 });
    const lease = await manager.acquire(["iniconfig"]);
    await lease.release();
    expect(await manager.evict()).toEqual({ removed: [], bytes: 0 });
    expect(await published(root)).toEqual([lease.envKey]);
  });

  it("ignores (and clears) leases of dead processes, but honours another live manager's lease", async () => {
    const root = await freshRoot("evict-leases");
    const owner = await testManager(root, { diskBudgetBytes: 1 });
    const other = await testManager(root, { diskBudgetBytes: 1 });
    const a = await owner.acquire(["iniconfig"]);
    const b = await owner.acquire(["idna"]);
    await a.release();
    await b.release();
    const leasesOf = (key: string) => join(layoutOf(root).envs, `${key}.leases`);
    // A job that crashed without releasing: its lease names a pid that is gone.
    await writeFile(join(leasesOf(a.envKey), `${await deadPid()}-abcdef`), "{}");
    // A live user of b through another manager on the same root.
    const held = await other.acquire(["idna"]);

    const result = await owner.evict();
    expect(result.removed).toEqual([a.envKey]);
    expect(await published(root)).toEqual([b.envKey]);
    await held.release();
  });
});
