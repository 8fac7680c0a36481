import { z } from "zod";
import { ErrorBodySchema } from "../errors.js";
import { StatusSnapshotSchema } from "../status.js";
import { InferenceRequestSchema, InferenceResponseSchema, MODEL_VERSION_HEADER, InvocationsParamsSchema, InvocationsRequestSchema, InvocationsResponseSchema, ModelServingSchema } from "./inference.js";
import { JobListQuerySchema, JobListResponseSchema, JobParamsSchema, JobSchema, LogEndEventSchema, LogLinesEventSchema, LogStreamQuerySchema, LOG_SSE_EVENTS } from "./jobs.js";
import { CreateKeyRequestSchema, CreateKeyResponseSchema, KeyInfoSchema, KeyListSchema, KeyParamsSchema, type RouteAccess } from "./keys.js";
import { HealthSchema, ReadinessSchema } from "./ops.js";
import {
  AliasParamsSchema,
  AliasResponseSchema,
  ModelInfoSchema,
  ModelListQuerySchema,
  ModelListSchema,
  ModelParamsSchema,
  NEXT_PAGE_TOKEN_HEADER,
  RegisterRequestSchema,
  RegisterResponseSchema,
  SetAliasRequestSchema,
} from "./registry.js";
import { ModelSignatureSchema, ModelVersionListSchema, ModelVersionParamsSchema, RunDetailsSchema } from "./runs.js";
import { IDEMPOTENCY_KEY_HEADER, IdempotencyKeySchema, UploadRequestSchema, UploadResponseSchema } from "./training.js";

/** Methods the API uses. */
export type HttpMethod = "GET" | "POST" | "PUT" | "DELETE";

/**
 * `compatible`: the original API's routes, whose shapes existing clients rely on (unknown
 * body fields are ignored with a warning). `extension`: ours (unknown fields are a 422).
 */
export type Surface = "compatible" | "extension";

/** A schema under the name it is documented by (an OpenAPI component). */
export interface NamedSchema {
  readonly name: string;
  readonly schema: z.ZodType;
}

/** A request or response header. */
export interface HeaderDef {
  readonly description: string;
  readonly schema: z.ZodType;
  readonly required?: boolean;
}

/** One response of a route. Without `body` and `raw`, the response has no content. */
export interface ResponseDef {
  readonly description: string;
  /** JSON body, documented as a component. */
  readonly body?: NamedSchema;
  /** Non-JSON content: media type and a JSON Schema of it. */
  readonly raw?: { readonly contentType: string; readonly schema: Readonly<Record<string, unknown>> };
  readonly headers?: Readonly<Record<string, HeaderDef>>;
}

/** One route of the HTTP API. */
export interface RouteDef {
  /** Stable operation id. */
  readonly id: string;
  readonly method: HttpMethod;
  /** OpenAPI-style path, e.g. `/mlops/training/jobs/{job_id}`. */
  readonly path: string;
  readonly summary: string;
  readonly description?: string;
  readonly tags: readonly string[];
  readonly surface: Surface;
  /** Who may call it once API keys exist (in local mode every route is open to this machine). */
  readonly access: RouteAccess;
  readonly params?: z.ZodObject;
  readonly query?: z.ZodObject;
  readonly headers?: Readonly<Record<string, HeaderDef>>;
  readonly body?: NamedSchema;
  /** HTTP status → response. */
  readonly responses: Readonly<Record<number, ResponseDef>>;
}

/** Tags that group the routes in the docs. */
export const ROUTE_TAGS = {
  status: "Platform status (cached; never waits for MLflow)",
  training: "Upload training scripts and follow their jobs",
  registry: "MLflow model registry: register, list, aliases",
  inference: "Predictions from registered models",
  operations: "Health, readiness, metrics and this documentation",
  keys: "API keys: create, list, revoke (admin)",
} as const;

const named = (name: string, schema: z.ZodType): NamedSchema => ({ name, schema });
const ERROR = named("ErrorBody", ErrorBodySchema);
const err = (description: string): ResponseDef => ({ description, body: ERROR });

const retryAfter: HeaderDef = {
  description: "Seconds to wait before retrying.",
  schema: z.number().int().nonnegative(),
};
const unavailable: ResponseDef = {
  description: "A service this route needs did not answer in time; retry after Retry-After seconds.",
  body: ERROR,
  headers: { "Retry-After": retryAfter },
};
const badBody = err("The body is not a JSON object.");
const invalid = (what = "body"): ResponseDef => err(`The ${what} is invalid; \`issues\` names each field and says what to send.`);

