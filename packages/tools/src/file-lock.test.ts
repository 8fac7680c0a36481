import { spawn } from "node:child_process";
import { mkdtemp, readdir, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cleanLockScratch, processAlive, tryLock, withLock } from "./file-lock.js";

/** A pid that ran and has exited: what a crashed owner leaves in its lock. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await new Promise((r) => child.once("exit", r));
  return child.pid as number;
}

describe("the cross-process lock", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "file-lock-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("is taken once: a second attempt names the holder until the first releases", async () => {
    const path = join(dir, "a.lock");
    const first = await tryLock(path);
    expect(first.acquired).toBe(true);
    expect(await tryLock(path)).toEqual({ acquired: false, holder: process.pid });
    if (first.acquired) await first.release();
    const again = await tryLock(path);
    expect(again.acquired).toBe(true);
    if (again.acquired) await again.release();
    expect(await readdir(dir)).toEqual([]);
  });

  it("takes over a lock whose owner no longer runs, and one holding no pid", async () => {
    const dead = await deadPid();
    expect(processAlive(dead)).toBe(false);
    const stale = join(dir, "stale.lock");
    await mkdir(stale);
    await writeFile(join(stale, "pid"), String(dead));
    const seen: number[] = [];
    const taken = await tryLock(stale, (pid) => seen.push(pid));
    expect(taken.acquired).toBe(true);
    expect(seen).toEqual([dead]);

    const empty = join(dir, "empty.lock");
    await mkdir(empty);
    expect((await tryLock(empty)).acquired).toBe(true);
  });

  it("reads a plain file holding a pid as a lock (an earlier release's form)", async () => {
    const live = join(dir, "live.lock");
    await writeFile(live, `${process.ppid}\n`);
    expect(await tryLock(live)).toEqual({ acquired: false, holder: process.ppid });
    const dead = join(dir, "dead.lock");
    await writeFile(dead, `${await deadPid()}\n`);
    expect((await tryLock(dead)).acquired).toBe(true);
  });

  it("withLock runs holders one at a time and releases after a failure", async () => {
    const path = join(dir, "serial.lock");
    let inside = 0;
    let most = 0;
    const work = () =>
      withLock(
        path,
        async () => {
          most = Math.max(most, ++inside);
          await new Promise((r) => setTimeout(r, 20));
          inside--;
        },
        { pollMs: 5 },
      );
    await Promise.all([work(), work(), work()]);
    expect(most).toBe(1);
    await expect(withLock(path, () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect((await tryLock(path)).acquired).toBe(true);
  });

  it("stops waiting when aborted, with the caller's error", async () => {
    const path = join(dir, "held.lock");
    const held = await tryLock(path);
    expect(held.acquired).toBe(true);
    const abort = new AbortController();
    const waiting = withLock(path, async () => "never", { signal: abort.signal, pollMs: 5, abortError: () => new Error("cancelled by caller") });
    abort.abort();
    await expect(waiting).rejects.toThrow("cancelled by caller");
  });

  it("cleans scratch of dead processes only", async () => {
    const dead = await deadPid();
    await mkdir(join(dir, `x.lock.${dead}-abcdef012345.staging`));
    await mkdir(join(dir, `x.lock.${process.pid}-abcdef012345.staging`));
    await cleanLockScratch(dir);
    expect(await readdir(dir)).toEqual([`x.lock.${process.pid}-abcdef012345.staging`]);
  });
});
