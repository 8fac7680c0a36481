import { describe, expect, it } from "vitest";
import { ConfigError, parseEnv } from "@asgard/config";
import { blobStoreFromEnv, configFromEnv, SchedulerEnv } from "./env.js";
import { DEFAULT_CONFIG, resolveConfig } from "./config.js";

const base = { NATS_URL: "nats://127.0.0.1:4222" };

describe("scheduler environment", () => {
  it("defaults every deadline and keeps blobs under the data directory", () => {
    const env = parseEnv("job-scheduler", SchedulerEnv, { ...base, ASGARD_DATA_DIR: "/var/lib/asgard" });
    expect(resolveConfig(configFromEnv(env))).toEqual(DEFAULT_CONFIG);
    expect(blobStoreFromEnv("job-scheduler", env)).toEqual({ url: "file:///var/lib/asgard/blobs" });
  });

  it("reads deadlines and limits", () => {
    const env = parseEnv("job-scheduler", SchedulerEnv, {
      ...base,
      HEARTBEAT_DEADLINE_MS: "45000",
      STARTUP_GRACE_MS: "0",
      MAX_LOG_BYTES: "4096",
      MAX_ACTIVE_JOBS_PER_TENANT: "25",
    });
    expect(configFromEnv(env)).toMatchObject({ heartbeatMs: 45_000, startupGraceMs: 0, maxLogBytes: 4096, maxActiveJobsPerTenant: 25 });
    expect(configFromEnv(parseEnv("job-scheduler", SchedulerEnv, { ...base, MAX_ACTIVE_JOBS_PER_TENANT: "0" })).maxActiveJobsPerTenant).toBe(0);
    expect(() => parseEnv("job-scheduler", SchedulerEnv, { ...base, MAX_ACTIVE_JOBS_PER_TENANT: "-1" })).toThrow(/MAX_ACTIVE_JOBS_PER_TENANT/);
  });

  it("binds /metrics to loopback and declares one stream replica unless told otherwise", () => {
    expect(parseEnv("job-scheduler", SchedulerEnv, base)).toMatchObject({ METRICS_HOST: "127.0.0.1", NATS_STREAM_REPLICAS: 1 });
    expect(parseEnv("job-scheduler", SchedulerEnv, { ...base, METRICS_HOST: "0.0.0.0", NATS_STREAM_REPLICAS: "3" })).toMatchObject({
      METRICS_HOST: "0.0.0.0",
      NATS_STREAM_REPLICAS: 3,
    });
    expect(() => parseEnv("job-scheduler", SchedulerEnv, { ...base, NATS_STREAM_REPLICAS: "0" })).toThrow(/NATS_STREAM_REPLICAS/);
  });

  it("names a bad variable and its expected form", () => {
    expect(() => parseEnv("job-scheduler", SchedulerEnv, { ...base, QUEUED_DEADLINE_MS: "soon" })).toThrow(/QUEUED_DEADLINE_MS: .*milliseconds/);
    expect(() => parseEnv("job-scheduler", SchedulerEnv, { ...base, BLOB_STORE_URL: "ftp://x" })).toThrow(/BLOB_STORE_URL/);
  });

  it("passes S3 settings for an s3:// store and wants both keys or neither", () => {
    const env = parseEnv("job-scheduler", SchedulerEnv, {
      ...base,
      BLOB_STORE_URL: "s3://bucket/jobs",
      BLOB_S3_ENDPOINT: "http://127.0.0.1:8333",
      BLOB_S3_ACCESS_KEY_ID: "id",
      BLOB_S3_SECRET_ACCESS_KEY: "secret",
    });
    expect(blobStoreFromEnv("job-scheduler", env)).toEqual({
      url: "s3://bucket/jobs",
      s3: { endpoint: "http://127.0.0.1:8333", region: undefined, accessKeyId: "id", secretAccessKey: "secret" },
    });
    const half = parseEnv("job-scheduler", SchedulerEnv, { ...base, BLOB_STORE_URL: "s3://bucket", BLOB_S3_ACCESS_KEY_ID: "id" });
    expect(() => blobStoreFromEnv("job-scheduler", half)).toThrow(ConfigError);
    expect(() => blobStoreFromEnv("job-scheduler", half)).toThrow(/BLOB_S3_SECRET_ACCESS_KEY/);
  });
});
