import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { PyEnvError } from "../src/index.js";
import { layoutOf } from "../src/layout.js";
import { freshRoot, recordedCalls, recordingUv, testManager } from "./helpers.js";

let root: string;

beforeAll(async () => {
  root = await freshRoot("binary-only");
});

describe("binary wheels only", () => {
  it("resolves and installs with source builds disabled", async () => {
    const calls = join(root, "calls");
    const manager = await testManager(join(root, "flags"), { uvPath: await recordingUv(calls) });
    const lease = await manager.acquire(["iniconfig"]);
    await lease.release();
    const recorded = await recordedCalls(calls);
    const pip = recorded.filter((c) => c.args[0] === "pip");
    expect(pip.map((c) => c.args[1]).sort()).toEqual(["compile", "sync"]);
    for (const call of pip) expect(call.args).toContain("--no-build");
  });

  it("refuses a requirement published only as a source distribution, naming the package", async () => {
    // docopt has never shipped a wheel (every release on PyPI is a tar.gz).
    const manager = await testManager(join(root, "sdist"));
    const err = await manager.acquire(["docopt==0.6.2"]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PyEnvError);
    expect((err as PyEnvError).code).toBe("LOCK_FAILED");
    expect((err as PyEnvError).message).toMatch(/^docopt is published only as a source distribution .*binary wheels only/);
    expect(await readdir(layoutOf(join(root, "sdist")).envs)).toEqual([]);
  });
});

describe("older cache formats", () => {
  it("are purged on start, except an environment a live process still leases", async () => {
    const cache = join(root, "legacy");
    // What format 1 left directly under the root: two envs (one leased by this live process), a lock, scratch.
    const [free, leased] = ["a".repeat(64), "b".repeat(64)];
    for (const key of [free, leased]) {
      await mkdir(join(cache, "envs", key, "bin"), { recursive: true });
      await writeFile(join(cache, "envs", `${key}.json`), JSON.stringify({ created_at: new Date().toISOString(), bytes: 10 }));
      await writeFile(join(cache, "envs", `${key}.used`), "");
    }
    await mkdir(join(cache, "envs", `${leased}.leases`));
    await writeFile(join(cache, "envs", `${leased}.leases`, `${process.pid}-abcdef`), "{}");
    await mkdir(join(cache, "locks"));
    await writeFile(join(cache, "locks", `${"c".repeat(64)}.txt`), "six==1.16.0\n");
    const unrelated = join(cache, "operator-notes");
    await mkdir(unrelated);

    const manager = await testManager(cache);
    await manager.requestKey(["six"]);
    expect((await readdir(join(cache, "envs"))).filter((n) => /^[0-9a-f]{64}$/.test(n))).toEqual([leased]);
    expect(await readdir(cache)).not.toContain("locks");

    // Once its lease is gone, the next start removes the rest of format 1.
    await rm(join(cache, "envs", `${leased}.leases`), { recursive: true });
    await (await testManager(cache)).requestKey(["six"]);
    expect((await readdir(cache)).sort()).toEqual(["format-2", "operator-notes"]);
  });
});
