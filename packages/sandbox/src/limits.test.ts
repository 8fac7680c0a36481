import { describe, expect, it } from "vitest";
import { DEFAULT_LIMITS, judgeLimits, resolveLimits, rlimitOptions } from "./limits.js";

describe("resolveLimits", () => {
  it("takes each default the request leaves out", () => {
    expect(resolveLimits({ pids: 64, cpus: 1.5 })).toEqual({ ...DEFAULT_LIMITS, pids: 64, cpus: 1.5 });
    expect(resolveLimits()).toEqual(DEFAULT_LIMITS);
  });

  it("refuses what cannot be applied, naming the field", () => {
    expect(() => resolveLimits({ memoryBytes: 1 })).toThrow(/limits\.memoryBytes/);
    expect(() => resolveLimits({ openFiles: Number.NaN })).toThrow(RangeError);
    expect(() => resolveLimits({ cpus: -1 })).toThrow(/limits\.cpus/);
    expect(() => resolveLimits({ workDirBytes: 10 })).toThrow(/limits\.workDirBytes/);
    expect(() => resolveLimits({ swap: 1 } as never)).toThrow(TypeError);
  });
});

describe("rlimitOptions", () => {
  it("limits file size and open files, disables core dumps, and adds per-process memory and per-uid processes without cgroups", () => {
    const limits = resolveLimits({ fileSizeBytes: 1 << 20, openFiles: 100, memoryBytes: 1 << 30, pids: 50 });
    expect(rlimitOptions(limits, true)).toEqual(["--fsize=1048576", "--nofile=100", "--core=0"]);
    expect(rlimitOptions(limits, false)).toEqual(["--fsize=1048576", "--nofile=100", "--core=0", "--data=1073741824", "--nproc=50"]);
  });
});

describe("judgeLimits", () => {
  const base = { exitCode: 1, signal: null, stopped: false, oomKills: 0, pidsRefused: 0, noSpace: false };

  it("blames the memory limit for an OOM kill, before anything else", () => {
    expect(judgeLimits({ ...base, exitCode: 137, oomKills: 1, pidsRefused: 3 })).toEqual({ limitsHit: ["memory", "pids"], limitExceeded: "memory" });
  });

  it("blames the file size limit for SIGXFSZ, as exit status or as signal", () => {
    expect(judgeLimits({ ...base, exitCode: 153 })).toEqual({ limitsHit: ["file_size"], limitExceeded: "file_size" });
    expect(judgeLimits({ ...base, exitCode: null, signal: "SIGXFSZ" })).toEqual({ limitsHit: ["file_size"], limitExceeded: "file_size" });
  });

  it("blames a full work directory or tmpfs only when the script failed, before refused forks", () => {
    expect(judgeLimits({ ...base, noSpace: true, pidsRefused: 1 })).toEqual({ limitsHit: ["pids", "disk"], limitExceeded: "disk" });
    expect(judgeLimits({ ...base, exitCode: 0, noSpace: true })).toEqual({ limitsHit: ["disk"], limitExceeded: null });
  });

  it("blames refused forks only when the script failed", () => {
    expect(judgeLimits({ ...base, pidsRefused: 2 })).toEqual({ limitsHit: ["pids"], limitExceeded: "pids" });
    expect(judgeLimits({ ...base, exitCode: 0, pidsRefused: 2 })).toEqual({ limitsHit: ["pids"], limitExceeded: null });
  });

  it("blames no limit for a script the runner stopped, or one that failed on its own", () => {
    expect(judgeLimits({ ...base, exitCode: 137, stopped: true, oomKills: 1 })).toEqual({ limitsHit: ["memory"], limitExceeded: null });
    expect(judgeLimits(base)).toEqual({ limitsHit: [], limitExceeded: null });
  });
});
