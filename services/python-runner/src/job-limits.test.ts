import { describe, expect, it } from "vitest";
import type { SandboxCheck } from "@asgard/sandbox";
import { describeResources, runnerIsolation, sandboxLimits } from "./job-limits.js";

const MiB = 1024 * 1024;

describe("sandboxLimits", () => {
  it("turns a job's resources into the sandbox's limits, the work directory capped", () => {
    expect(sandboxLimits({ memory_mb: 512, cpus: 0.5, processes: 64, disk_mb: 128 })).toEqual({
      memoryBytes: 512 * MiB,
      cpus: 0.5,
      pids: 64,
      workDirBytes: 128 * MiB,
    });
    expect(describeResources({ memory_mb: 512, cpus: null, processes: 64, disk_mb: 128 })).toBe(
      "memory 512 MiB, CPUs uncapped, 64 processes, work directory 128 MiB",
    );
  });
});

describe("runnerIsolation", () => {
  const check = (version: "v1" | "v2" | null): SandboxCheck => ({
    available: true,
    bwrapPath: "/usr/bin/bwrap",
    reason: null,
    cgroups: { available: version !== null, version, reason: version === null ? "read-only" : null },
    internet: { available: true, reason: null },
  });

  it("reports what the sandbox check proved for bwrap", () => {
    expect(runnerIsolation("bwrap", check("v2"), true)).toEqual({ mode: "bwrap", cgroups: "v2", seccomp: true, internet: true });
    expect(runnerIsolation("bwrap", check(null), false)).toEqual({ mode: "bwrap", cgroups: "none", seccomp: true, internet: false });
  });

  it("reports no cgroups, no seccomp and the host's network for the process-group mode", () => {
    expect(runnerIsolation("process-group", null, false)).toEqual({ mode: "process-group", cgroups: "none", seccomp: false, internet: true });
  });
});
