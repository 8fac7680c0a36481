import { z } from "zod";
import { expecting, parseLenient, parseStrict, report, type ParseResult } from "./common.js";
import { aliasNameField, modelNameField, readModelVersionRef, runIdField, tagsField } from "./fields.js";
import { MLFLOW_LIMITS } from "./mlflow-rules.js";
import { queryInt, queryText } from "./query.js";

/** Registration states of an MLflow model version. */
export const MODEL_VERSION_STATUSES = ["PENDING_REGISTRATION", "FAILED_REGISTRATION", "READY"] as const;

const timestamp = () => z.iso.datetime();

// ---- POST /mlops/registry ------------------------------------------------------------

/** Body of `POST /mlops/registry`. */
export const RegisterRequestSchema = z.object({
  model_name: modelNameField(),
  run_id: runIdField().describe("The run whose logged model is registered (in MLflow 3, the LoggedModel whose source run it is)."),
  description: z
    .string({ error: expecting("a string describing the version, or null") })
    .max(MLFLOW_LIMITS.modelVersionDescriptionChars, { error: `must be at most ${MLFLOW_LIMITS.modelVersionDescriptionChars} characters long (MLflow's limit)` })
    .nullish()
    .transform((v) => v ?? null)
    .meta({ description: "Description of the new version; optional, null allowed." }),
  tags: tagsField("model_version")
    .nullish()
    .transform((v) => v ?? {})
    .meta({ description: "Tags of the new model version.", examples: [{ validated_by: "ci" }] }),
});
export type RegisterRequest = z.output<typeof RegisterRequestSchema>;
export type RegisterRequestBody = z.input<typeof RegisterRequestSchema>;

/** Fields of the registration body; anything else is ignored and named in `warnings`. */
export const REGISTER_FIELDS = Object.keys(RegisterRequestSchema.shape);

/** Validates a registration body (compatible surface: unknown fields become warnings). */
export function parseRegisterRequest(body: unknown): ParseResult<RegisterRequest> {
  return parseLenient(RegisterRequestSchema, body, REGISTER_FIELDS);
}

/** Answer of `POST /mlops/registry` (201). The first five fields are the original's. */
export const RegisterResponseSchema = z.object({
  model_name: z.string(),
  version: z.string(),
  run_id: z.string(),
  status: z.literal("registered"),
  created_at: timestamp(),
  source: z.string().describe("MLflow source URI of the new version (models:/… or runs:/…)."),
  warnings: z.array(z.string()).describe("Fields of the request that were ignored."),
});
export type RegisterResponse = z.infer<typeof RegisterResponseSchema>;

// ---- Models --------------------------------------------------------------------------

/** One version of a registered model. The first eight fields are the original's. */
export const ModelVersionInfoSchema = z.object({
  name: z.string(),
  version: z.string(),
  stage: z.string().describe("MLflow stage (None, Staging, Production, Archived); deprecated by MLflow, kept for compatibility — use aliases."),
  run_id: z.string().nullable().describe("Run that produced the version; null for versions made without one."),
  description: z.string().nullable(),
  tags: z.record(z.string(), z.string()),
  created_at: timestamp(),
  updated_at: timestamp(),
  aliases: z.array(z.string()).describe("Aliases pointing at this version."),
  status: z.enum(MODEL_VERSION_STATUSES),
  source: z.string().describe("MLflow source URI."),
});
export type ModelVersionInfo = z.infer<typeof ModelVersionInfoSchema>;

/** A registered model. The first six fields are the original's. */
export const ModelInfoSchema = z.object({
  name: z.string(),
  description: z.string().nullable(),
  tags: z.record(z.string(), z.string()),
  latest_versions: z.array(ModelVersionInfoSchema).describe("The newest version (and, as MLflow reports them, the newest per stage)."),
  created_at: timestamp(),
  updated_at: timestamp(),
  aliases: z.record(z.string(), z.string()).describe("Alias → version."),
});
export type ModelInfo = z.infer<typeof ModelInfoSchema>;

/** `GET /mlops/models` answers a bare array, as the original did. */
export const ModelListSchema = z.array(ModelInfoSchema);

/** Header carrying the next page token of `GET /mlops/models` (the body stays a bare array). */
export const NEXT_PAGE_TOKEN_HEADER = "x-next-page-token";

/** Query of `GET /mlops/models`; without `max_results` every model is returned. */
export const ModelListQuerySchema = z.object({
  max_results: queryInt("Models per page (opt-in paging); without it every model is returned.", 1, MLFLOW_LIMITS.searchModelsMaxResults, undefined),
  page_token: queryText("Value of the X-Next-Page-Token header of the previous page."),
});
export type ModelListQuery = z.output<typeof ModelListQuerySchema>;

/** Reads the model list query (compatible surface: unknown parameters become warnings). */
export function parseModelListQuery(query: unknown): ParseResult<ModelListQuery> {
  return parseLenient(ModelListQuerySchema, query, Object.keys(ModelListQuerySchema.shape), { subject: "query string" });
}

/** Path parameters of `/mlops/models/{model_name}`; an impossible name is simply not found (404). */
export const ModelParamsSchema = z.object({ model_name: z.string().describe("Registered-model name.") });

// ---- Aliases (extension) -------------------------------------------------------------

/** Path parameters of `/mlops/models/{model_name}/aliases/{alias}`. */
export const AliasParamsSchema = z.object({
  model_name: z.string().describe("Registered-model name."),
  alias: aliasNameField(),
});
export type AliasParams = z.output<typeof AliasParamsSchema>;

/** Checks the alias path parameters (the alias must follow MLflow's alias rules: 422 otherwise). */
export function parseAliasParams(params: unknown): ParseResult<AliasParams> {
  return parseStrict(AliasParamsSchema, params, ["model_name", "alias"], { subject: "path" });
}

/** Body of `PUT /mlops/models/{model_name}/aliases/{alias}`: the version the alias points at. */
export const SetAliasRequestSchema = z.object({
  version: z
    .union([z.string(), z.number()], { error: expecting('the version number, e.g. "3"') })
    .transform((v, ctx) => {
      const read = readModelVersionRef(v);
      if (!read.ok || read.ref.kind !== "version") {
        report(ctx, read.ok ? 'must be a version number, e.g. "3"' : read.problem);
        return z.NEVER;
      }
      return read.ref.version;
    })
    .meta({ anyOf: [{ type: "string", pattern: "^[0-9]+$" }, { type: "integer", minimum: 1 }], description: "Version the alias points at.", examples: ["3"] }),
});
export type SetAliasRequest = z.output<typeof SetAliasRequestSchema>;

/** Validates the alias body (extension route: unknown fields are a 422). */
export function parseSetAliasRequest(body: unknown): ParseResult<SetAliasRequest> {
  return parseStrict(SetAliasRequestSchema, body, ["version"]);
}

/** Answer of `PUT /mlops/models/{model_name}/aliases/{alias}`. */
export const AliasResponseSchema = z.object({
  model_name: z.string(),
  alias: z.string(),
  version: z.string(),
  previous_version: z.string().nullable().describe("Version the alias pointed at before; null when it is new."),
});
export type AliasResponse = z.infer<typeof AliasResponseSchema>;
