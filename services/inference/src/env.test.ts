import { describe, expect, it } from "vitest";
import { ConfigError, parseEnv } from "@asgard/config";
import { InferenceEnv } from "./env.js";

const minimal = { NATS_URL: "nats://127.0.0.1:4222", MLFLOW_TRACKING_URI: "http://127.0.0.1:5000/" };

describe("InferenceEnv", () => {
  it("has defaults for everything but NATS and MLflow", () => {
    const env = parseEnv("inference", InferenceEnv, minimal);
    expect(env.MLFLOW_TRACKING_URI).toBe("http://127.0.0.1:5000");
    expect(env).toMatchObject({ INFERENCE_MAX_BATCH_ROWS: 256, INFERENCE_MAX_WAIT_MS: 5, INFERENCE_WARM_ON_REGISTER: true, ASGARD_PYTHON: "python3" });
    expect(parseEnv("inference", InferenceEnv, { ...minimal, INFERENCE_MAX_WAIT_MS: "0", INFERENCE_WARM_ON_REGISTER: "false" })).toMatchObject({
      INFERENCE_MAX_WAIT_MS: 0,
      INFERENCE_WARM_ON_REGISTER: false,
    });
  });

  it("names a bad variable and the form it expects", () => {
    try {
      parseEnv("inference", InferenceEnv, { ...minimal, INFERENCE_MAX_BATCH_ROWS: "0", INFERENCE_WARM_ON_REGISTER: "yes" });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const text = (err as ConfigError).message;
      expect(text).toMatch(/INFERENCE_MAX_BATCH_ROWS: most rows in one predict call: a positive integer/);
      expect(text).toMatch(/INFERENCE_WARM_ON_REGISTER: .*true or false/);
    }
  });

  it("binds /metrics to loopback and declares one stream replica unless told otherwise", () => {
    expect(parseEnv("inference", InferenceEnv, minimal)).toMatchObject({ METRICS_HOST: "127.0.0.1", NATS_STREAM_REPLICAS: 1 });
    expect(parseEnv("inference", InferenceEnv, { ...minimal, METRICS_HOST: "0.0.0.0", NATS_STREAM_REPLICAS: "3" })).toMatchObject({
      METRICS_HOST: "0.0.0.0",
      NATS_STREAM_REPLICAS: 3,
    });
    expect(() => parseEnv("inference", InferenceEnv, { ...minimal, NATS_STREAM_REPLICAS: "6" })).toThrow(/NATS_STREAM_REPLICAS: .*1 to 5/);
    expect(() => parseEnv("inference", InferenceEnv, { ...minimal, METRICS_HOST: "0.0.0.0:9464" })).toThrow(/METRICS_HOST: .*IP address or host name/);
  });

  it("sandboxes model workers unless explicitly opted out, and refuses anything else", () => {
    expect(parseEnv("inference", InferenceEnv, minimal)).toMatchObject({ INFERENCE_SANDBOX: "bwrap", INFERENCE_SANDBOX_UID: 65534, INFERENCE_SANDBOX_GID: 65534 });
    expect(parseEnv("inference", InferenceEnv, { ...minimal, INFERENCE_SANDBOX: "process-group" })).toMatchObject({ INFERENCE_SANDBOX: "process-group" });
    expect(() => parseEnv("inference", InferenceEnv, { ...minimal, INFERENCE_SANDBOX: "none" })).toThrow(/INFERENCE_SANDBOX/);
  });

  it("requires the MLflow URL", () => {
    expect(() => parseEnv("inference", InferenceEnv, { NATS_URL: minimal.NATS_URL })).toThrow(/MLFLOW_TRACKING_URI/);
  });
});
