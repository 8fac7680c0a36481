import { z } from "zod";
import { describe, expect, it } from "vitest";
import { ConfigError, mlflowAdminFrom, parseEnv } from "./env.js";
import { httpUrl, natsUrl, port, positiveMs } from "./fields.js";

const Env = z.object({
  NATS_URL: natsUrl(),
  MLFLOW_TRACKING_URI: httpUrl("MLflow tracking server"),
  PORT: port(8000),
  STATUS_INTERVAL_MS: positiveMs(3000, "probe interval"),
});

describe("parseEnv", () => {
  it("applies defaults and normalises URLs", () => {
    const env = parseEnv("svc", Env, { NATS_URL: "nats://127.0.0.1:4222", MLFLOW_TRACKING_URI: "http://x:5000/" });
    expect(env).toEqual({
      NATS_URL: "nats://127.0.0.1:4222",
      MLFLOW_TRACKING_URI: "http://x:5000",
      PORT: 8000,
      STATUS_INTERVAL_MS: 3000,
    });
  });

  it("names every bad variable with its expected form", () => {
    let caught: unknown;
    try {
      parseEnv("svc", Env, { NATS_URL: "localhost", MLFLOW_TRACKING_URI: "ftp://x", PORT: "99999" });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const error = caught as ConfigError;
    expect(error.problems.map((p) => p.variable).sort()).toEqual(["MLFLOW_TRACKING_URI", "NATS_URL", "PORT"]);
    expect(error.message).toContain("NATS_URL: NATS server URL");
    expect(error.message).toContain('got "99999"');
  });
});

describe("mlflowAdminFrom", () => {
  it("is undefined without credentials (a server without auth) and both with both", () => {
    expect(mlflowAdminFrom("svc", {})).toBeUndefined();
    expect(mlflowAdminFrom("svc", { MLFLOW_TRACKING_USERNAME: "admin", MLFLOW_TRACKING_PASSWORD: "pw" })).toEqual({ username: "admin", password: "pw" });
  });

  it("names the missing half and never echoes the half that is set", () => {
    const err = (() => {
      try {
        mlflowAdminFrom("registry", { MLFLOW_TRACKING_PASSWORD: "s3cret-value" });
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toContain("MLFLOW_TRACKING_USERNAME");
    expect((err as ConfigError).message).not.toContain("s3cret-value");
  });
});
