import { z } from "zod";
import { envelope } from "./events/envelope.js";
import { AliasResponseSchema, ModelInfoSchema, RegisterResponseSchema } from "./http/registry.js";
import { MLFLOW_LIMITS } from "./http/mlflow-rules.js";
import { ModelSignatureSchema, ModelVersionListSchema, RunDetailsSchema } from "./http/runs.js";
import { TenantFieldSchema } from "./tenant.js";

/**
 * Internal contracts of the model registry: the registry service's request/reply endpoints
 * (used by the gateway), its alias and claim records on JetStream, its key-value state and
 * its cache signal. Not public: they may change with the services, but only additively
 * between two releases so that a rolling upgrade keeps working.
 */

const modelName = z.string().min(1).max(1_000);

// ---- Request/reply --------------------------------------------------------------------

/** A validated `POST /mlops/registry` as the gateway hands it to the registry. */
export const RegisterModelRequestSchema = z.object({
  tenant: TenantFieldSchema,
  model_name: modelName,
  run_id: z.string().min(1).max(300),
  description: z.string().nullable(),
  tags: z.record(z.string(), z.string()),
});
export type RegisterModelRequest = z.infer<typeof RegisterModelRequestSchema>;

/** The new, READY version (the HTTP answer without the gateway's `warnings`). */
export const RegisteredVersionSchema = RegisterResponseSchema.omit({ warnings: true });
export type RegisteredVersion = z.infer<typeof RegisteredVersionSchema>;

/** Most models one list page may carry; the registry may return fewer to stay under NATS's payload limit. */
export const LIST_MODELS_MAX_PAGE = MLFLOW_LIMITS.searchModelsMaxResults;

/** One page of the registry's model list, ordered by name. */
export const ListModelsRequestSchema = z.object({
  /** Whose models: one tenant's list, never several tenants' together. */
  tenant: TenantFieldSchema,
  /** Page size; null lets the registry choose (as many as fit one message). */
  max_results: z.number().int().min(1).max(LIST_MODELS_MAX_PAGE).nullable(),
  /** `next_page_token` of the previous page; null for the first page. */
  page_token: z.string().max(4_000).nullable(),
  /**
   * The `generation` of the list the caller already holds: while the registry's list is still
   * at it, the answer is `not_modified` without models (the gateway then re-sends its copy).
   */
  if_generation: z.string().max(200).nullable().optional(),
});
export type ListModelsRequest = z.infer<typeof ListModelsRequestSchema>;

export const ListModelsResponseSchema = z.object({
  models: z.array(ModelInfoSchema),
  /** Token of the next page; null on the last one. */
  next_page_token: z.string().nullable(),
  /** When the registry last read the whole registry from MLflow. */
  refreshed_at: z.iso.datetime(),
  /** Names the list's content (a hash of it): equal generations, equal lists, on every replica. */
  generation: z.string(),
  /** True when `if_generation` is the current generation; `models` is then empty. */
  not_modified: z.boolean(),
});
export type ListModelsResponse = z.infer<typeof ListModelsResponseSchema>;

export const ModelRefSchema = z.object({ tenant: TenantFieldSchema, model_name: z.string().max(1_000) });
export type ModelRef = z.infer<typeof ModelRefSchema>;

/** Point `alias` at `version` (both already checked by the gateway). */
export const SetModelAliasRequestSchema = z.object({
  tenant: TenantFieldSchema,
  model_name: z.string().max(1_000),
  alias: z.string().min(1).max(MLFLOW_LIMITS.aliasChars),
  version: z.string().regex(/^\d+$/),
});
export type SetModelAliasRequest = z.infer<typeof SetModelAliasRequestSchema>;

export const SetModelAliasResponseSchema = AliasResponseSchema;

export const DeleteModelAliasRequestSchema = z.object({
  tenant: TenantFieldSchema,
  model_name: z.string().max(1_000),
  alias: z.string().min(1).max(MLFLOW_LIMITS.aliasChars),
});
export type DeleteModelAliasRequest = z.infer<typeof DeleteModelAliasRequestSchema>;

