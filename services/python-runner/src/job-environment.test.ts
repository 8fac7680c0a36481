import { describe, expect, it } from "vitest";
import { buildJobEnvironment } from "./job-environment.js";

describe("buildJobEnvironment", () => {
  const input = {
    trackingUri: "http://mlflow:5000",
    experimentName: "exp",
    experimentId: "7",
    runId: "abc",
    modelName: "m",
    workspace: "team-a",
    userVariables: { DATA_PATH: "/data" },
    envBinDir: "/envs/k/bin",
    workDir: "/work/j-1",
    platformPythonPath: "/platform/python",
    trace: {},
  };

  it("holds the platform's variables and the user's, nothing of the runner's", () => {
    process.env.RUNNER_SECRET_CANARY = "leak";
    const env = buildJobEnvironment(input);
    expect(env).toMatchObject({
      DATA_PATH: "/data",
      MLFLOW_TRACKING_URI: "http://mlflow:5000",
      MLFLOW_RUN_ID: "abc",
      MLFLOW_EXPERIMENT_NAME: "exp",
      MLFLOW_WORKSPACE: "team-a",
      EXPERIMENT_NAME: "exp",
      MODEL_NAME: "m",
      PYTHONUNBUFFERED: "1",
      HOME: "/work/j-1",
    });
    expect(env.PATH?.startsWith("/envs/k/bin:")).toBe(true);
    expect(Object.values(env)).not.toContain("leak");
    expect(Object.keys(env)).not.toContain("RUNNER_SECRET_CANARY");
    delete process.env.RUNNER_SECRET_CANARY;
  });

  it("never lets a user variable override a platform one", () => {
    const env = buildJobEnvironment({ ...input, userVariables: { MLFLOW_RUN_ID: "evil", MLFLOW_WORKSPACE: "team-b", PATH: "/evil" } });
    expect(env.MLFLOW_RUN_ID).toBe("abc");
    expect(env.MLFLOW_WORKSPACE).toBe("team-a");
    expect(env.PATH).not.toBe("/evil");
  });

  it("hands the attempt's trace to the script as OpenTelemetry's TRACEPARENT and TRACESTATE", () => {
    const traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    const env = buildJobEnvironment({ ...input, trace: { traceparent, tracestate: "vendor=1" } });
    expect(env.TRACEPARENT).toBe(traceparent);
    expect(env.TRACESTATE).toBe("vendor=1");
    const untraced = buildJobEnvironment({ ...input, trace: { traceparent } });
    expect(Object.keys(untraced)).not.toContain("TRACESTATE");
  });
});
