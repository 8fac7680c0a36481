import { hostname } from "node:os";
import { z } from "zod";
import { envConstraints, envExcludePackages, httpUrl, logLevel, metricsHost, natsUrl, optionalString, port, positiveMs, streamReplicas } from "@asgard/config";

const positiveInt = (fallback: number, what: string) =>
  z.coerce.number().int().positive().default(fallback).describe(`${what}: a positive integer (default ${fallback})`);

export const RunnerEnv = z.object({
  NATS_URL: natsUrl(),
  NATS_STREAM_REPLICAS: streamReplicas(),
  MLFLOW_TRACKING_URI: httpUrl("MLflow tracking server URL, given to every job"),
  RUNNER_ID: optionalString("this replica's id in heartbeats and job records (default: host name and pid)").transform(
    (v) => v ?? `${hostname()}-${process.pid}`,
  ),
  RUNNER_SLOTS: positiveInt(1, "jobs this replica runs at once"),
  ASGARD_DATA_DIR: z.string().min(1).default(".asgard").describe("directory for local data (default .asgard)"),
  ENV_CACHE_DIR: optionalString("where job environments are cached (default ASGARD_DATA_DIR/envs)"),
  ENV_DISK_BUDGET_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(20 * 1024 ** 3)
    .describe("disk budget of the environment cache in bytes; least recently used envs beyond it are evicted (default 20 GiB)"),
  ENV_LOCK_TTL_MS: positiveMs(24 * 3_600_000, "age after which a cached requirements lock is resolved again"),
  ENV_CONSTRAINTS: envConstraints(),
  ENV_EXCLUDE_PACKAGES: envExcludePackages(),
  PIP_INDEX_URL_FOR_JOBS: optionalString("package index for job environments (default: PyPI / uv's default)"),
  RUNNER_SANDBOX: z
    .enum(["bwrap", "process-group"])
    .default("bwrap")
    .describe("bwrap (PID namespace, default) or process-group (no namespace; only where bubblewrap cannot run)"),
  RUNNER_SANDBOX_UID: z.coerce.number().int().min(1).default(65534).describe("uid scripts run as (default 65534, nobody)"),
  RUNNER_SANDBOX_GID: z.coerce.number().int().min(1).default(65534).describe("gid scripts run as (default 65534, nogroup)"),
  RUNNER_KILL_GRACE_MS: positiveMs(5_000, "grace between SIGTERM and SIGKILL on timeout or cancel"),
  RUNNER_HEARTBEAT_MS: positiveMs(5_000, "heartbeat period"),
  RUNNER_SHUTDOWN_GRACE_MS: positiveMs(30_000, "on SIGTERM, how long running jobs may finish before they are handed back"),
  ASGARD_PYTHON: z.string().min(1).default("python3").describe("interpreter job environments are built from (default python3)"),
  METRICS_PORT: port(0).describe("port of this service's /metrics endpoint; 0 = a free port (default 0)"),
  METRICS_HOST: metricsHost(),
  LOG_LEVEL: logLevel(),
});
export type RunnerEnv = z.infer<typeof RunnerEnv>;
