import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { SandboxError } from "./errors.js";
import { signalPid } from "./kill.js";
import type { ResourceLimits } from "./limits.js";
import { detectV2, enableControllers, v2Directory } from "./cgroups-v2.js";
import { CONTROLLERS, makeGroup, PLATFORM_GROUP, rmdirQuietly, unescapeMountPath, type CgroupSupport, type Controller } from "./cgroup-fs.js";
import { processAlive } from "@asgard/tools";

export type { CgroupSupport } from "./cgroup-fs.js";

const CFS_PERIOD_US = 100_000;

let detected: CgroupSupport | undefined;

/**
 * Detected once per process. When sandboxes cannot have cgroups it says so once, as a
 * process warning; memory and process counts then fall back to rlimits.
 */
export function cgroupSupport(): CgroupSupport {
  if (detected === undefined) {
    detected = detect();
    if (detected.kind === "none") {
      process.emitWarning(`per-sandbox cgroups unavailable (${detected.reason}); memory and process limits fall back to rlimits`, {
        code: "ASGARD_SANDBOX_NO_CGROUPS",
      });
    }
  }
  return detected;
}

interface Mount {
  mountPoint: string;
  root: string;
}

function detect(): CgroupSupport {
  let mountinfo: string;
  let ownGroups: string;
  try {
    mountinfo = readFileSync("/proc/self/mountinfo", "utf8");
    ownGroups = readFileSync("/proc/self/cgroup", "utf8");
  } catch (err) {
    return { kind: "none", reason: `cannot read /proc/self: ${(err as Error).message}` };
  }
  const mounts = v1Mounts(mountinfo);
  const paths = v1Paths(ownGroups);
  const missing = CONTROLLERS.filter((c) => !mounts.has(c) || !paths.has(c));
  if (missing.length > 0) {
    // A v2-only machine (every current Kubernetes node): the unified hierarchy, if delegated to us.
    const unified = v2Directory(mountinfo, ownGroups);
    if (unified !== null && mounts.size === 0) return detectV2(unified);
    return { kind: "none", reason: `no cgroup v1 hierarchy for ${missing.join(", ")}` };
  }
  const platformDirs = {} as Record<Controller, string>;
  for (const c of CONTROLLERS) {
    const mount = mounts.get(c) as Mount;
    const path = paths.get(c) as string;
    const inside = mount.root !== "/" && path.startsWith(mount.root) ? path.slice(mount.root.length) : path;
    platformDirs[c] = join(mount.mountPoint, inside, PLATFORM_GROUP);
  }
  // A probe group, not just the platform group: that one may exist already, made by a
  // runner with more rights than this one.
  const probe = `probe-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    for (const dir of Object.values(platformDirs)) {
      makeGroup(dir, join(dir, probe));
      rmdirSync(join(dir, probe));
    }
  } catch (err) {
    for (const dir of Object.values(platformDirs)) rmdirQuietly(join(dir, probe));
    removePlatformDirs(platformDirs);
    return { kind: "none", reason: `cannot create cgroups here (${(err as NodeJS.ErrnoException).code ?? String(err)})` };
  }
  removePlatformDirs(platformDirs);
  return { kind: "v1", platformDirs };
}

/** Controller → mount of each cgroup v1 hierarchy (`cpu,cpuacct` mounts count for both). */
function v1Mounts(mountinfo: string): Map<string, Mount> {
  const out = new Map<string, Mount>();
  for (const line of mountinfo.split("\n")) {
    const [pre, post] = line.split(" - ");
    if (pre === undefined || post === undefined) continue;
    const [fsType, , superOptions] = post.split(" ");
    if (fsType !== "cgroup" || superOptions === undefined) continue;
    const fields = pre.split(" ");
    const root = fields[3];
    const mountPoint = fields[4];
    if (root === undefined || mountPoint === undefined) continue;
    for (const option of superOptions.split(",")) {
      if (!out.has(option)) out.set(option, { root: unescapeMountPath(root), mountPoint: unescapeMountPath(mountPoint) });
    }
  }
  return out;
}


/** Controller → this process's cgroup path in its v1 hierarchy. */
function v1Paths(cgroupFile: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of cgroupFile.split("\n")) {
    const match = /^\d+:([^:]+):(.*)$/.exec(line);
    if (!match) continue;
    for (const c of (match[1] as string).split(",")) out.set(c, match[2] as string);
  }
  return out;
}

/** What the kernel recorded about a sandbox's use of its limits. */
export interface CgroupReport {
  /** Processes the OOM killer ended because the sandbox reached its memory limit. */
  oomKills: number;
  /** Forks and threads refused at the process limit. */
  pidsRefused: number;
  /** The sandbox's peak memory use, bytes. */
  peakMemoryBytes: number | null;
}

/** CFS quota per period for `cpus` CPUs; null: no cap. At least 1 ms, the kernel's minimum. */
export function cfsQuotaUs(cpus: number | null): number | null {
  return cpus === null ? null : Math.max(1000, Math.round(cpus * CFS_PERIOD_US));
}

/**
 * The sandbox's CPU weight against its siblings when the CPUs are contended: proportional to
 * the CPUs it may use (the kernel's default, 1024 per CPU, when uncapped), so a job that asked
 * for 4 CPUs is not held to the same share as one that asked for half of one.
 */
export function cpuShares(cpus: number | null): number {
  return cpus === null ? 1024 : Math.min(262_144, Math.max(2, Math.round(cpus * 1024)));
}

/** cgroup v2's cpu.weight (1..10000, default 100) for the same proportion as {@link cpuShares}. */
export function cpuWeight(cpus: number | null): number {
  return cpus === null ? 100 : Math.min(10_000, Math.max(1, Math.round(cpus * 100)));
}

/** One sandbox's cgroups: created with its limits before the script starts, removed after. */
export class SandboxCgroup {
  private constructor(
    private readonly version: "v1" | "v2",
    private readonly dirs: Record<Controller, string>,
    private readonly platformDirs: Record<Controller, string>,
  ) {}

  static create(support: Exclude<CgroupSupport, { kind: "none" }>, limits: ResourceLimits): SandboxCgroup {
    // In v2 every controller is one directory: the same code then reads one dir three times.
    const platformDirs =
      support.kind === "v1"
        ? support.platformDirs
        : { memory: support.platformDir, pids: support.platformDir, cpu: support.platformDir };
    sweepStale(platformDirs);
    const name = `sbx-${process.pid}-${randomBytes(6).toString("hex")}`;
    const dirs = {} as Record<Controller, string>;
    for (const c of CONTROLLERS) dirs[c] = join(platformDirs[c], name);
    const group = new SandboxCgroup(support.kind, dirs, platformDirs);
    try {
      for (const dir of group.uniqueDirs()) makeGroup(dirname(dir), dir);
      // Another runner may have removed and re-made the platform group: its children need the controllers again.
      if (support.kind === "v2") enableControllers(support.platformDir);
      if (support.kind === "v1") group.applyV1Limits(limits);
      else group.applyV2Limits(limits);
    } catch (err) {
      group.removeNow();
      throw new SandboxError("SPAWN_FAILED", `could not set up the sandbox's cgroup ${name}`, { cause: err });
    }
    return group;
  }

  private applyV1Limits(limits: ResourceLimits): void {
    writeFileSync(join(this.dirs.memory, "memory.limit_in_bytes"), String(limits.memoryBytes));
    // Swap would let the sandbox exceed its memory, slowly: memory+swap gets the same cap.
    const memsw = join(this.dirs.memory, "memory.memsw.limit_in_bytes");
    if (existsSync(memsw)) writeFileSync(memsw, String(limits.memoryBytes));
    writeFileSync(join(this.dirs.pids, "pids.max"), String(limits.pids));
    writeFileSync(join(this.dirs.cpu, "cpu.cfs_period_us"), String(CFS_PERIOD_US));
    writeFileSync(join(this.dirs.cpu, "cpu.cfs_quota_us"), String(cfsQuotaUs(limits.cpus) ?? -1));
    writeFileSync(join(this.dirs.cpu, "cpu.shares"), String(cpuShares(limits.cpus)));
  }

  private applyV2Limits(limits: ResourceLimits): void {
    writeFileSync(join(this.dirs.memory, "memory.max"), String(limits.memoryBytes));
    // v2 counts swap apart from memory: none, or the sandbox could exceed its memory, slowly.
    const swap = join(this.dirs.memory, "memory.swap.max");
    if (existsSync(swap)) writeFileSync(swap, "0");
    writeFileSync(join(this.dirs.pids, "pids.max"), String(limits.pids));
    writeFileSync(join(this.dirs.cpu, "cpu.max"), `${cfsQuotaUs(limits.cpus) ?? "max"} ${CFS_PERIOD_US}`);
    writeFileSync(join(this.dirs.cpu, "cpu.weight"), String(cpuWeight(limits.cpus)));
  }

  private uniqueDirs(): string[] {
    return [...new Set(Object.values(this.dirs))];
  }

  /** Moves `pid` (a process that has not forked yet) into every controller's group. */
  add(pid: number): void {
    for (const dir of this.uniqueDirs()) writeFileSync(join(dir, "cgroup.procs"), String(pid));
  }

  report(): CgroupReport {
    const v1 = this.version === "v1";
    // v1's memory.oom_control and v2's memory.events both hold an `oom_kill N` line.
    const memoryEvents = readOrEmpty(join(this.dirs.memory, v1 ? "memory.oom_control" : "memory.events"));
    const pidsEvents = readOrEmpty(join(this.dirs.pids, "pids.events"));
    // memory.peak exists from Linux 5.19 on; before that v2 keeps no peak.
    const peak = Number(readOrEmpty(join(this.dirs.memory, v1 ? "memory.max_usage_in_bytes" : "memory.peak")).trim());
    return {
      oomKills: Number(/^oom_kill (\d+)$/m.exec(memoryEvents)?.[1] ?? 0),
      pidsRefused: Number(/^max (\d+)$/m.exec(pidsEvents)?.[1] ?? 0),
      peakMemoryBytes: Number.isFinite(peak) && peak > 0 ? peak : null,
    };
  }

  /** SIGKILL to every process still in the group; returns how many there were. */
  killAll(): number {
    const pids = this.members();
    for (const pid of pids) signalPid(pid, "SIGKILL");
    return pids.length;
  }

  /**
   * Removes the group once its processes are gone. After the sandbox's init exits, the
   * kernel kills the rest of the PID namespace, but they take a moment to be reaped.
   */
  async remove(): Promise<void> {
    for (let attempt = 0; attempt < 100 && this.members().length > 0; attempt++) {
      if (attempt >= 10) this.killAll();
      await sleep(20);
    }
    this.removeNow();
  }

  private members(): number[] {
    const text = readOrEmpty(join(this.dirs.pids, "cgroup.procs"));
    return text.split("\n").filter((l) => l.length > 0).map(Number);
  }

  private removeNow(): void {
    for (const dir of this.uniqueDirs()) rmdirQuietly(dir);
    removePlatformDirs(this.platformDirs);
  }
}


function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}


/** The platform group goes when its last sandbox does, so the runner's own group can be removed. */
function removePlatformDirs(platformDirs: Record<Controller, string>): void {
  for (const dir of new Set(Object.values(platformDirs))) rmdirQuietly(dir);
}

/**
 * Removes the groups of runners that died (SIGKILL, power loss) before their sandboxes ended:
 * each group is named after its runner's pid. Their processes died with them (a sandbox dies
 * with its runner), so the groups are empty; a busy one is left alone.
 */
export function sweepStale(platformDirs: Record<Controller, string>): void {
  for (const dir of new Set(Object.values(platformDirs))) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      const owner = /^sbx-(\d+)-[0-9a-f]+$/.exec(name)?.[1];
      if (owner === undefined || Number(owner) === process.pid || processAlive(Number(owner))) continue;
      rmdirQuietly(join(dir, name));
    }
  }
}