const JOB_PATH = "/mlops/training/jobs/{job_id}";
const ALIAS_PATH = "/mlops/models/{model_name}/aliases/{alias}";
/** Model routes act in the caller's tenant (each tenant is an MLflow workspace). */
const TENANT_NAMES =
  " Names are the caller's tenant's: another tenant's model, version, alias or run is a 404 like a missing one (an admin key names another tenant with X-Asgard-Tenant).";

/** Every route of the HTTP API, compatible surface first. */
export const ROUTES = {
  getStatus: {
    id: "getStatus",
    method: "GET",
    path: "/mlops/status",
    summary: "Platform status",
    description: "Answered from a snapshot the status service keeps warm, so it stays fast while MLflow is slow or down (then `mlflow_available` is false). Fields after `timestamp` are extensions.",
    tags: ["status"],
    surface: "compatible",
    access: "any_key",
    responses: {
      200: { description: "The latest status snapshot.", body: named("StatusSnapshot", StatusSnapshotSchema) },
      503: { description: "No snapshot exists yet (just after start-up); retry after Retry-After seconds.", body: ERROR, headers: { "Retry-After": retryAfter } },
    },
  },
  uploadTrainingScript: {
    id: "uploadTrainingScript",
    method: "POST",
    path: "/mlops/training/upload",
    summary: "Upload a training script and queue it as a job",
    description: "Unknown fields are ignored and listed in `warnings`. The job belongs to the key's tenant (an admin key's: the one its X-Asgard-Tenant header names). With an Idempotency-Key header, repeating the request within 24 hours returns the first job; keys are per tenant.",
    tags: ["training"],
    surface: "compatible",
    access: ["jobs:submit"],
    headers: { [headerName(IDEMPOTENCY_KEY_HEADER)]: { description: "Makes the upload idempotent.", schema: IdempotencyKeySchema } },
    body: named("UploadRequest", UploadRequestSchema),
    responses: {
      202: { description: "The job was stored and queued.", body: named("UploadResponse", UploadResponseSchema) },
      400: badBody,
      409: err("The Idempotency-Key was used before with a different body (the message names that job)."),
      413: err("The script (or the whole body) is larger than the limit."),
      422: invalid(),
      429: { description: "The tenant has as many queued and running jobs as it may (MAX_ACTIVE_JOBS_PER_TENANT); retry after Retry-After seconds, or cancel jobs.", body: ERROR, headers: { "Retry-After": retryAfter } },
      503: unavailable,
    },
  },
  getJob: {
    id: "getJob",
    method: "GET",
    path: JOB_PATH,
    summary: "A training job, with its logs",
    tags: ["training"],
    surface: "compatible",
    access: ["jobs:read"],
    params: JobParamsSchema,
    responses: {
      200: { description: "The job.", body: named("Job", JobSchema) },
      404: err("No job has this id (malformed ids included), or it is another tenant's."),
      503: unavailable,
    },
  },
  registerModel: {
    id: "registerModel",
    method: "POST",
    path: "/mlops/registry",
    summary: "Register the model a run logged as a new version",
    description:
      "Registers the LoggedModel whose source run is `run_id` (the one named `model` if there are several) — what `mlflow.register_model(\"runs:/<run_id>/model\", …)` resolves to. Every call makes a new version." +
      TENANT_NAMES,
    tags: ["registry"],
    surface: "compatible",
    access: ["models:manage"],
    body: named("RegisterRequest", RegisterRequestSchema),
    responses: {
      201: { description: "The new version is READY.", body: named("RegisterResponse", RegisterResponseSchema) },
      400: badBody,
      404: err("No run has this id."),
      422: err("The body is invalid, or the run logged no model (the message says how to log one)."),
      503: unavailable,
    },
  },
  listModels: {
    id: "listModels",
    method: "GET",
    path: "/mlops/models",
    summary: "Registered models (a bare array)",
    description:
      "Every model of the caller's tenant when called without query parameters, as the original did. Paging is opt-in: with `max_results`, the next page's token is in the X-Next-Page-Token header." +
      TENANT_NAMES,
    tags: ["registry"],
    surface: "compatible",
    access: ["models:manage", "predict"],
    query: ModelListQuerySchema,
    responses: {
      200: {
        description: "The models.",
        body: named("ModelList", ModelListSchema),
        headers: { [headerName(NEXT_PAGE_TOKEN_HEADER)]: { description: "Token of the next page; absent on the last page.", schema: z.string() } },
      },
      422: invalid("query string"),
      503: unavailable,
    },
  },
  getModel: {
    id: "getModel",
    method: "GET",
    path: "/mlops/models/{model_name}",
    summary: "A registered model",
    description: TENANT_NAMES.trim(),
    tags: ["registry"],
    surface: "compatible",
    access: ["models:manage", "predict"],
    params: ModelParamsSchema,
    responses: {
      200: { description: "The model.", body: named("ModelInfo", ModelInfoSchema) },
      404: err("No registered model has this name."),
      503: unavailable,
    },
  },
  predict: {
    id: "predict",
    method: "POST",
    path: "/mlops/inference",
    summary: "Predict with a registered model",
    description: `Unknown fields are ignored and listed in \`warnings\`.${TENANT_NAMES}`,
    tags: ["inference"],
    surface: "compatible",
    access: ["predict"],
    body: named("InferenceRequest", InferenceRequestSchema),
    responses: {
      200: { description: "The predictions.", body: named("InferenceResponse", InferenceResponseSchema) },
      400: badBody,
      404: err("No such model, version or alias."),
      422: err("The body is invalid, or the inputs do not fit the model's signature (the message says how)."),
      503: unavailable,
    },
  },
  listJobs: {
    id: "listJobs",
    method: "GET",
    path: "/mlops/training/jobs",
    summary: "Training jobs, newest first",
    description: "A key lists its own tenant's jobs; an admin key lists every tenant's, or one tenant's with `tenant`.",
    tags: ["training"],
    surface: "extension",
    access: ["jobs:read"],
    query: JobListQuerySchema,
    responses: {
      200: { description: "A page of jobs.", body: named("JobList", JobListResponseSchema) },
      403: err("`tenant` names another tenant, and the key is not an admin key."),
      422: invalid("query string"),
      503: unavailable,
    },
  },
  cancelJob: {
    id: "cancelJob",
    method: "DELETE",
    path: JOB_PATH,
    summary: "Cancel a queued or running job",
    description: "A queued job is cancelled at once; a running one is stopped by its runner (its process group is killed) and turns `cancelled` shortly after.",
    tags: ["training"],
    surface: "extension",
    access: ["jobs:submit"],
    params: JobParamsSchema,
    responses: {
      202: { description: "Cancellation accepted; the job as it is now (`cancel_requested: true`).", body: named("Job", JobSchema) },
      404: err("No job has this id, or it is another tenant's."),
      409: err("The job already ended (completed or failed)."),
      503: unavailable,
    },
  },
  streamJobLogs: {
    id: "streamJobLogs",
    method: "GET",
    path: `${JOB_PATH}/logs`,
    summary: "Follow a job's output live (Server-Sent Events)",
    description: `Sends \`event: ${LOG_SSE_EVENTS.lines}\` batches (LogLinesEvent; the SSE id is the next offset) from \`offset\` on, then one \`event: ${LOG_SSE_EVENTS.end}\` (LogEndEvent) once the job ended, and closes. A reconnecting EventSource resumes from its Last-Event-ID.`,
    tags: ["training"],
    surface: "extension",
    access: ["jobs:read"],
    params: JobParamsSchema,
    query: LogStreamQuerySchema,
    headers: { "Last-Event-ID": { description: "Resume after this offset (sent by EventSource on reconnect); wins over `offset`.", schema: z.string() } },
    responses: {
      200: { description: "The event stream.", raw: { contentType: "text/event-stream", schema: { type: "string" } } },
      404: err("No job has this id, or it is another tenant's."),
      422: invalid("query string"),
      503: unavailable,
    },
  },
  getJobScript: {
    id: "getJobScript",
    method: "GET",
    path: `${JOB_PATH}/script`,
    summary: "The exact script the job ran",
    tags: ["training"],
    surface: "extension",
    access: ["jobs:read"],
    params: JobParamsSchema,
    responses: {
      200: { description: "The script source, as uploaded.", raw: { contentType: "text/x-python; charset=utf-8", schema: { type: "string" } } },
      404: err("No job has this id, or it is another tenant's."),
      503: unavailable,
    },
  },
  getJobRun: {
    id: "getJobRun",
    method: "GET",
    path: `${JOB_PATH}/run`,
    summary: "The job's MLflow run: parameters, latest metrics and metric histories",
    description:
      "Read from MLflow by the registry service in the job's tenant's workspace, so no MLflow credentials are needed. Histories are by step, thinned to a bounded number of points.",
    tags: ["training"],
    surface: "extension",
    access: ["jobs:read"],
    params: JobParamsSchema,
    responses: {
      200: { description: "The run.", body: named("RunDetails", RunDetailsSchema) },
      404: err("No job has this id, or it is another tenant's, or the job has no MLflow run (yet, or any more)."),
      503: unavailable,
    },
  },
  listModelVersions: {
    id: "listModelVersions",
    method: "GET",
    path: "/mlops/models/{model_name}/versions",
    summary: "A model's versions, with each version's run parameters and latest metrics",
    description: `Newest first: what a side-by-side comparison of versions needs.${TENANT_NAMES}`,
    tags: ["registry"],
    surface: "extension",
    access: ["models:manage", "predict"],
    params: ModelParamsSchema,
    responses: {
      200: { description: "The versions.", body: named("ModelVersionList", ModelVersionListSchema) },
      404: err("No registered model has this name."),
      503: unavailable,
    },
  },
  getModelSignature: {
    id: "getModelSignature",
    method: "GET",
    path: "/mlops/models/{model_name}/versions/{version}/signature",
    summary: "A version's input and output schema (its MLflow signature) and input example",
    description: `Read from the version's MLmodel file as data; the model itself is never loaded for it. \`has_signature\` is false for a model logged without one.${TENANT_NAMES}`,
    tags: ["registry"],
    surface: "extension",
    access: ["models:manage", "predict"],
    params: ModelVersionParamsSchema,
    responses: {
      200: { description: "The signature.", body: named("ModelSignature", ModelSignatureSchema) },
      404: err("No such model or version (a version that is not a number included)."),
      503: unavailable,
    },
  },
  setModelAlias: {
    id: "setModelAlias",
    method: "PUT",
    path: ALIAS_PATH,
    summary: "Point an alias at a version (create or move it)",
    description: TENANT_NAMES.trim(),
    tags: ["registry"],
    surface: "extension",
    access: ["models:manage"],
    params: AliasParamsSchema,
    body: named("SetAliasRequest", SetAliasRequestSchema),
    responses: {
      200: { description: "The alias now points at the version.", body: named("AliasResponse", AliasResponseSchema) },
      400: badBody,
      404: err("No such model or version."),
      422: invalid("alias name or body"),
      503: unavailable,
    },
  },
  deleteModelAlias: {
    id: "deleteModelAlias",
    method: "DELETE",
    path: ALIAS_PATH,
    summary: "Delete an alias",
    description: TENANT_NAMES.trim(),
    tags: ["registry"],
    surface: "extension",
    access: ["models:manage"],
    params: AliasParamsSchema,
    responses: {
      204: { description: "The alias is gone." },
      404: err("No such model or alias."),
      422: invalid("alias name"),
      503: unavailable,
    },
  },
  invokeModel: {
    id: "invokeModel",
    method: "POST",
    path: "/mlops/models/{model_name}/versions/{version}/invocations",
    summary: "Predict with MLflow's scoring-server body formats",
    description:
      "Accepts exactly one of `dataframe_split`, `dataframe_records`, `instances` or `inputs` (plus optional `params`), as `mlflow models serve` does on `/invocations`, and answers like it. `version` is a number, `latest` or `@alias`; the version that answered is in the X-Model-Version header." +
      TENANT_NAMES,
    tags: ["inference"],
    surface: "extension",
    access: ["predict"],
    params: InvocationsParamsSchema,
    body: named("InvocationsRequest", InvocationsRequestSchema),
    responses: {
      200: {
        description: "The predictions.",
        body: named("InvocationsResponse", InvocationsResponseSchema),
        headers: { [headerName(MODEL_VERSION_HEADER)]: { description: "The version that answered.", schema: z.string() } },
      },
      400: badBody,
      404: err("No such model, version or alias."),
      422: err("The body or the version is invalid, or the inputs do not fit the model's signature."),
      503: unavailable,
    },
  },
  getModelServing: {
    id: "getModelServing",
    method: "GET",
    path: "/mlops/models/{model_name}/versions/{version}/serving",
    summary: "Which path serves a version (Python or ONNX Runtime) and, if not ONNX, why",
    description:
      "Answered by the inference replica that takes the request, from what it has loaded: nothing is loaded for it. A version is served by Python first and, with the compiled path on (INFERENCE_COMPILE=onnx), by ONNX Runtime once it was converted after its first prediction and passed the parity check; otherwise `reason` says why it stays on Python. `version` is a number, `latest` or `@alias`." +
      TENANT_NAMES,
    tags: ["inference"],
    surface: "extension",
    access: ["predict", "models:manage"],
    params: InvocationsParamsSchema,
    responses: {
      200: { description: "The serving path.", body: named("ModelServing", ModelServingSchema) },
      404: err("No such model, version or alias."),
      422: err("The version is not a number, latest or @alias."),
      503: unavailable,
    },
  },
  createKey: {
    id: "createKey",
    method: "POST",
    path: "/mlops/keys",
    summary: "Create an API key",
    description:
      "Answers the key once; only its SHA-256 is stored. Needs an `admin` key — except the very first key, which a client on this machine may create while the gateway runs in local mode (no key exists yet); that key must include `admin`.",
    tags: ["keys"],
    surface: "extension",
    access: ["admin"],
    body: named("CreateKeyRequest", CreateKeyRequestSchema),
    responses: {
      201: { description: "The key, shown this once.", body: named("CreateKeyResponse", CreateKeyResponseSchema) },
      400: badBody,
      401: err("No key, or a key that is unknown, expired or revoked."),
      403: err("The key lacks the admin scope."),
      422: invalid(),
      503: unavailable,
    },
  },
  listKeys: {
    id: "listKeys",
    method: "GET",
    path: "/mlops/keys",
    summary: "List API keys (never their secrets)",
    tags: ["keys"],
    surface: "extension",
    access: ["admin"],
    responses: {
      200: { description: "Every key, revoked and expired ones included.", body: named("KeyList", KeyListSchema) },
      401: err("No key, or a key that is unknown, expired or revoked."),
      403: err("The key lacks the admin scope."),
    },
  },
  revokeKey: {
    id: "revokeKey",
    method: "DELETE",
    path: "/mlops/keys/{key_id}",
    summary: "Revoke an API key",
    description: "Every gateway replica stops accepting the key as soon as it sees the change (they follow the key bucket; see docs/operations.md).",
    tags: ["keys"],
    surface: "extension",
    access: ["admin"],
    params: KeyParamsSchema,
    responses: {
      200: { description: "The key, now revoked.", body: named("KeyInfo", KeyInfoSchema) },
      401: err("No key, or a key that is unknown, expired or revoked."),
      403: err("The key lacks the admin scope."),
      404: err("No key has this id."),
      422: invalid("key id"),
      503: unavailable,
    },
  },
  healthz: {
    id: "healthz",
    method: "GET",
    path: "/healthz",
    summary: "Liveness",
    tags: ["operations"],
    surface: "extension",
    access: "public",
    responses: { 200: { description: "The process is up.", body: named("Health", HealthSchema) } },
  },
  readyz: {
    id: "readyz",
    method: "GET",
    path: "/readyz",
    summary: "Readiness",
    tags: ["operations"],
    surface: "extension",
    access: "public",
    responses: {
      200: { description: "Ready to serve.", body: named("Readiness", ReadinessSchema) },
      503: { description: "Not ready; `checks` says why.", body: named("Readiness", ReadinessSchema) },
    },
  },
  metrics: {
    id: "metrics",
    method: "GET",
    path: "/metrics",
    summary: "Prometheus metrics",
    description: "Open to this machine in local mode; once API keys exist, a key with the `metrics` scope (or `admin`) reads it.",
    tags: ["operations"],
    surface: "extension",
    access: ["metrics"],
    responses: { 200: { description: "Metrics in the Prometheus text format.", raw: { contentType: "text/plain; version=0.0.4", schema: { type: "string" } } } },
  },
  openapi: {
    id: "openapi",
    method: "GET",
    path: "/openapi.json",
    summary: "This OpenAPI 3.1 document",
    tags: ["operations"],
    surface: "extension",
    access: "any_key",
    responses: { 200: { description: "The document.", raw: { contentType: "application/json", schema: { type: "object" } } } },
  },
  docs: {
    id: "docs",
    method: "GET",
    path: "/docs",
    summary: "Interactive API documentation (Swagger UI)",
    tags: ["operations"],
    surface: "extension",
    access: "any_key",
    responses: { 200: { description: "The documentation page.", raw: { contentType: "text/html", schema: { type: "string" } } } },
  },
} as const satisfies Record<string, RouteDef>;

/** Key of a route in `ROUTES`. */
export type RouteId = keyof typeof ROUTES;

/** The routes as a list, in catalog order. */
export const ROUTE_LIST: readonly RouteDef[] = Object.values(ROUTES);

/** Components documented beside the routes: the SSE payloads of the log stream. */
export const EXTRA_COMPONENTS: readonly NamedSchema[] = [named("LogLinesEvent", LogLinesEventSchema), named("LogEndEvent", LogEndEventSchema)];

/** `/mlops/training/jobs/{job_id}` → `/mlops/training/jobs/:job_id` (Fastify's form). */
export function toFastifyPath(path: string): string {
  return path.replace(/\{([^}]+)\}/g, ":$1");
}

/** `idempotency-key` → `Idempotency-Key`, as headers are conventionally documented. */
function headerName(lower: string): string {
  return lower.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());
}
