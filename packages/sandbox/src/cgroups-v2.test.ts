import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { detectV2, v2Directory } from "./cgroups-v2.js";
import { SandboxCgroup } from "./cgroups.js";
import { resolveLimits } from "./limits.js";

// This machine runs cgroup v1: a temporary directory stands in for the delegated v2 group, so
// these tests prove which files the v2 path writes and reads, not that a kernel honours them.
let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "cgroup-v2-"));
  writeFileSync(join(root, "cgroup.controllers"), "cpuset cpu io memory pids\n");
  writeFileSync(join(root, "cgroup.subtree_control"), "");
  writeFileSync(join(root, "cgroup.procs"), "");
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe("v2Directory", () => {
  it("joins the unified mount with this process's group, inside a cgroup namespace too", () => {
    const mountinfo = "30 24 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n";
    expect(v2Directory(mountinfo, "0::/kubepods/pod1/c1\n")).toBe("/sys/fs/cgroup/kubepods/pod1/c1");
    expect(v2Directory(mountinfo, "0::/\n")).toBe("/sys/fs/cgroup");
    const bound = "30 24 0:26 /kubepods/pod1 /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
    expect(v2Directory(bound, "0::/kubepods/pod1/c1\n")).toBe("/sys/fs/cgroup/c1");
    expect(v2Directory("", "0::/x\n")).toBeNull();
    expect(v2Directory(mountinfo, "4:memory:/x\n")).toBeNull();
  });
});

describe("detectV2", () => {
  it("hands memory, pids and cpu down to the sandboxes' platform group", () => {
    expect(detectV2(root)).toEqual({ kind: "v2", platformDir: join(root, "asgard-sandboxes") });
    expect(readFileSync(join(root, "cgroup.subtree_control"), "utf8")).toBe("+memory +pids +cpu");
  });

  it("refuses a group not delegated the controllers it needs, naming them", () => {
    writeFileSync(join(root, "cgroup.controllers"), "cpuset io\n");
    expect(detectV2(root)).toEqual({ kind: "none", reason: expect.stringMatching(/memory, pids, cpu/) });
    expect(detectV2(join(root, "missing"))).toMatchObject({ kind: "none" });
  });
});

describe("SandboxCgroup on cgroup v2", () => {
  const platformDir = () => join(root, "asgard-sandboxes");

  /** The kernel makes a group's files on mkdir; here the test makes the ones it reads. */
  function onlyGroup(): string {
    const dir = platformDir();
    const [name] = readdirSync(dir).filter((n) => n.startsWith("sbx-"));
    return join(dir, name as string);
  }

  it("writes memory.max, memory.swap.max, pids.max and cpu.max, and moves the script in", () => {
    mkdirSync(platformDir(), { recursive: true });
    const group = SandboxCgroup.create({ kind: "v2", platformDir: platformDir() }, resolveLimits({ memoryBytes: 256 << 20, pids: 40, cpus: 1.5 }));
    const dir = onlyGroup();
    const read = (f: string) => readFileSync(join(dir, f), "utf8");
    expect(read("memory.max")).toBe(String(256 << 20));
    expect(read("pids.max")).toBe("40");
    expect(read("cpu.max")).toBe("150000 100000");
    expect(read("cpu.weight")).toBe("150");
    expect(readFileSync(join(platformDir(), "cgroup.subtree_control"), "utf8")).toBe("+memory +pids +cpu");
    group.add(4242);
    expect(read("cgroup.procs")).toBe("4242");
  });

  it("leaves the CPU uncapped without a cpus limit, and touches swap only where the kernel accounts it", () => {
    mkdirSync(platformDir(), { recursive: true });
    SandboxCgroup.create({ kind: "v2", platformDir: platformDir() }, resolveLimits({}));
    const dir = onlyGroup();
    expect(readFileSync(join(dir, "cpu.max"), "utf8")).toBe("max 100000");
    expect(readFileSync(join(dir, "cpu.weight"), "utf8")).toBe("100");
    expect(existsSync(join(dir, "memory.swap.max"))).toBe(false);
  });

  it("reads OOM kills from memory.events, refused forks from pids.events and the peak from memory.peak", () => {
    mkdirSync(platformDir(), { recursive: true });
    const group = SandboxCgroup.create({ kind: "v2", platformDir: platformDir() }, resolveLimits({}));
    const dir = onlyGroup();
    writeFileSync(join(dir, "memory.events"), "low 0\nhigh 0\nmax 12\noom 2\noom_kill 1\noom_group_kill 0\n");
    writeFileSync(join(dir, "pids.events"), "max 3\n");
    writeFileSync(join(dir, "memory.peak"), "123456\n");
    expect(group.report()).toEqual({ oomKills: 1, pidsRefused: 3, peakMemoryBytes: 123456 });
  });
});
