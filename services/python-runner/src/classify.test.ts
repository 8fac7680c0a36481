import { describe, expect, it } from "vitest";
import { classifyExit, MISMATCH_MARKER } from "./classify.js";

const result = (over: Partial<Parameters<typeof classifyExit>[0]> = {}) => ({
  exitCode: 0,
  signal: null,
  timedOut: false,
  cancelled: false,
  durationMs: 10,
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
});
