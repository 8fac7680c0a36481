import { z } from "zod";
import { describeValue, expecting, isPlainObject, issuesFailure, jsonObject, parseLenient, parseStrict, plainFailure, quote, report, type ParseResult } from "./common.js";
import { formatModelVersionRef, modelNameField, modelVersionRefField, readModelVersionRef, type ModelVersionRef } from "./fields.js";

/** One input value: a column of a tabular model holds scalars only. */
export type Scalar = number | string | boolean | null;

/** Schema of one input value. */
export const ScalarSchema = z.union([z.number(), z.string(), z.boolean(), z.null()]);

function isScalar(v: unknown): v is Scalar {
  return v === null || typeof v === "number" || typeof v === "string" || typeof v === "boolean";
}

/** Feature name → column of values; every column the same, non-zero length. */
export function inputsField() {
  return jsonObject('an object of feature name → list of values, e.g. {"age": [42, 37], "income": [5200, 3100]}')
    .superRefine((inputs, ctx) => {
      const entries = Object.entries(inputs);
      if (entries.length === 0) {
        report(ctx, 'must name at least one feature, e.g. {"age": [42]}');
        return;
      }
      const lengths: [string, number][] = [];
      for (const [name, column] of entries) {
        if (name === "") report(ctx, "feature names must not be empty", { path: [name] });
        if (!Array.isArray(column)) {
          report(ctx, `must be a list of values, e.g. [42, 37] (got ${describeValue(column)})`, { path: [name] });
          continue;
        }
        if (column.length === 0) {
          report(ctx, "must hold at least one value", { path: [name] });
          continue;
        }
        const bad = column.findIndex((v) => !isScalar(v));
        if (bad >= 0) {
          const others = column.filter((v) => !isScalar(v)).length - 1;
          const more = others > 0 ? ` (and ${others} more in this column)` : "";
          report(ctx, `must be a number, string, boolean or null, not ${describeValue(column[bad])}: nested values are not accepted${more}`, { path: [name, bad] });
        }
        lengths.push([name, column.length]);
      }
      const distinct = new Set(lengths.map(([, n]) => n));
      if (distinct.size > 1) {
        const shown = lengths.slice(0, 6).map(([name, n]) => `${quote(name, 30)} has ${n}`).join(", ");
        report(ctx, `all features must have the same number of values (one per row): ${shown}${lengths.length > 6 ? ", …" : ""}`);
      }
    })
    .transform((inputs) => Object.fromEntries(Object.entries(inputs)) as Record<string, Scalar[]>)
    .meta({
      type: "object",
      minProperties: 1,
      additionalProperties: { type: "array", minItems: 1, items: { type: ["number", "string", "boolean", "null"] } },
      description: "Feature name → column of values, all columns the same length (one value per row). Matched to the model's signature by name when it names its columns, else taken in request order.",
      examples: [{ age: [42, 37], income: [5200, 3100] }],
    });
}

/** An accepted inference request. */
export interface InferenceRequest {
  model_name: string;
  /** Normalized wire form: "3", "@champion", or null for the latest READY version. */
  model_version: string | null;
  model_ref: ModelVersionRef;
  inputs: Record<string, Scalar[]>;
  /** Number of rows (the common column length). */
  rows: number;
  return_probabilities: boolean;
}

/** Body of `POST /mlops/inference`. */
export const InferenceRequestSchema = z
  .object({
    model_name: modelNameField(),
    model_version: modelVersionRefField(),
    inputs: inputsField(),
    return_probabilities: z
      .boolean({ error: expecting("true or false") })
      .nullish()
      .transform((v) => v ?? false)
      .meta({ description: "Also return class probabilities (classifiers only); default false.", default: false }),
  })
  .transform(
    (v): InferenceRequest => ({
      model_name: v.model_name,
      model_version: formatModelVersionRef(v.model_version),
      model_ref: v.model_version,
      inputs: v.inputs,
      rows: Object.values(v.inputs)[0]?.length ?? 0,
      return_probabilities: v.return_probabilities,
    }),
  );
export type InferenceRequestBody = z.input<typeof InferenceRequestSchema>;

/** Fields of the inference body; anything else is ignored and named in `warnings`. */
export const INFERENCE_FIELDS = ["model_name", "model_version", "inputs", "return_probabilities"] as const;

