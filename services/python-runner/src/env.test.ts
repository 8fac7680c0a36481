import { describe, expect, it } from "vitest";
import { parseEnv } from "@asgard/config";
import { RunnerEnv } from "./env.js";

const base = { NATS_URL: "nats://127.0.0.1:4222", MLFLOW_TRACKING_URI: "http://127.0.0.1:5000" };

describe("RunnerEnv", () => {
  it("binds /metrics to loopback and declares one stream replica unless told otherwise", () => {
    expect(parseEnv("python-runner", RunnerEnv, base)).toMatchObject({ METRICS_HOST: "127.0.0.1", NATS_STREAM_REPLICAS: 1 });
    expect(parseEnv("python-runner", RunnerEnv, { ...base, METRICS_HOST: "0.0.0.0", NATS_STREAM_REPLICAS: "3" })).toMatchObject({
      METRICS_HOST: "0.0.0.0",
      NATS_STREAM_REPLICAS: 3,
    });
    expect(() => parseEnv("python-runner", RunnerEnv, { ...base, METRICS_HOST: "http://x" })).toThrow(/METRICS_HOST/);
  });
});
