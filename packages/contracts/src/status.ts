import { z } from "zod";

/** Health of one dependency as the status service last saw it. */
export const ComponentHealthSchema = z.object({
  available: z.boolean(),
  latency_ms: z.number().nonnegative().nullable(),
  checked_at: z.iso.datetime(),
  /** Why the last probe failed; never contains credentials. */
  error: z.string().nullable(),
});
export type ComponentHealth = z.infer<typeof ComponentHealthSchema>;

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
