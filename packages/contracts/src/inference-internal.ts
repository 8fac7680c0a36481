import { z } from "zod";
import { INVOCATION_FORMATS, InferenceResponseSchema, InvocationsResponseSchema, ModelServingSchema, SERVED_BY, ScalarSchema } from "./http/inference.js";
import { MLFLOW_LIMITS } from "./http/mlflow-rules.js";
import { TenantFieldSchema } from "./tenant.js";

/**
 * Internal contracts of the inference service: its request/reply endpoints (called by the
 * gateway) and the signal its replicas use to follow the registry together. Not public:
 * they change with the services, additively between two releases so a rolling upgrade works.
 *
 * Every request names its tenant: model names are resolved in that tenant's MLflow workspace
 * only, so another tenant's model is as unknown as a missing one.
 */

/** Which version answers, as the gateway read it (`latest`, a number, or an alias). */
export const ModelVersionRefSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("latest") }),
  z.object({ kind: z.literal("version"), version: z.string().regex(/^\d+$/) }),
  z.object({ kind: z.literal("alias"), alias: z.string().min(1).max(MLFLOW_LIMITS.aliasChars) }),
]);

/** A validated `POST /mlops/inference` as the gateway hands it to the inference service. */
export const PredictRequestSchema = z.object({
  tenant: TenantFieldSchema,
  model_name: z.string().min(1).max(1_000),
  model_ref: ModelVersionRefSchema,
  /** Feature name → column of values, in the order the client sent them (positional models use it). */
  inputs: z.record(z.string(), z.array(ScalarSchema)),
  return_probabilities: z.boolean(),
});
export type PredictRequest = z.infer<typeof PredictRequestSchema>;

/** The prediction: the HTTP answer without the gateway's `warnings`. */
export const PredictResponseSchema = InferenceResponseSchema.omit({ warnings: true });
export type PredictResponse = z.infer<typeof PredictResponseSchema>;

/** A validated `/invocations` body (one of MLflow's scoring formats) for one model version. */
export const InvokeRequestSchema = z.object({
  tenant: TenantFieldSchema,
  model_name: z.string().min(1).max(1_000),
  model_ref: ModelVersionRefSchema,
  format: z.enum(INVOCATION_FORMATS),
  /** The value of the format's field, as the client sent it. */
  data: z.unknown(),
  params: z.record(z.string(), z.unknown()).nullable(),
});
export type InvokeRequest = z.infer<typeof InvokeRequestSchema>;

/** MLflow's scoring answer, plus the version that answered (the gateway puts it in a header). */
export const InvokeResponseSchema = InvocationsResponseSchema.extend({
  model_version: z.string(),
  /** Which path computed the predictions (the gateway puts it in a header); absent from older replicas. */
  served_by: z.enum(SERVED_BY).optional(),
});
export type InvokeResponse = z.infer<typeof InvokeResponseSchema>;

/** `GET /mlops/models/{model_name}/versions/{version}/serving` as the gateway hands it over. */
export const ModelServingRequestSchema = z.object({
  tenant: TenantFieldSchema,
  model_name: z.string().min(1).max(1_000),
  model_ref: ModelVersionRefSchema,
});
export type ModelServingRequest = z.infer<typeof ModelServingRequestSchema>;

/** The HTTP answer as it is: the replica that answered fills in every field. */
export const ModelServingResponseSchema = ModelServingSchema;

/**
 * One inference replica consumed a registry event (the fleet shares one durable consumer) and
 * tells the others: forget what the name/alias resolved to, and warm the version it names.
 */
export const InferenceModelChangedSchema = z.object({
  tenant: TenantFieldSchema,
  model_name: z.string(),
  /** `registered`: a new READY version. `alias`: an alias was set, moved or deleted. */
  change: z.enum(["registered", "alias"]),
  /** The version to warm; null when an alias was deleted. */
  version: z.string().nullable(),
  /** The alias that moved; null for `registered`. */
  alias: z.string().nullable(),
  /** Instance id of the replica that consumed the event (it has already acted on it). */
  origin: z.string(),
});
export type InferenceModelChanged = z.infer<typeof InferenceModelChangedSchema>;
