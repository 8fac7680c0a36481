import { z } from "zod";
import { RunnerIsolationSchema } from "./jobs-internal.js";

/** Health of one dependency as the status service last saw it. */
export const ComponentHealthSchema = z.object({
  available: z.boolean(),
  latency_ms: z.number().nonnegative().nullable(),
  checked_at: z.iso.datetime(),
  /** Why the last probe failed; never contains credentials. */
  error: z.string().nullable(),
});
export type ComponentHealth = z.infer<typeof ComponentHealthSchema>;

/** One python-runner replica as its last heartbeat (`runner.heartbeat`) described it. */
export const RunnerReplicaSchema = z.object({
  runner_id: z.string().describe("The replica's RUNNER_ID."),
  slots: z.number().int().positive().describe("Jobs the replica runs at once (RUNNER_SLOTS)."),
  busy: z.number().int().nonnegative().describe("Jobs the replica held at its last heartbeat."),
  draining: z.boolean().describe("The replica is shutting down and pulls no new jobs."),
  last_seen: z.iso.datetime().describe("When the status service last received a heartbeat of this replica."),
  // Optional: a runner that predates it does not report it.
  isolation: RunnerIsolationSchema.optional().describe(
    "How the replica isolates jobs: mode (bwrap or process-group), cgroups (v1, v2 or none), seccomp and internet on or off.",
  ),
});
export type RunnerReplica = z.infer<typeof RunnerReplicaSchema>;

/**
 * The python-runner replicas heard from within the liveness window. A status replica
 * counts only what it has heard since it started: right after a restart the count can be
 * low for one heartbeat period (5 s by default).
 */
export const RunnersStatusSchema = z.object({
  live: z.number().int().nonnegative().describe("Replicas whose last heartbeat is at most `window_ms` old."),
  slots: z.number().int().nonnegative().describe("Sum of the live replicas' slots (draining ones included)."),
  busy: z.number().int().nonnegative().describe("Sum of the jobs the live replicas hold."),
  draining: z.number().int().nonnegative().describe("Live replicas that are shutting down."),
  window_ms: z.number().int().positive().describe("A replica silent for longer than this no longer counts."),
  replicas: z.array(RunnerReplicaSchema).describe("The live replicas, ordered by runner_id."),
});
export type RunnersStatus = z.infer<typeof RunnersStatusSchema>;

/** Depth of the training queue: the counters of the runners' durable JetStream consumer. */
export const QueueDepthSchema = z.object({
  pending: z.number().int().nonnegative().describe("Jobs waiting for a runner (the consumer's num_pending)."),
  in_flight: z.number().int().nonnegative().describe("Jobs delivered to a runner and not yet acknowledged (num_ack_pending)."),
  redelivered: z.number().int().nonnegative().describe("Of those in flight, deliveries after the first (num_redelivered)."),
});
export type QueueDepth = z.infer<typeof QueueDepthSchema>;

/**
 * Whether each service a client's requests go through answered the status service on the
 * bus in the last round: the job-scheduler (its database health), the registry (its model
 * list) and inference (its health). A failure's `error` says whether nothing serves the
 * endpoint or the reply did not come in time.
 */
export const ServicesStatusSchema = z.object({
  job_scheduler: ComponentHealthSchema.describe("The job-scheduler answered `rpc.scheduler.database_health`."),
  registry: ComponentHealthSchema.describe("A registry replica answered `rpc.registry.list_models`."),
  inference: ComponentHealthSchema.describe("An inference replica answered `rpc.inference.health`."),
});
export type ServicesStatus = z.infer<typeof ServicesStatusSchema>;

/** What an inference replica answers to a health request. */
export const InferenceHealthSchema = z.object({
  instance_id: z.string().describe("The replica's INFERENCE_INSTANCE_ID."),
});
export type InferenceHealth = z.infer<typeof InferenceHealthSchema>;

/**
 * The snapshot the status service writes to KV and the gateway serves as `GET /mlops/status`.
 * The first seven fields are the original API's; the rest are extensions.
 */
export const StatusSnapshotSchema = z.object({
  mlflow_tracking_uri: z.string().describe("URL where clients (and jobs) reach MLflow's REST API."),
  mlflow_available: z.boolean().describe("The last MLflow health check succeeded."),
  feast_store_available: z.boolean().describe("The feature-store registry answered (false when none is configured)."),
  registered_models: z.number().int().nonnegative().describe("Models in the MLflow registry (last known while MLflow is down)."),
  active_experiments: z.number().int().nonnegative().describe("Experiments with lifecycle_stage `active` (last known while MLflow is down)."),
  feature_views: z.number().int().nonnegative().describe("Feature views in the feature-store registry (0 when none is configured)."),
  timestamp: z.iso.datetime().describe("When this snapshot was taken."),
  checked_at: z.iso.datetime(),
  probe_interval_ms: z.number().int().positive(),
  components: z.object({
    mlflow: ComponentHealthSchema,
    feature_store: ComponentHealthSchema.extend({ configured: z.boolean() }),
    nats: ComponentHealthSchema,
    database: ComponentHealthSchema.extend({ kind: z.enum(["postgres", "embedded"]).nullable() }),
  }),
  // Optional, not required: a snapshot written by a status service that predates these
  // fields is still valid, so gateways and the status service can be upgraded in any order.
  runners: RunnersStatusSchema.optional().describe("Live python-runner replicas, from their heartbeats."),
  queue: QueueDepthSchema.nullable()
    .optional()
    .describe("Depth of the training queue; null when JetStream did not answer within the probe's budget."),
  // Optional for the same reason as `runners`.
  services: ServicesStatusSchema.optional().describe("Whether the services behind the API answered on the bus."),
});
export type StatusSnapshot = z.infer<typeof StatusSnapshotSchema>;

/** What the job-scheduler answers about its database. */
export const DatabaseHealthSchema = z.object({
  available: z.boolean(),
  kind: z.enum(["postgres", "embedded"]),
  latency_ms: z.number().nonnegative().nullable(),
  error: z.string().nullable(),
});
export type DatabaseHealth = z.infer<typeof DatabaseHealthSchema>;