/** Validates an inference body (compatible surface: unknown fields become warnings). */
export function parseInferenceRequest(body: unknown): ParseResult<InferenceRequest> {
  return parseLenient(InferenceRequestSchema, body, INFERENCE_FIELDS);
}

/**
 * Which path computed a prediction: `python` (the model's own predict in its Python worker) or
 * `onnx` (the model compiled to ONNX after its first prediction, served by ONNX Runtime).
 */
export const SERVED_BY = ["python", "onnx"] as const;
export type ServedBy = (typeof SERVED_BY)[number];

/** Response header of the invocations route naming the path that computed the predictions (MLflow's body stays as it is). */
export const SERVED_BY_HEADER = "x-asgard-served-by";

const servedByField = () =>
  z
    .enum(SERVED_BY)
    .optional()
    .describe("Which path computed the predictions: python, or onnx once the model was compiled after its first prediction. Absent from older services.");

/** Answer of `POST /mlops/inference`. The first six fields are the original's. */
export const InferenceResponseSchema = z.object({
  model_name: z.string(),
  model_version: z.string().describe("The version that answered (resolved from latest or an alias)."),
  predictions: z.array(z.unknown()).describe("One prediction per row."),
  probabilities: z.array(z.array(z.number())).nullable().describe("Per row, the probability of each class; null unless requested."),
  inference_time_ms: z
    .number()
    .nonnegative()
    .describe("Time inside the model's predict (and predict_proba) for the batch this request was answered in, as the model's worker measured it."),
  timestamp: z.iso.datetime(),
  warnings: z.array(z.string()).describe("Fields of the request that were ignored."),
  // Added after the first release: optional, so clients and replicas of before keep working.
  served_by: servedByField(),
});
export type InferenceResponse = z.infer<typeof InferenceResponseSchema>;

// ---- MLflow scoring-server bodies (extension: POST /mlops/models/{model_name}/versions/{version}/invocations) ----

const paramsField = () =>
  jsonObject("an object of inference parameters")
    .optional()
    .describe("Inference parameters the model's signature declares (MLflow `params`).");

/** `dataframe_split`: pandas' "split" orientation. */
export const DataframeSplitSchema = z
  .object({
    columns: z.array(z.string({ error: expecting("a column name") }), { error: expecting('a list of column names, e.g. ["age", "income"]') }),
    data: z.array(z.array(z.unknown(), { error: expecting("a row: a list of values") }), { error: expecting("a list of rows, e.g. [[42, 5200]]") }),
    index: z.array(z.unknown()).optional(),
  })
  .superRefine((split, ctx) => {
    split.data.forEach((row, i) => {
      if (row.length !== split.columns.length) report(ctx, `has ${row.length} values but there are ${split.columns.length} columns`, { path: ["data", i] });
    });
    if (split.index && split.index.length !== split.data.length) report(ctx, `has ${split.index.length} entries for ${split.data.length} rows`, { path: ["index"] });
  });

const tensorInput = (what: string) =>
  z.union([z.array(z.unknown()), jsonObject(what)], { error: expecting(`${what}: a list, or an object of name → list`) });

/** The four body forms MLflow's `/invocations` accepts, each with optional `params`. */
export const InvocationsRequestSchema = z.union([
  z.object({ dataframe_split: DataframeSplitSchema, params: paramsField() }),
  z.object({ dataframe_records: z.array(jsonObject("a record: an object of column → value")), params: paramsField() }),
  z.object({ instances: tensorInput("instances"), params: paramsField() }),
  z.object({ inputs: tensorInput("inputs"), params: paramsField() }),
]);

/** The input forms of `/invocations`. */
export const INVOCATION_FORMATS = ["dataframe_split", "dataframe_records", "instances", "inputs"] as const;
export type InvocationFormat = (typeof INVOCATION_FORMATS)[number];

/** An accepted `/invocations` body. */
export interface InvocationsRequest {
  format: InvocationFormat;
  /** The value of the format's field, as sent. */
  data: unknown;
  params: Record<string, unknown> | null;
}

const INVOCATION_OPTIONS = InvocationsRequestSchema.options;

/**
 * Validates an `/invocations` body: exactly one of the four input fields, plus optional
 * `params`; anything else is a 422 (an extension route, and MLflow refuses it too).
 */
