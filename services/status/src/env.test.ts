import { describe, expect, it } from "vitest";
import { ConfigError, parseEnv } from "@asgard/config";
import { StatusEnv } from "./env.js";

const base = { NATS_URL: "nats://127.0.0.1:4222", MLFLOW_TRACKING_URI: "http://127.0.0.1:5000" };

describe("StatusEnv", () => {
  it("counts runners heard within 15 s (three default heartbeats) and binds /metrics to loopback by default", () => {
    expect(parseEnv("status", StatusEnv, base)).toMatchObject({
      STATUS_INTERVAL_MS: 3_000,
      STATUS_RUNNER_WINDOW_MS: 15_000,
      METRICS_HOST: "127.0.0.1",
    });
  });

  it("reads a shorter window and a container's metrics address", () => {
    expect(parseEnv("status", StatusEnv, { ...base, STATUS_RUNNER_WINDOW_MS: "3000", METRICS_HOST: "0.0.0.0" })).toMatchObject({
      STATUS_RUNNER_WINDOW_MS: 3_000,
      METRICS_HOST: "0.0.0.0",
    });
  });

  it("names a bad window or address", () => {
    const problems = (vars: Record<string, string>) => {
      try {
        parseEnv("status", StatusEnv, { ...base, ...vars });
      } catch (err) {
        if (err instanceof ConfigError) return err.problems.map((p) => p.variable);
      }
      return [];
    };
    expect(problems({ STATUS_RUNNER_WINDOW_MS: "0" })).toEqual(["STATUS_RUNNER_WINDOW_MS"]);
    expect(problems({ METRICS_HOST: "not an address" })).toEqual(["METRICS_HOST"]);
  });
});
