import type { JobResources, RunnerIsolation } from "@asgard/contracts";
import type { ResourceLimits, SandboxCheck, SandboxMode } from "@asgard/sandbox";

const MiB = 1024 * 1024;

/** A job's resources as the sandbox applies them; file size, open files, /tmp and /dev/shm keep the sandbox's defaults. */
export function sandboxLimits(r: JobResources): Partial<ResourceLimits> {
  return { memoryBytes: r.memory_mb * MiB, cpus: r.cpus, pids: r.processes, workDirBytes: r.disk_mb * MiB };
}

/** For the job's log: what it runs with. */
export function describeResources(r: JobResources): string {
  const cpus = r.cpus === null ? "CPUs uncapped" : `${r.cpus} CPUs`;
  return `memory ${r.memory_mb} MiB, ${cpus}, ${r.processes} processes, work directory ${r.disk_mb} MiB`;
}

/** The isolation level the heartbeat reports: what the sandbox check proved, for the configured mode. */
export function runnerIsolation(mode: SandboxMode, check: SandboxCheck | null, internet: boolean): RunnerIsolation {
  // Without a sandbox the script shares the host's network: whatever the setting, nothing keeps it off.
  if (mode === "process-group" || check === null) return { mode, cgroups: "none", seccomp: false, internet: true };
  return { mode, cgroups: check.cgroups.version ?? "none", seccomp: check.available, internet };
}
