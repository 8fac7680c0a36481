import { describe, expect, it } from "vitest";
import { defaultJobResources } from "@asgard/contracts";
import { classifyExit as classifyWith, MISMATCH_MARKER } from "./classify.js";

const classifyExit = (r: Parameters<typeof classifyWith>[0], timeout: number, tail: string[], resources = defaultJobResources()) =>
  classifyWith(r, timeout, tail, resources);

const result = (over: Partial<Parameters<typeof classifyExit>[0]> = {}) => ({
  exitCode: 0,
  signal: null,
  timedOut: false,
  cancelled: false,
  durationMs: 10,
  limitExceeded: null,
  limitsHit: [],
  peakMemoryBytes: null,
  ...over,
});

describe("classifyExit", () => {
  it("exit 0 succeeds", () => {
    expect(classifyExit(result(), 60, [])).toEqual({ outcome: "succeeded", error_type: null, error: null, exit_code: 0 });
  });

  it("names the exception of a traceback", () => {
    const c = classifyExit(result({ exitCode: 1 }), 60, ["Traceback (most recent call last):", '  File "train.py"', "ValueError: bad data"]);
    expect(c).toMatchObject({ outcome: "failed", error_type: "script_error", exit_code: 1 });
    expect(c.error).toBe("the script exited with code 1: ValueError: bad data");
  });

  it("timeouts and cancels win over the exit code", () => {
    expect(classifyExit(result({ exitCode: null, signal: "SIGKILL", timedOut: true }), 90, [])).toMatchObject({
      outcome: "timeout",
      error_type: "timeout",
    });
    expect(classifyExit(result({ exitCode: null, cancelled: true }), 90, [])).toMatchObject({ outcome: "cancelled" });
  });

  it("reports an experiment mismatch with both names", () => {
    const line = `${MISMATCH_MARKER} the script calls mlflow.set_experiment('a') but this job's experiment is 'b'`;
    const c = classifyExit(result({ exitCode: 1 }), 60, [line, "SystemExit: ..."]);
    expect(c.error).toContain("'a'");
    expect(c.error).toContain("'b'");
  });

  it("names the sandbox limit a script ran into, as its own error type", () => {
    const memory = classifyExit(result({ exitCode: null, signal: "SIGKILL", limitExceeded: "memory", limitsHit: ["memory"] }), 60, ["Killed"]);
    expect(memory).toMatchObject({ outcome: "failed", error_type: "resource_limit" });
    expect(memory.error).toContain("memory limit of 4096 MiB (resources.memory_mb");
    const pids = classifyExit(result({ exitCode: 1, limitExceeded: "pids", limitsHit: ["pids"] }), 60, ["BlockingIOError: [Errno 11]"]);
    expect(pids.error).toContain("limit of 1024 processes");
    const small = classifyExit(result({ exitCode: 1, limitExceeded: "disk", limitsHit: ["disk"] }), 60, [], { memory_mb: 256, cpus: 1, processes: 32, disk_mb: 64 });
    expect(small).toMatchObject({ error_type: "resource_limit", error: expect.stringContaining("at most 64 MiB (resources.disk_mb)") });
    const timeout = classifyExit(result({ timedOut: true, limitExceeded: "memory", limitsHit: ["memory"] }), 60, []);
    expect(timeout.error_type).toBe("timeout");
  });
});