export function parseInvocationsRequest(body: unknown): ParseResult<InvocationsRequest> {
  if (!isPlainObject(body)) return plainFailure(400, `The request body must be a JSON object with one of ${INVOCATION_FORMATS.join(", ")}`);
  const present = INVOCATION_FORMATS.filter((f) => Object.hasOwn(body, f));
  const hint = `send exactly one of ${INVOCATION_FORMATS.join(", ")} (MLflow's scoring formats), e.g. {"dataframe_split": {"columns": ["age"], "data": [[42]]}}`;
  if (present.length !== 1) {
    const field = present.length === 0 ? "(body)" : present.join(", ");
    return issuesFailure([{ field, message: present.length === 0 ? `has no input: ${hint}` : `has several inputs: ${hint}` }]);
  }
  const format = present[0] as InvocationFormat;
  const schema = INVOCATION_OPTIONS[INVOCATION_FORMATS.indexOf(format)] ?? INVOCATION_OPTIONS[0];
  const parsed = parseStrict(schema, body, [format, "params"]);
  if (!parsed.ok) return parsed;
  const value = parsed.value as Record<string, unknown>;
  return { ok: true, value: { format, data: value[format], params: (value.params as Record<string, unknown> | undefined) ?? null }, warnings: [] };
}

/**
 * Path parameters of `/mlops/models/{model_name}/versions/{version}/invocations`. The version
 * is a number, `latest` (the highest READY version) or `@alias` — so a client written for
 * `mlflow models serve` switches to us by changing only its URL.
 */
export const InvocationsParamsSchema = z.object({
  model_name: z.string().describe("Registered-model name."),
  version: z
    .string()
    .transform((input, ctx) => {
      const read = readModelVersionRef(input);
      if (!read.ok) {
        report(ctx, read.problem);
        return z.NEVER;
      }
      return read.ref;
    })
    .meta({ type: "string", description: 'A version number, "latest" or "@alias".', examples: ["3", "latest", "@champion"] }),
});
export type InvocationsParams = z.output<typeof InvocationsParamsSchema>;

/** Reads the invocations path parameters (a version that cannot exist is a 422 naming it). */
export function parseInvocationsParams(params: unknown): ParseResult<InvocationsParams> {
  return parseStrict(InvocationsParamsSchema, params, ["model_name", "version"], { subject: "path" });
}

/** Response header of the invocations route naming the version that answered (lower case, as Node sends headers). */
export const MODEL_VERSION_HEADER = "x-model-version";

/** What MLflow's scoring server answers, and so do we. */
export const InvocationsResponseSchema = z.object({
  predictions: z.unknown().describe("The model's output: a list (one entry per row) or an object of named outputs."),
});
export type InvocationsResponse = z.infer<typeof InvocationsResponseSchema>;


// ---- Which path serves a version (extension: GET /mlops/models/{model_name}/versions/{version}/serving) ----

/**
 * Where a version's compiled path stands on the replica that answered: `not_loaded` (no worker
 * yet: it loads on its first prediction or warm-up), `loading`, `off` (INFERENCE_COMPILE=off),
 * `pending` (loaded; compiled after its first prediction), `compiling`, `onnx` (served by ONNX
 * Runtime) or `python` (conversion or its parity check failed: it stays on Python, `reason` says why).
 */
export const COMPILE_STATES = ["not_loaded", "loading", "off", "pending", "compiling", "onnx", "python"] as const;
export type CompileState = (typeof COMPILE_STATES)[number];

/** Answer of `GET /mlops/models/{model_name}/versions/{version}/serving`. */
export const ModelServingSchema = z.object({
  model_name: z.string(),
  model_version: z.string().describe("The version asked for (resolved from latest or an alias)."),
  served_by: z.enum(SERVED_BY).nullable().describe("The path that serves its predictions now: python or onnx; null while it is not loaded."),
  compile_state: z.enum(COMPILE_STATES).describe("Where its compiled path stands (see the model docs)."),
  compiled_at: z.iso.datetime().nullable().describe("When ONNX Runtime took over; null unless served_by is onnx."),
  reason: z.string().nullable().describe("Why it is not served by ONNX Runtime (yet); null when it is."),
  instance_id: z.string().describe("The inference replica that answered: each replica loads and compiles the versions it serves."),
});
export type ModelServing = z.infer<typeof ModelServingSchema>;
