import { z } from "zod";

/*
 * Response shapes of MLflow's REST API, in MLflow's own snake_case. Objects are loose so a
 * field a newer MLflow adds passes through; fields MLflow leaves out when empty get defaults.
 */

/**
 * An int64 as MLflow sends it: proto3 JSON allows both numbers and decimal strings, and
 * MLflow uses both depending on the endpoint. Returns null for anything else.
 */
export function toNumber(value: unknown): number | null {
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (typeof value === "string" && /^-?\d+(\.\d+)?$/.test(value.trim())) return Number(value.trim());
  return null;
}

/** A metric value: proto3 JSON writes non-finite doubles as the strings "NaN", "Infinity", "-Infinity". */
export function toMetricValue(value: unknown): number | null {
  if (value === "NaN") return Number.NaN;
  if (value === "Infinity") return Number.POSITIVE_INFINITY;
  if (value === "-Infinity") return Number.NEGATIVE_INFINITY;
  if (typeof value === "number") return value;
  return toNumber(value);
}

/** The inverse of {@link toMetricValue}: JSON.stringify would turn NaN and ±Infinity into null. */
export function metricValueToJson(value: number): number | string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "Infinity";
  if (value === Number.NEGATIVE_INFINITY) return "-Infinity";
  return value;
}

export const Int64Schema = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const n = toNumber(value);
  if (n === null) {
    ctx.addIssue({ code: "custom", message: `expected an integer, got ${JSON.stringify(value)}` });
    return z.NEVER;
  }
  return n;
});

/** An int64 MLflow may omit (e.g. a running run's `end_time`): null when absent. */
const OptionalInt64Schema = Int64Schema.nullish().transform((v) => v ?? null);

const MetricValueSchema = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const n = toMetricValue(value);
  if (n === null) {
    ctx.addIssue({ code: "custom", message: `expected a number, got ${JSON.stringify(value)}` });
    return z.NEVER;
  }
  return n;
});

/** Version numbers are strings on the wire; accept a number too. */
const VersionSchema = z.union([z.string(), z.number()]).transform(String);

export const TagSchema = z.looseObject({ key: z.string(), value: z.string().default("") });
/** A key/value pair as MLflow returns it (tags, params). */
export type Tag = z.infer<typeof TagSchema>;

const TagsSchema = z.array(TagSchema).default([]);

export const ExperimentSchema = z.looseObject({
  experiment_id: z.string(),
  name: z.string(),
  artifact_location: z.string().default(""),
  lifecycle_stage: z.string().default("active"),
  creation_time: OptionalInt64Schema,
  last_update_time: OptionalInt64Schema,
  tags: TagsSchema,
});
/** An MLflow experiment. `lifecycle_stage` is "active" or "deleted". */
export type Experiment = z.infer<typeof ExperimentSchema>;

export const MetricSchema = z.looseObject({
  key: z.string(),
  value: MetricValueSchema,
  timestamp: OptionalInt64Schema,
  step: Int64Schema.nullish().transform((v) => v ?? 0),
});
/** The latest value of a metric of a run. */
export type Metric = z.infer<typeof MetricSchema>;

export const RunInfoSchema = z.looseObject({
  run_id: z.string(),
  experiment_id: z.string(),
  run_name: z.string().default(""),
  user_id: z.string().default(""),
  /** RUNNING, SCHEDULED, FINISHED, FAILED or KILLED. */
  status: z.string(),
  start_time: OptionalInt64Schema,
  end_time: OptionalInt64Schema,
  artifact_uri: z.string().default(""),
  lifecycle_stage: z.string().default("active"),
});
export type RunInfo = z.infer<typeof RunInfoSchema>;

export const RunSchema = z.looseObject({
  info: RunInfoSchema,
  data: z
    .looseObject({
      metrics: z.array(MetricSchema).default([]),
      params: TagsSchema,
      tags: TagsSchema,
    })
    .default({ metrics: [], params: [], tags: [] }),
});
/** A run with its latest metrics, params and tags. */
export type Run = z.infer<typeof RunSchema>;

