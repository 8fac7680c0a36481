import { layoutOf } from "../src/layout.js";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { parseConstraints, type EnvLease, type PyEnvManager } from "../src/index.js";
import { freshRoot, testManager } from "./helpers.js";

// A job env (iniconfig + idna + the pins) and a "model" that logged the exact versions it holds.
let root: string;
let manager: PyEnvManager;
let job: EnvLease;
let versions: Record<string, string>;

beforeAll(async () => {
  root = await freshRoot("reuse");
  manager = await testManager(root);
  job = await manager.acquire(["iniconfig", "idna"]);
  versions = (JSON.parse(await readFile(join(layoutOf(root).envs, `${job.envKey}.json`), "utf8")) as { packages: Record<string, string> }).packages;
});

const published = async () => (await readdir(layoutOf(root).envs)).filter((n) => /^[0-9a-f]{64}$/.test(n));

describe("acquire with reuseSatisfying", () => {
  it("records the env's resolved set, interpreter and constraint set at build", async () => {
    const meta = JSON.parse(await readFile(join(layoutOf(root).envs, `${job.envKey}.json`), "utf8")) as Record<string, unknown>;
    expect(meta.packages).toMatchObject({ iniconfig: expect.any(String), idna: expect.any(String), six: "1.16.0" });
    expect(meta.python).toMatch(/^CPython-3\./);
    expect(meta.platform).toMatch(/^Linux-/);
    expect(meta).not.toHaveProperty("constraints");
  });

  it("leases the job's env for requirements it satisfies, without resolving or building", async () => {
    const before = manager.stats();
    const model = await manager.acquire([`iniconfig==${versions.iniconfig}`, `IDNA>=${versions.idna}`], { reuseSatisfying: true });
    expect(model).toMatchObject({ envKey: job.envKey, path: job.path, reused: true, envHit: true });
    const after = manager.stats();
    expect(after.builds).toBe(before.builds);
    expect(after.compiles).toBe(before.compiles);
    expect(after.reuses).toBe(before.reuses + 1);
    await model.release();
  });

  it("builds as before when no env satisfies the request (a package the job env lacks)", async () => {
    const before = manager.stats();
    const other = await manager.acquire([`iniconfig==${versions.iniconfig}`, "packaging"], { reuseSatisfying: true });
    expect(other.reused).toBe(false);
    expect(other.envKey).not.toBe(job.envKey);
    expect(manager.stats().builds).toBe(before.builds + 1);
    await other.release();
  });

  it("never offers an env whose pins or constraint set differ", async () => {
    const otherPins = await testManager(root, { pins: ["six==1.17.0"] });
    const a = await otherPins.acquire([`iniconfig==${versions.iniconfig}`], { reuseSatisfying: true });
    expect(a.reused).toBe(false);
    expect(a.envKey).not.toBe(job.envKey);
    await a.release();
    const constrained = await testManager(root, { constraints: parseConstraints("certifi==2024.2.2", "test") });
    const b = await constrained.acquire([`iniconfig==${versions.iniconfig}`], { reuseSatisfying: true });
    expect(b.reused).toBe(false);
    expect(b.envKey).not.toBe(job.envKey);
    await b.release();
  });

  it("holds a lease on the reused env: eviction skips it until the model lets go", async () => {
    const model = await manager.acquire([`iniconfig==${versions.iniconfig}`, `idna==${versions.idna}`], { reuseSatisfying: true });
    expect(model.envKey).toBe(job.envKey);
    await job.release();
    const evictor = await testManager(root, { diskBudgetBytes: 1 });
    expect((await evictor.evict()).removed).not.toContain(job.envKey);
    expect(await published()).toContain(job.envKey);
    await model.release();
    expect((await evictor.evict()).removed).toContain(job.envKey);
    expect(await published()).not.toContain(job.envKey);
  });
});
