import { describe, expect, it } from "vitest";
import { workerEnv } from "./worker-process.js";

describe("workerEnv", () => {
  it("is an allow-list: the service's own variables never reach model code", () => {
    const source = {
      PATH: "/usr/bin",
      NATS_URL: "nats://user:secret@nats:4222",
      MLFLOW_TRACKING_URI: "http://user:secret@mlflow",
      AWS_SECRET_ACCESS_KEY: "canary",
      DATABASE_URL: "postgres://x:secret@db/asgard",
      PYTHONPATH: "/evil",
      OMP_NUM_THREADS: "1",
    };
    const env = workerEnv({ binDir: "/envs/abc/bin", venv: "/envs/abc", source });
    expect(env).toEqual({
      PATH: "/envs/abc/bin:/usr/local/bin:/usr/bin:/bin",
      VIRTUAL_ENV: "/envs/abc",
      LANG: "C.UTF-8",
      MLFLOW_DISABLE_TELEMETRY: "true",
      DO_NOT_TRACK: "true",
      MLFLOW_ALLOW_PICKLE_DESERIALIZATION: "true",
      OMP_NUM_THREADS: "1",
    });
    expect(JSON.stringify(env)).not.toMatch(/secret|canary|evil/);
  });
});