export const DeleteModelAliasResponseSchema = z.object({
  model_name: z.string(),
  alias: z.string(),
  /** The version the alias pointed at until it was deleted. */
  previous_version: z.string(),
});
export type DeleteModelAliasResponse = z.infer<typeof DeleteModelAliasResponseSchema>;

/** A run of the tenant's workspace, read for `GET /mlops/training/jobs/{job_id}/run` (the gateway checked the job is the caller's). */
export const GetRunRequestSchema = z.object({
  tenant: TenantFieldSchema,
  run_id: z.string().min(1).max(300),
  /** The job whose run it is, echoed in the answer. */
  job_id: z.string().max(300),
});
export type GetRunRequest = z.infer<typeof GetRunRequestSchema>;
export const GetRunResponseSchema = RunDetailsSchema;

/** A model's versions with their runs' parameters and metrics (asked for with a ModelRef). */
export const ListModelVersionsResponseSchema = ModelVersionListSchema;

/** One version's signature (the version string is checked by the registry: a non-number is NOT_FOUND). */
export const GetModelSignatureRequestSchema = z.object({ tenant: TenantFieldSchema, model_name: z.string().max(1_000), version: z.string().max(100) });
export type GetModelSignatureRequest = z.infer<typeof GetModelSignatureRequestSchema>;
export const GetModelSignatureResponseSchema = ModelSignatureSchema;

// ---- Events and records ----------------------------------------------------------------

/**
 * An alias was set, moved or deleted — through the API, or directly in MLflow (then seen by
 * the registry's poller). Inference follows it to serve the version an alias names.
 */
export const ModelAliasChangedSchema = z.object({
  ...envelope,
  model_name: z.string(),
  alias: z.string(),
  /** The version the alias points at now; null once it was deleted. */
  version: z.string().nullable(),
  /** The version it pointed at before; null when the alias is new. */
  previous_version: z.string().nullable(),
  /** `api`: through `PUT/DELETE /mlops/models/{name}/aliases/{alias}`; `mlflow`: seen in MLflow. */
  via: z.enum(["api", "mlflow"]),
  changed_at: z.iso.datetime(),
});
export type ModelAliasChanged = z.infer<typeof ModelAliasChangedSchema>;

/**
 * The registry's claim on a job's automatic registration: the first write on the job's claim
 * subject wins (JetStream refuses a second one while the first is kept), so two deliveries of
 * one `run.completed` never both create a version. The stream's max age is the claim's lease.
 */
export const RegistrationClaimSchema = z.object({
  tenant: TenantFieldSchema,
  job_id: z.string(),
  /** Instance id of the registry replica that holds the claim. */
  holder: z.string(),
  claimed_at: z.iso.datetime(),
});
export type RegistrationClaim = z.infer<typeof RegistrationClaimSchema>;

/** One model version, by name and number. */
export const VersionKeySchema = z.object({ name: z.string(), version: z.string() });
export type VersionKey = z.infer<typeof VersionKeySchema>;

/**
 * Where the registry's MLflow poller stands in one tenant's workspace (one key per tenant,
 * see `registryWatcherKey`): every version created up to `watermark_ms` (MLflow's clock) was
 * announced, except those still pending registration.
 */
export const RegistryWatcherStateSchema = z.object({
  /** `creation_timestamp` (ms) of the newest version announced. */
  watermark_ms: z.number().int().nonnegative(),
  /** Versions created exactly at the watermark that were announced (timestamps are per ms). */
  at_watermark: z.array(VersionKeySchema),
  /** Versions found PENDING_REGISTRATION, announced once READY. */
  pending: z.array(VersionKeySchema),
  updated_at: z.iso.datetime(),
});
export type RegistryWatcherState = z.infer<typeof RegistryWatcherStateSchema>;

/** A replica changed a model in MLflow; every replica re-reads it into its cache. */
export const RegistryModelChangedSchema = z.object({
  tenant: TenantFieldSchema,
  model_name: z.string(),
  /** Instance id of the replica that made the change. */
  origin: z.string(),
});
export type RegistryModelChanged = z.infer<typeof RegistryModelChangedSchema>;
