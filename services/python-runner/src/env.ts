import { hostname } from "node:os";
import { z } from "zod";
import { jobMaximaFields } from "@asgard/contracts";
import { DEFAULT_SANDBOX_ID, MAX_LINE_BYTES } from "@asgard/sandbox";
import { envConstraints, envExcludePackages, envSourceBuilds, httpUrl, logLevel, metricsHost, mlflowAdminFields, NATS_AUTH_INCOMPLETE, natsAuthComplete, natsAuthFields, natsUrl, optionalString, port, positiveMs, streamReplicas } from "@asgard/config";

const positiveInt = (fallback: number, what: string) =>
  z.coerce.number().int().positive().default(fallback).describe(`${what}: a positive integer (default ${fallback})`);

export const RunnerEnv = z.object({
  NATS_URL: natsUrl(),
  ...natsAuthFields(),
  NATS_STREAM_REPLICAS: streamReplicas(),
  MLFLOW_TRACKING_URI: httpUrl("MLflow tracking server URL, given to every job"),
  ...mlflowAdminFields(),
  MLFLOW_TENANT_SECRET: optionalString(
    "secret the tenants' MLflow passwords are derived from, the same on every runner; required with MLFLOW_TRACKING_USERNAME",
  ).pipe(z.string().min(32, "at least 32 characters").optional()),
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
  ENV_SOURCE_BUILDS: envSourceBuilds(),
  // A source build gets a job's bounds at the deployment's maxima: set them as for the gateway.
  ...jobMaximaFields(),
  PIP_INDEX_URL_FOR_JOBS: optionalString("package index for job environments (default: PyPI / uv's default)"),
  RUNNER_SANDBOX: z
    .enum(["bwrap", "process-group"])
    .default("bwrap")
    .describe("bwrap (PID namespace, default) or process-group (no namespace; only where bubblewrap cannot run)"),
  RUNNER_SANDBOX_UID: z.coerce.number().int().min(1).default(DEFAULT_SANDBOX_ID).describe("uid scripts run as (default 65534, nobody)"),
  RUNNER_SANDBOX_GID: z.coerce.number().int().min(1).default(DEFAULT_SANDBOX_ID).describe("gid scripts run as (default 65534, nogroup)"),
  RUNNER_JOB_INTERNET: z
    .enum(["true", "false"])
    .default("false")
    .transform((v) => v === "true")
    .describe(
      "give training scripts outbound internet (slirp4netns; the host's loopback stays unreachable, its other addresses do not): true or false (default false). A runner that cannot provide it does not start",
    ),
  RUNNER_KILL_GRACE_MS: positiveMs(5_000, "grace between SIGTERM and SIGKILL on timeout or cancel"),
  RUNNER_HEARTBEAT_MS: positiveMs(5_000, "heartbeat period"),
  RUNNER_SHUTDOWN_GRACE_MS: positiveMs(30_000, "on SIGTERM, how long running jobs may finish before they are handed back"),
  RUNNER_LOG_RATE_BYTES_PER_SECOND: positiveInt(
    512 * 1024,
    "bytes of output per second a job may write (stdout and stderr together); past it lines are dropped, with one marker line",
  ),
  RUNNER_LOG_BURST_BYTES: z.coerce
    .number()
    .int()
    .min(MAX_LINE_BYTES + 64)
    .default(4 * 1024 * 1024)
    .describe(`bytes of output a job may write at once above that rate: at least ${MAX_LINE_BYTES + 64} (one longest line; default 4 MiB)`),
  RUNNER_LOG_BUFFER_BYTES: z.coerce
    .number()
    .int()
    .min(1024 * 1024)
    .default(8 * 1024 * 1024)
    .describe("bytes of a job's output the runner holds while NATS is slow, at least 1 MiB (default 8 MiB); past it lines are dropped and counted"),
  ASGARD_PYTHON: z.string().min(1).default("python3").describe("interpreter job environments are built from (default python3)"),
  METRICS_PORT: port(0).describe("port of this service's /metrics endpoint; 0 = a free port (default 0)"),
  METRICS_HOST: metricsHost(),
  LOG_LEVEL: logLevel(),
}).refine(natsAuthComplete, NATS_AUTH_INCOMPLETE);
export type RunnerEnv = z.infer<typeof RunnerEnv>;