export const LoggedModelSchema = z.looseObject({
  info: z.looseObject({
    model_id: z.string(),
    experiment_id: z.string(),
    name: z.string(),
    artifact_uri: z.string().default(""),
    /** LOGGED_MODEL_PENDING, LOGGED_MODEL_READY or LOGGED_MODEL_UPLOAD_FAILED. */
    status: z.string().default(""),
    status_message: z.string().default(""),
    model_type: z.string().default(""),
    source_run_id: z.string().default(""),
    creation_timestamp_ms: OptionalInt64Schema,
    last_updated_timestamp_ms: OptionalInt64Schema,
    tags: TagsSchema,
    registrations: z.array(z.looseObject({ name: z.string(), version: VersionSchema })).default([]),
  }),
  data: z
    .looseObject({ params: TagsSchema, metrics: z.array(MetricSchema).default([]) })
    .default({ params: [], metrics: [] }),
});
/** An MLflow 3 LoggedModel: what `log_model` creates, with artifacts under `artifact_uri`. */
export type LoggedModel = z.infer<typeof LoggedModelSchema>;

export const ModelVersionSchema = z.looseObject({
  name: z.string(),
  version: VersionSchema,
  creation_timestamp: OptionalInt64Schema,
  last_updated_timestamp: OptionalInt64Schema,
  current_stage: z.string().default("None"),
  description: z.string().default(""),
  source: z.string().default(""),
  run_id: z.string().default(""),
  model_id: z.string().default(""),
  run_link: z.string().default(""),
  user_id: z.string().default(""),
  /** PENDING_REGISTRATION, FAILED_REGISTRATION or READY. */
  status: z.string(),
  status_message: z.string().default(""),
  tags: TagsSchema,
  aliases: z.array(z.string()).default([]),
});
/** A version of a registered model. `version` is a decimal string, as on the wire. */
export type ModelVersion = z.infer<typeof ModelVersionSchema>;

export const RegisteredModelSchema = z.looseObject({
  name: z.string(),
  creation_timestamp: OptionalInt64Schema,
  last_updated_timestamp: OptionalInt64Schema,
  description: z.string().default(""),
  latest_versions: z.array(ModelVersionSchema).default([]),
  tags: TagsSchema,
  aliases: z.array(z.looseObject({ alias: z.string(), version: VersionSchema })).default([]),
});
/** A registered model with its latest versions (one per stage) and its aliases. */
export type RegisteredModel = z.infer<typeof RegisteredModelSchema>;

export const ArtifactFileSchema = z.looseObject({
  path: z.string(),
  is_dir: z.boolean().default(false),
  file_size: OptionalInt64Schema,
});
/** One entry of an artifact listing; `path` is relative as MLflow returns it. */
export type ArtifactFile = z.infer<typeof ArtifactFileSchema>;

/** Turns MLflow's `[{key, value}]` tag list into a plain record (last one wins). */
export function tagsToRecord(tags: readonly { key: string; value: string }[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const tag of tags) out[tag.key] = tag.value;
  return out;
}

/** Turns a record into MLflow's `[{key, value}]` request form. */
export function recordToTags(record: Record<string, string> | undefined): { key: string; value: string }[] {
  return Object.entries(record ?? {}).map(([key, value]) => ({ key, value }));
}

/** What the searches within experiments (runs, logged models) take alike. */
export interface ExperimentSearchQuery {
  experimentIds: string[];
  /** MLflow filter syntax; each search says what it filters over. */
  filter?: string;
  /** Page size. */
  maxResults?: number;
  pageToken?: string;
}

/** Those fields in the request body's form; each search adds its own (ordering, view). */
export function experimentSearchBody(q: ExperimentSearchQuery): Record<string, unknown> {
  return { experiment_ids: q.experimentIds, filter: q.filter, max_results: q.maxResults, page_token: q.pageToken };
}

/** `next_page_token` as MLflow sends it: absent or "" on the last page. */
export const PageTokenSchema = z
  .string()
  .nullish()
  .transform((v) => (v ? v : null));
