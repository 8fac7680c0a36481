import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { z } from "zod";
import { ConfigError, logLevel, metricsHost, natsUrl, optionalString, port, positiveMs, streamReplicas, natsAuthComplete, NATS_AUTH_INCOMPLETE, natsAuthFields } from "@asgard/config";
import type { BlobStoreConfig } from "@asgard/storage";
import { DEFAULT_CONFIG, type SchedulerConfig } from "./config.js";

const D = DEFAULT_CONFIG;

export const SchedulerEnv = z.object({
  NATS_URL: natsUrl(),
  ...natsAuthFields(),
  NATS_STREAM_REPLICAS: streamReplicas(),
  DATABASE_URL: optionalString(
    "PostgreSQL URL, e.g. postgres://user:pass@host:5432/asgard; unset = the embedded database in ASGARD_DATA_DIR",
  ).pipe(
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, "a postgres:// or postgresql:// URL")
      .optional(),
  ),
  ASGARD_DATA_DIR: z.string().min(1).default(".asgard").describe("directory for embedded data (default .asgard)"),
  METRICS_PORT: port(0).describe("port of this service's /metrics endpoint; 0 = a free port (default 0)"),
  METRICS_HOST: metricsHost(),
  LOG_LEVEL: logLevel(),
  BLOB_STORE_URL: optionalString(
    "where job scripts are stored: file:///absolute/folder or s3://bucket/optional/prefix (default file://<ASGARD_DATA_DIR>/blobs)",
  ).pipe(
    z
      .string()
      .regex(/^(file|s3):\/\//, "a file:// or s3:// URL")
      .optional(),
  ),
  BLOB_S3_ENDPOINT: optionalString("S3 endpoint for an s3:// BLOB_STORE_URL, e.g. http://127.0.0.1:8333; unset = AWS"),
  BLOB_S3_REGION: optionalString("S3 signing region for an s3:// BLOB_STORE_URL (default us-east-1)"),
  BLOB_S3_ACCESS_KEY_ID: optionalString("S3 access key id; give it with BLOB_S3_SECRET_ACCESS_KEY, or neither for the SDK's default chain"),
  BLOB_S3_SECRET_ACCESS_KEY: optionalString("S3 secret access key; give it with BLOB_S3_ACCESS_KEY_ID"),
  QUEUED_DEADLINE_MS: positiveMs(D.queuedMs, "how long a job may wait for a runner before it fails (timeout)"),
  ENV_BUILD_DEADLINE_MS: positiveMs(D.envBuildMs, "longest environment build before the job fails (env_build)"),
  RUNNING_GRACE_MS: positiveMs(D.runningGraceMs, "added to a job's timeout before the scheduler fails a script whose runner is still heard from (timeout)"),
  HEARTBEAT_DEADLINE_MS: positiveMs(
    D.heartbeatMs,
    "longest silence of the runner holding a job before its attempt counts as lost (runner_lost: the job runs again, at most 3 attempts in all); keep it above JetStream's AckWait (30 s)",
  ),
  REGISTRATION_DEADLINE_MS: positiveMs(
    D.registrationMs,
    "longest wait for the registry; then the job completes with registration_error",
  ),
  PENDING_OUTCOME_DEADLINE_MS: positiveMs(
    D.pendingOutcomeMs,
    "longest wait for the last log batches of an ended attempt before the job ends without them",
  ),
  STARTUP_GRACE_MS: z.coerce
    .number()
    .int()
    .nonnegative()
    .default(D.startupGraceMs)
    .describe(`after start-up, deadlines wait this long so the streams' backlog is read first, in milliseconds (default ${D.startupGraceMs})`),
  RELAY_INTERVAL_MS: positiveMs(D.relayIntervalMs, "how often the outbox relay re-publishes unacknowledged jobs"),
  RECONCILE_INTERVAL_MS: positiveMs(D.reconcileIntervalMs, "how often deadlines are enforced"),
  MAX_LOG_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(D.maxLogBytes)
    .describe(`bytes of output kept per job, at least 1024 (default ${D.maxLogBytes}); the rest is replaced by one marker line`),
  MAX_ACTIVE_JOBS_PER_TENANT: z.coerce
    .number()
    .int()
    .nonnegative()
    .default(D.maxActiveJobsPerTenant)
    .describe(
      `queued + running jobs one tenant may have at once: a whole number (default ${D.maxActiveJobsPerTenant}; 0 = no limit); an upload past it is answered 429 with Retry-After`,
    ),
}).refine(natsAuthComplete, NATS_AUTH_INCOMPLETE);
export type SchedulerEnv = z.infer<typeof SchedulerEnv>;

/** The scheduler's tunables from its environment. */
export function configFromEnv(env: SchedulerEnv): Partial<SchedulerConfig> {
  return {
    queuedMs: env.QUEUED_DEADLINE_MS,
    envBuildMs: env.ENV_BUILD_DEADLINE_MS,
    runningGraceMs: env.RUNNING_GRACE_MS,
    heartbeatMs: env.HEARTBEAT_DEADLINE_MS,
    registrationMs: env.REGISTRATION_DEADLINE_MS,
    pendingOutcomeMs: env.PENDING_OUTCOME_DEADLINE_MS,
    startupGraceMs: env.STARTUP_GRACE_MS,
    relayIntervalMs: env.RELAY_INTERVAL_MS,
    reconcileIntervalMs: env.RECONCILE_INTERVAL_MS,
    maxLogBytes: env.MAX_LOG_BYTES,
    maxActiveJobsPerTenant: env.MAX_ACTIVE_JOBS_PER_TENANT,
  };
}

/** The blob store the environment names; S3 settings only matter for an s3:// URL. */
export function blobStoreFromEnv(service: string, env: SchedulerEnv): BlobStoreConfig {
  const url = env.BLOB_STORE_URL ?? pathToFileURL(join(resolve(env.ASGARD_DATA_DIR), "blobs")).href;
  if (!url.startsWith("s3://")) return { url };
  if ((env.BLOB_S3_ACCESS_KEY_ID === undefined) !== (env.BLOB_S3_SECRET_ACCESS_KEY === undefined)) {
    const missing = env.BLOB_S3_ACCESS_KEY_ID === undefined ? "BLOB_S3_ACCESS_KEY_ID" : "BLOB_S3_SECRET_ACCESS_KEY";
    throw new ConfigError(service, [
      { variable: missing, expected: "set together with its pair (access key id and secret), or leave both unset" },
    ]);
  }
  return {
    url,
    s3: {
      endpoint: env.BLOB_S3_ENDPOINT,
      region: env.BLOB_S3_REGION,
      accessKeyId: env.BLOB_S3_ACCESS_KEY_ID,
      secretAccessKey: env.BLOB_S3_SECRET_ACCESS_KEY,
    },
  };
}
