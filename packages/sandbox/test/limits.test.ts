import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { cgroupSupport } from "../src/cgroups.js";
import { checkSandbox, runScript, type ResourceLimits } from "../src/index.js";
import { collect, findPython, makeJobDir, processesWith, remainingAfterPolls, uniqueMarker } from "./support.js";

const python = findPython();
const MiB = 1024 * 1024;
let cgroups = false;
let job: ReturnType<typeof makeJobDir>;

beforeAll(async () => {
  cgroups = (await checkSandbox()).cgroups.available;
});
beforeEach(() => {
  job = makeJobDir();
});
afterEach(() => job.cleanup());

function py(code: string, limits: Partial<ResourceLimits>, extra: { args?: string[]; timeoutMs?: number } = {}) {
  return collect({
    command: python.executable,
    args: ["-u", "-c", code, ...(extra.args ?? [])],
    cwd: job.dir,
    env: { PATH: "/usr/bin:/bin", LANG: "C.UTF-8" },
    readOnlyPaths: python.prefixes,
    timeoutMs: extra.timeoutMs ?? 120_000,
    graceMs: 1000,
    limits,
  });
}

function lastJson<T>(lines: string[]): T {
  const last = lines.at(-1);
  if (last === undefined) throw new Error("no output");
  return JSON.parse(last) as T;
}

/** This process's sandbox groups in the pids hierarchy (where `cgroup.procs` tells who is in them). */
function ownGroups(): string[] {
  const support = cgroupSupport();
  if (support.kind === "none") return [];
  try {
    const dir = support.kind === "v1" ? support.platformDirs.pids : support.platformDir;
    return readdirSync(dir).filter((n) => n.startsWith(`sbx-${process.pid}-`));
  } catch {
    return [];
  }
}

