import { layoutOf } from "../src/layout.js";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runChild } from "../src/child.js";
import { buildChildEnv } from "../src/child-env.js";
import { PyEnvError } from "../src/index.js";
import { deadPid, freshRoot, recordingUv, testManager } from "./helpers.js";

/** envs/ entries that are published venvs (named by a sha256). */
async function publishedEnvs(root: string): Promise<string[]> {
  return (await readdir(layoutOf(root).envs).catch(() => [] as string[])).filter((n) => /^[0-9a-f]{64}$/.test(n));
}

/** Members of a process group that are still running (zombies awaiting their reaper are dead). */
async function runningInGroup(pgid: number): Promise<number[]> {
  const found: number[] = [];
  for (const name of await readdir("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(join("/proc", name, "stat"), "utf8").catch(() => "");
    // "pid (comm) state ppid pgrp ...": comm may hold spaces, so read after the last ")".
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(pgrp) === pgid && state !== "Z" && state !== "X") found.push(Number(name));
  }
  return found;
}

describe("cancellation", () => {
  it("kills the child's whole process group on abort and rejects with CANCELLED", async () => {
    const controller = new AbortController();
    let pid: number | undefined;
    const running = runChild("sh", ["-c", "sleep 30 & echo $$; wait"], {
      env: buildChildEnv(process.env),
      what: "sleeping",
      signal: controller.signal,
      onLine: (line) => {
        pid = Number(line);
        controller.abort();
      },
    });
    await expect(running).rejects.toMatchObject({ code: "CANCELLED" });
    expect(pid).toBeGreaterThan(0);
    expect(await runningInGroup(pid ?? 0)).toEqual([]);
  });

  it("aborting mid-install leaves no env, no scratch and no lock held; the next acquire builds", async () => {
    const root = await freshRoot("cancel");
    const manager = await testManager(root);
    const controller = new AbortController();
    const lines: string[] = [];
    const err = await manager
      .acquire(["packaging"], {
        signal: controller.signal,
        onLog: (line) => {
          lines.push(line);
          // `uv pip sync` has started on the scratch venv: kill it there.
          if (/^Using Python .* environment at/.test(line)) controller.abort();
        },
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PyEnvError);
    expect(err).toMatchObject({ code: "CANCELLED" });
    expect(lines.some((l) => /^Creating virtual environment/.test(l))).toBe(true);
    expect(manager.stats().builds).toBe(1);
    expect(await publishedEnvs(root)).toEqual([]);
    expect(await readdir(layoutOf(root).tmp)).toEqual([]);
    expect(await readdir(layoutOf(root).mutex)).toEqual([]);

    const lease = await manager.acquire(["packaging"]);
    expect(lease).toMatchObject({ lockHit: true, envHit: false });
    expect(manager.stats().builds).toBe(2);
    expect(await publishedEnvs(root)).toEqual([lease.envKey]);
    await lease.release();
  });

  it("an aborted waiter does not cancel the build another caller still waits for", async () => {
    const root = await freshRoot("cancel-shared");
    const manager = await testManager(root);
    const controller = new AbortController();
    const quitter = manager.acquire(["iniconfig"], { signal: controller.signal });
    // The build's log reaching the second caller proves it has joined the build: only now quit.
    const stayer = manager.acquire(["iniconfig"], {
      onLog: (line) => {
        if (/^Creating virtual environment/.test(line)) controller.abort();
      },
    });
    await expect(quitter).rejects.toMatchObject({ code: "CANCELLED" });
    const lease = await stayer;
    expect(lease.envHit).toBe(false);
    expect(manager.stats().builds).toBe(1);
    expect(await publishedEnvs(root)).toEqual([lease.envKey]);
    await lease.release();
  });

  it("rejects at once when the signal has already fired, before running uv", async () => {
    const root = await freshRoot("cancel-early");
    const calls = join(root, "calls");
    const manager = await testManager(root, { uvPath: await recordingUv(calls) });
    await expect(manager.acquire(["six"], { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: "CANCELLED" });
    expect(await readdir(calls).then((n) => n.filter((x) => x.endsWith(".args")))).toEqual([]);
  });
});

describe("crash recovery", () => {
  it("removes a dead builder's scratch and takes over its lock", async () => {
    const root = await freshRoot("crash");
    const dead = await deadPid();
    const requestKey = await (await testManager(root)).requestKey(["iniconfig"]);
    // What a builder killed mid-build leaves: a half venv in tmp/ and its locks.
    await mkdir(join(layoutOf(root).tmp, `${"0".repeat(64)}-${dead}-abcdef`, "bin"), { recursive: true });
    await mkdir(join(layoutOf(root).mutex, `lock-${requestKey}`), { recursive: true });
    await writeFile(join(layoutOf(root).mutex, `lock-${requestKey}`, "pid"), String(dead));
    // A live process's scratch is left alone.
    const live = `${"1".repeat(64)}-${process.pid}-abcdef`;
    await mkdir(join(layoutOf(root).tmp, live));

    const manager = await testManager(root);
    const lease = await manager.acquire(["iniconfig"]);
    expect(lease).toMatchObject({ lockHit: false, envHit: false });
    expect(await readdir(layoutOf(root).tmp)).toEqual([live]);
    expect(await readdir(layoutOf(root).mutex)).toEqual([]);
    await lease.release();
  });

  it("reports an install failure as BUILD_FAILED and publishes nothing", async () => {
    const root = await freshRoot("build-fail");
    const manager = await testManager(root, { uvPath: await recordingUv(join(root, "calls"), { failSync: true }) });
    const err = await manager.acquire(["iniconfig"]).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "BUILD_FAILED" });
    expect((err as PyEnvError).output).toMatch(/injected install failure/);
    expect(await publishedEnvs(root)).toEqual([]);
    expect(await readdir(layoutOf(root).tmp)).toEqual([]);
  });
});
