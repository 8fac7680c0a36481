import { layoutOf } from "../src/layout.js";
import { spawn } from "node:child_process";
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { FROM_SOURCES } from "@asgard/test-support";
import type { PyEnvStats } from "../src/index.js";
import { freshRoot, testManager, uvCacheDir } from "./helpers.js";

const FIXTURE = fileURLToPath(new URL("./fixtures/acquire-once.ts", import.meta.url));

/** Starts the fixture in a separate Node process; `ready` resolves once it waits for the go file. */
function anotherProcess(root: string, mode: "release" | "keep", requirements: string[]) {
  const child = spawn(process.execPath, [...FROM_SOURCES, FIXTURE, root, uvCacheDir(), mode, ...requirements], {
    cwd: fileURLToPath(new URL("..", import.meta.url)),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  let onReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
    if (out.startsWith("ready\n")) onReady();
  });
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  const result = new Promise<{ envKey: string; stats: PyEnvStats }>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => {
      if (code !== 0) reject(new Error(`fixture exited ${code}: ${err}`));
      else resolve(JSON.parse(out.trim().split("\n").at(-1) ?? "") as { envKey: string; stats: PyEnvStats });
    });
  });
  // Surface a fixture that dies before it is ready instead of waiting forever.
  return { ready: Promise.race([ready, result.then(() => undefined)]), result };
}

const go = (root: string) => writeFile(join(root, "go"), "");

describe("processes sharing a root", () => {
  it("build a new request once between them", async () => {
    const root = await freshRoot("cross");
    const manager = await testManager(root);
    const first = anotherProcess(root, "release", ["packaging", "iniconfig"]);
    const second = anotherProcess(root, "release", ["iniconfig", "Packaging"]);
    await Promise.all([first.ready, second.ready]);
    // All three start together, so they meet at the compile and build locks.
    await go(root);
    const [a, b, here] = await Promise.all([first.result, second.result, manager.acquire(["packaging", "iniconfig"])]);
    expect(new Set([a.envKey, b.envKey, here.envKey]).size).toBe(1);
    const builds = a.stats.builds + b.stats.builds + manager.stats().builds;
    const compiles = a.stats.compiles + b.stats.compiles + manager.stats().compiles;
    expect(builds).toBe(1);
    expect(compiles).toBe(1);
    await here.release();
  }, 120_000);

  it("a lease left by a process that exited does not keep its env from eviction", async () => {
    const root = await freshRoot("cross-evict");
    const other = anotherProcess(root, "keep", ["iniconfig"]);
    await go(root);
    const child = await other.result;
    expect(await readdir(join(layoutOf(root).envs, `${child.envKey}.leases`))).toHaveLength(1);
    const manager = await testManager(root, { diskBudgetBytes: 1 });
    expect((await manager.evict()).removed).toEqual([child.envKey]);
  }, 120_000);
});
