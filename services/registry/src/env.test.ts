import { describe, expect, it } from "vitest";
import { parseEnv } from "@asgard/config";
import { RegistryEnv } from "./env.js";

const base = { NATS_URL: "nats://127.0.0.1:4222", MLFLOW_TRACKING_URI: "http://127.0.0.1:5000" };

describe("RegistryEnv", () => {
  it("binds /metrics to loopback and declares one stream replica unless told otherwise", () => {
    expect(parseEnv("registry", RegistryEnv, base)).toMatchObject({ METRICS_HOST: "127.0.0.1", NATS_STREAM_REPLICAS: 1 });
    expect(parseEnv("registry", RegistryEnv, { ...base, METRICS_HOST: "0.0.0.0", NATS_STREAM_REPLICAS: "3" })).toMatchObject({
      METRICS_HOST: "0.0.0.0",
      NATS_STREAM_REPLICAS: 3,
    });
    expect(() => parseEnv("registry", RegistryEnv, { ...base, NATS_STREAM_REPLICAS: "many" })).toThrow(/NATS_STREAM_REPLICAS/);
  });
});
