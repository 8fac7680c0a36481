import { layoutOf } from "../src/layout.js";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { PyEnvError, type EnvLease, type PyEnvManager } from "../src/index.js";
import { exec, freshRoot, testManager } from "./helpers.js";

let root: string;
let manager: PyEnvManager;
let first: EnvLease;

beforeAll(async () => {
  root = await freshRoot("acquire");
  manager = await testManager(root);
  first = await manager.acquire(["iniconfig"]);
});

describe("acquire", () => {
  it("builds a cold request once: compile, venv, sync, publish", async () => {
    expect(first.lockHit).toBe(false);
    expect(first.envHit).toBe(false);
    expect(manager.stats()).toMatchObject({ builds: 1, compiles: 1 });
    expect(first.path).toBe(join(layoutOf(root).envs, first.envKey));
    expect(first.python).toBe(join(first.path, "bin", "python"));
    expect(first.binDir).toBe(join(first.path, "bin"));
    expect(first.requestKey).toMatch(/^[0-9a-f]{64}$/);
    const lock = await readFile(join(layoutOf(root).locks, `${first.requestKey}.txt`), "utf8");
    expect(lock).toMatch(/^iniconfig==/m);
    expect(lock).toMatch(/^six==1\.16\.0$/m);
    expect(JSON.parse(await readFile(join(layoutOf(root).locks, `${first.requestKey}.json`), "utf8"))).toHaveProperty("created_at");
    // Nothing half-built is left behind.
    expect(await readdir(layoutOf(root).tmp)).toEqual([]);
  });

  it("publishes an env whose interpreter imports the requested packages and the pins after the rename", async () => {
    const run = await exec(first.python, [
      "-c",
      "import iniconfig, six, sys, sysconfig; print(six.__version__, sys.prefix, sysconfig.get_paths()['purelib'], sys.implementation.cache_tag)",
    ]);
    expect(run.code, run.out).toBe(0);
    const [version, prefix, site, tag] = run.out.trim().split(" ");
    expect(version).toBe("1.16.0");
    expect(prefix).toBe(first.path);
    expect(site?.startsWith(first.path)).toBe(true);
    // Bytecode compiled in tmp/ still serves after the rename, with code paths at the final place.
    expect(await readdir(join(site ?? "", "__pycache__"))).toContain(`six.${tag}.pyc`);
    const code = await exec(first.python, ["-c", "import six; print(six.add_metaclass.__code__.co_filename)"]);
    expect(code.out.trim()).toBe(join(site ?? "", "six.py"));
  });

  it("reuses lock and env on a second acquire without running uv", async () => {
    const before = manager.stats();
    const again = await manager.acquire(["iniconfig"]);
    expect(again.lockHit).toBe(true);
    expect(again.envHit).toBe(true);
    expect(again.envKey).toBe(first.envKey);
    const after = manager.stats();
    expect(after.builds).toBe(before.builds);
    expect(after.compiles).toBe(before.compiles);
    expect(after.lockHits).toBe(before.lockHits + 1);
    expect(after.envHits).toBe(before.envHits + 1);
    await again.release();
  });

  it("gives the same request key whatever the order, case or spacing of the requirements", async () => {
    const a = await manager.requestKey(["packaging>=23", "Idna", "six"]);
    const b = await manager.requestKey([" six", "IDNA", "packaging >= 23", "idna"]);
    expect(b).toBe(a);
    expect(await manager.requestKey(["idna"])).not.toBe(a);
    expect(await manager.requestKey(["IniConfig "])).toBe(first.requestKey);
  });

  it("shares one env between requests that lock to the same set", async () => {
    const lock = await readFile(join(layoutOf(root).locks, `${first.requestKey}.txt`), "utf8");
    const pinned = /^iniconfig==\S+$/m.exec(lock)?.[0];
    expect(pinned).toBeDefined();
    const before = manager.stats();
    // Another spelling of the same set: exact version, plus a package the pins already hold.
    const other = await manager.acquire([pinned ?? "", "six"]);
    expect(other.requestKey).not.toBe(first.requestKey);
    expect(other.lockHit).toBe(false);
    expect(other.envKey).toBe(first.envKey);
    expect(other.envHit).toBe(true);
    expect(manager.stats().compiles).toBe(before.compiles + 1);
    expect(manager.stats().builds).toBe(before.builds);
    await other.release();
  });

  it("lets another manager on the same root (another process) reuse lock and env", async () => {
    const second = await testManager(root);
    const lease = await second.acquire(["iniconfig"]);
    expect(lease).toMatchObject({ lockHit: true, envHit: true, envKey: first.envKey, path: first.path });
    expect(second.stats()).toEqual({ builds: 0, compiles: 0, lockHits: 1, envHits: 1, reuses: 0 });
    await lease.release();
  });

  it("recompiles an expired lock but keeps the env when the lock is unchanged", async () => {
    const expiring = await testManager(root, { lockTtlMs: 0 });
    const lease = await expiring.acquire(["iniconfig"]);
    expect(lease).toMatchObject({ lockHit: false, envHit: true, envKey: first.envKey });
    expect(expiring.stats()).toEqual({ builds: 0, compiles: 1, lockHits: 0, envHits: 1, reuses: 0 });
    await lease.release();
  });

  it("builds a new request exactly once for three concurrent acquires", async () => {
    const before = manager.stats();
    const leases = await Promise.all([
      manager.acquire(["idna", "pyflakes"]),
      manager.acquire(["pyflakes", "IDNA"]),
      manager.acquire(["Pyflakes", "idna"]),
    ]);
    expect(new Set(leases.map((l) => l.envKey)).size).toBe(1);
    expect(manager.stats().builds).toBe(before.builds + 1);
    expect(manager.stats().compiles).toBe(before.compiles + 1);
    // A console script of a relocatable venv still runs from the published path.
    const leased = leases[0];
    if (!leased) throw new Error("no lease");
    const script = await exec(join(leased.binDir, "pyflakes"), ["--version"]);
    expect(script.code, script.out).toBe(0);
    expect(script.out).toMatch(/Python 3/);
    await Promise.all(leases.map((l) => l.release()));
  });
});

describe("failures", () => {
  it("reports a package missing from the index as LOCK_FAILED with uv's message", async () => {
    const err = await manager.acquire(["asgard-does-not-exist-xyz"]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PyEnvError);
    expect(err).toMatchObject({ code: "LOCK_FAILED" });
    expect((err as PyEnvError).output).toMatch(/asgard-does-not-exist-xyz was not found in the package registry/);
    expect((err as PyEnvError).message).toMatch(/uv pip compile failed/);
  });

  it("reports a requirement that conflicts with a platform pin as LOCK_FAILED", async () => {
    const err = await manager.acquire(["six==1.17.0"]).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "LOCK_FAILED" });
    expect((err as PyEnvError).output).toMatch(/six==1\.16\.0 and six==1\.17\.0|unsatisfiable/);
  });

  it("refuses to start with an invalid pin", async () => {
    await expect(testManager(root, { pins: ["-r /etc/passwd"] })).rejects.toMatchObject({ code: "INVALID_REQUIREMENT", message: /pin 1/ });
  });
});