describe("resource limits", () => {
  afterEach(() => {
    // Every run removes its cgroup, whatever became of the script.
    expect(ownGroups()).toEqual([]);
  });

  it("reports a script killed at its memory limit as such", async () => {
    const hog = ["chunks = []", "while True:", "    chunks.append(b'x' * (8 << 20))"].join("\n");
    const { result } = await py(hog, { memoryBytes: 128 * MiB });
    expect(result).toMatchObject({ exitCode: 137, timedOut: false, cancelled: false });
    if (cgroups) {
      expect(result).toMatchObject({ limitExceeded: "memory", limitsHit: ["memory"] });
      expect(result.peakMemoryBytes).toBeGreaterThan(64 * MiB);
      expect(result.peakMemoryBytes).toBeLessThanOrEqual(128 * MiB);
    }
  });

  it("counts what the script keeps in /tmp against its memory", async () => {
    // Each file fits /tmp's own size; together they pass the memory limit.
    const code = [
      "import os",
      "block = os.urandom(1 << 20)",
      "for i in range(1000):",
      "    with open(f'/tmp/f{i}', 'wb') as f:",
      "        for _ in range(8): f.write(block)",
    ].join("\n");
    const { result } = await py(code, { memoryBytes: 96 * MiB, tmpBytes: 1024 * MiB });
    if (cgroups) expect(result).toMatchObject({ exitCode: 137, limitExceeded: "memory" });
    else expect(result.exitCode).not.toBe(0);
  });

  it("stops a fork bomb at the process limit and says so", async () => {
    const bomb = [
      "import errno, json, os, sys, time",
      "children = 0",
      "try:",
      "    while True:",
      "        if os.fork() == 0:",
      "            time.sleep(600)",
      "            os._exit(0)",
      "        children += 1",
      "except OSError as e:",
      "    print(json.dumps({'children': children, 'error': errno.errorcode[e.errno]}))",
      "    sys.exit(1)",
    ].join("\n");
    const { result, stdout } = await py(bomb, { pids: 32 });
    const report = lastJson<{ children: number; error: string }>(stdout);
    expect(report.error).toBe("EAGAIN");
    expect(report.children).toBeLessThan(32);
    expect(result).toMatchObject({ exitCode: 1, limitExceeded: cgroups ? "pids" : null });
  });

  it("keeps the host able to fork while a fork bomb runs, and ends it", async () => {
    const marker = uniqueMarker();
    // Every process forks for ever and shrugs off failures. The marker argument is in every
    // process's command line.
    const bomb = ["import os, time", "while True:", "    try: os.fork()", "    except OSError: time.sleep(0.01)"].join("\n");
    const run = runScript({
      command: python.executable,
      args: ["-c", bomb, marker],
      cwd: job.dir,
      env: { PATH: "/usr/bin:/bin" },
      readOnlyPaths: python.prefixes,
      timeoutMs: 600_000,
      graceMs: 1000,
      limits: { pids: 48 },
      onLine: () => {},
    });
    try {
      let seen = 0;
      for (let i = 0; i < 200 && seen < 40; i++) {
        seen = Math.max(seen, processesWith(marker).length);
        await sleep(50);
      }
      // The bomb is at its limit (the outer bwrap, outside the sandbox, carries the marker
      // too); the host is not.
      expect(seen).toBeGreaterThanOrEqual(40);
      expect(processesWith(marker).length).toBeLessThanOrEqual(49);
      expect(spawnSync("/bin/true").status).toBe(0);
    } finally {
      run.kill("cancel");
    }
    const result = await run.done;
    expect(result).toMatchObject({ cancelled: true });
    if (cgroups) expect(result.limitsHit).toContain("pids");
    expect(await remainingAfterPolls(marker)).toEqual([]);
  });

  it("refuses a file past the size limit, inside the sandbox only", async () => {
    const code = [
      "import errno, json, subprocess",
      "try:",
      "    with open('big.bin', 'wb') as f: f.write(b'x' * (3 << 20))",
      "    python = 'written'",
      "except OSError as e:",
      "    python = errno.errorcode[e.errno]",
      // A program that, unlike Python, does not ignore SIGXFSZ is killed by it.
      "shell = subprocess.run(['/bin/sh', '-c', 'head -c 3000000 /dev/zero > big2.bin'])",
      "print(json.dumps({'python': python, 'shell': shell.returncode}))",
    ].join("\n");
    const { result, stdout } = await py(code, { fileSizeBytes: 1 * MiB });
    expect(result.exitCode).toBe(0);
    const report = lastJson<{ python: string; shell: number }>(stdout);
    expect(report.python).toBe("EFBIG");
    // Killed by SIGXFSZ: -25 when sh ran head in its own place, 128 + 25 when sh reported it.
    expect([-25, 153]).toContain(report.shell);
    expect(statSync(join(job.dir, "big.bin")).size).toBe(1 * MiB);
    expect(statSync(join(job.dir, "big2.bin")).size).toBe(1 * MiB);
    // Writing elsewhere on the host is untouched by the script's limit.
    expect(spawnSync("/bin/sh", ["-c", `head -c 3000000 /dev/zero > ${join(job.dir, "host.bin")}`]).status).toBe(0);
  });

  it("names the file size limit when a process killed by it ends the script", async () => {
    const { result } = await collect({
      command: "/bin/sh",
      args: ["-c", "head -c 3000000 /dev/zero > big.bin"],
      cwd: job.dir,
      env: { PATH: "/usr/bin:/bin" },
      readOnlyPaths: [],
      timeoutMs: 60_000,
      limits: { fileSizeBytes: 1 * MiB },
    });
    expect(result).toMatchObject({ exitCode: 153, limitExceeded: "file_size", limitsHit: ["file_size"] });
  });

  it("gives /tmp and /dev/shm their sizes: filling them fails in the sandbox, not on the host", async () => {
    const code = [
      "import errno, json, os",
      "out = {}",
      "for d in ('/tmp', '/dev/shm'):",
      "    st = os.statvfs(d)",
      "    try:",
      "        with open(d + '/fill', 'wb') as f:",
      "            for _ in range(64): f.write(b'x' * (1 << 20))",
      "        out[d] = 'written'",
      "    except OSError as e:",
      "        out[d] = errno.errorcode[e.errno]",
      "    out[d + ' size'] = st.f_blocks * st.f_frsize",
      "print(json.dumps(out))",
    ].join("\n");
    const { result, stdout } = await py(code, { tmpBytes: 16 * MiB, shmBytes: 8 * MiB });
    expect(result.exitCode).toBe(0);
    expect(lastJson(stdout)).toEqual({ "/tmp": "ENOSPC", "/tmp size": 16 * MiB, "/dev/shm": "ENOSPC", "/dev/shm size": 8 * MiB });
  });

  it("caps the working directory's total: what the runner put there is readable, not writable, and a filler fails naming disk", async () => {
    writeFileSync(join(job.dir, "input.txt"), "from the runner\n");
    const code = [
      "import json, os",
      "out = {'input': open('input.txt').read().strip()}",
      "try:",
      "    open('input.txt', 'w')",
      "except OSError as e:",
      "    out['overwrite'] = e.errno",
      "st = os.statvfs('.')",
      "out['size'] = st.f_blocks * st.f_frsize",
      "print(json.dumps(out), flush=True)",
      "with open('fill.bin', 'wb') as f:",
      "    for _ in range(64): f.write(b'x' * (1 << 20))",
    ].join("\n");
    const { result, stdout } = await py(code, { workDirBytes: 8 * MiB });
    expect(JSON.parse(stdout[0] ?? "{}")).toMatchObject({ input: "from the runner", size: 8 * MiB, overwrite: expect.any(Number) });
    expect(result).toMatchObject({ exitCode: 1, limitExceeded: "disk", limitsHit: ["disk"] });
    // The files it wrote were the sandbox's: the host's directory holds only what the runner put there.
    expect(readdirSync(job.dir)).toEqual(["input.txt"]);
  });

  it("sets the rlimits every process of the sandbox inherits", async () => {
    const code = [
      "import json, resource",
      "names = ['RLIMIT_FSIZE', 'RLIMIT_NOFILE', 'RLIMIT_CORE', 'RLIMIT_NPROC']",
      "print(json.dumps({n: resource.getrlimit(getattr(resource, n)) for n in names}))",
    ].join("\n");
    const { stdout } = await py(code, { fileSizeBytes: 5 * MiB, openFiles: 512 });
    const limits = lastJson<Record<string, [number, number]>>(stdout);
    expect(limits).toMatchObject({ RLIMIT_FSIZE: [5 * MiB, 5 * MiB], RLIMIT_NOFILE: [512, 512], RLIMIT_CORE: [0, 0] });
    // With a cgroup, pids.max bounds the sandbox; RLIMIT_NPROC, counted per uid across all
    // sandboxes, is left alone.
    if (cgroups) expect(limits.RLIMIT_NPROC?.[0]).not.toBe(1024);
  });

  it("applies memory, process and CPU limits to the sandbox's own cgroup while it runs", async () => {
    if (!cgroups) {
      expect(cgroupSupport()).toMatchObject({ kind: "none" });
      return;
    }
    let ready: () => void = () => {};
    const started = new Promise<void>((res) => (ready = res));
    const run = runScript({
      command: "/bin/sh",
      args: ["-c", "echo ready; exec sleep 600"],
      cwd: job.dir,
      env: { PATH: "/usr/bin:/bin" },
      readOnlyPaths: [],
      timeoutMs: 600_000,
      graceMs: 1000,
      limits: { memoryBytes: 200 * MiB, pids: 77, cpus: 0.5 },
      onLine: (_, line) => line === "ready" && ready(),
    });
    try {
      await started;
      const groups = ownGroups();
      expect(groups).toHaveLength(1);
      const support = cgroupSupport();
      if (support.kind !== "v1") throw new Error("cgroups vanished");
      const read = (controller: "memory" | "pids" | "cpu", file: string) =>
        readFileSync(join(support.platformDirs[controller], groups[0] as string, file), "utf8").trim();
      expect(read("memory", "memory.limit_in_bytes")).toBe(String(200 * MiB));
      expect(read("pids", "pids.max")).toBe("77");
      expect(read("cpu", "cpu.cfs_quota_us")).toBe("50000");
      expect(read("cpu", "cpu.cfs_period_us")).toBe("100000");
      expect(read("cpu", "cpu.shares")).toBe("512");
      // Everything of the sandbox is in it: bwrap's init and the script.
      expect(read("pids", "cgroup.procs").split("\n")).toHaveLength(2);
    } finally {
      run.kill("cancel");
    }
    await run.done;
  });

  it("gives each of two sandboxes running at once a CPU group of its own, with its own quota and weight, removed after", async () => {
    if (!cgroups) {
      expect(cgroupSupport()).toMatchObject({ kind: "none" });
      return;
    }
    const support = cgroupSupport();
    if (support.kind !== "v1") throw new Error("cgroups vanished");
    const start = (cpus: number | null) => {
      let ready: () => void = () => {};
      const started = new Promise<void>((res) => (ready = res));
      const run = runScript({
        command: "/bin/sh",
        args: ["-c", "echo ready; exec sleep 600"],
        cwd: job.dir,
        env: { PATH: "/usr/bin:/bin" },
        readOnlyPaths: [],
        timeoutMs: 600_000,
        graceMs: 1000,
        limits: { cpus },
        onLine: (_, line) => line === "ready" && ready(),
      });
      return { run, started };
    };
    const before = new Set(ownGroups());
    const half = start(0.5);
    await half.started;
    const [halfGroup] = ownGroups().filter((g) => !before.has(g));
    const two = start(2);
    await two.started;
    const [twoGroup] = ownGroups().filter((g) => !before.has(g) && g !== halfGroup);
    const cpuDir = (group: string | undefined) => join(support.platformDirs.cpu, group as string);
    const read = (group: string | undefined, file: string) => readFileSync(join(cpuDir(group), file), "utf8").trim();
    const pidsOf = (group: string | undefined) => read(group, "cgroup.procs").split("\n").map(Number);
    try {
      expect(halfGroup).toBeDefined();
      expect(twoGroup).toBeDefined();
      expect(halfGroup).not.toBe(twoGroup);
      expect([read(halfGroup, "cpu.cfs_quota_us"), read(halfGroup, "cpu.shares")]).toEqual(["50000", "512"]);
      expect([read(twoGroup, "cpu.cfs_quota_us"), read(twoGroup, "cpu.shares")]).toEqual(["200000", "2048"]);
      // Each sandbox's processes are in its own CPU group, none in the other's.
      expect(pidsOf(halfGroup)).toHaveLength(2);
      expect(pidsOf(twoGroup)).toHaveLength(2);
      expect(pidsOf(halfGroup).filter((p) => pidsOf(twoGroup).includes(p))).toEqual([]);
    } finally {
      half.run.kill("cancel");
      two.run.kill("cancel");
    }
    await Promise.all([half.run.done, two.run.done]);
    expect(existsSync(cpuDir(halfGroup))).toBe(false);
    expect(existsSync(cpuDir(twoGroup))).toBe(false);
  });

  it("rejects limits it cannot apply", () => {
    const base = { command: "/bin/true", args: [], cwd: job.dir, env: {}, readOnlyPaths: [], timeoutMs: 1000, onLine: () => {} };
    expect(() => runScript({ ...base, limits: { memoryBytes: 1024 } })).toThrow(RangeError);
    expect(() => runScript({ ...base, limits: { pids: 2.5 } })).toThrow(RangeError);
    expect(() => runScript({ ...base, limits: { cpus: 0 } })).toThrow(RangeError);
    expect(() => runScript({ ...base, limits: { disk: 5 } as unknown as Partial<ResourceLimits> })).toThrow(TypeError);
  });
});
