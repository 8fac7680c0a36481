import { z } from "zod";
import { ModelVersionInfoSchema } from "./registry.js";

/**
 * Run details and model-version details read from MLflow through the registry service, for
 * the console and for scripts that want a job's numbers without MLflow credentials.
 */

const timestamp = () => z.iso.datetime();

/**
 * A metric value. MLflow allows NaN and ±Infinity, which JSON cannot carry: they are null here
 * (the MLflow UI shows them; a chart leaves a gap).
 */
const MetricValue = z.number().nullable();

/** Most metric keys whose history a run answer carries; more are named in `histories_omitted`. */
export const RUN_HISTORY_MAX_KEYS = 20;
/** Most points of one metric's history; a longer one is thinned evenly, its last point kept. */
export const RUN_HISTORY_MAX_POINTS = 500;

/** One point of a metric's history. */
export const MetricPointSchema = z.object({
  step: z.number().int(),
  /** Epoch milliseconds, as MLflow records them. */
  timestamp: z.number().int(),
  value: MetricValue,
});
export type MetricPoint = z.infer<typeof MetricPointSchema>;

/** A run's parameters and latest metrics: what each version's column shows side by side. */
export const RunSummarySchema = z.object({
  run_id: z.string(),
  params: z.record(z.string(), z.string()),
  metrics: z.record(z.string(), MetricValue).describe("Latest value of each metric."),
});
export type RunSummary = z.infer<typeof RunSummarySchema>;

/** Answer of `GET /mlops/training/jobs/{job_id}/run`: the job's MLflow run. */
export const RunDetailsSchema = RunSummarySchema.extend({
  job_id: z.string(),
  experiment_id: z.string(),
  run_name: z.string(),
  /** MLflow's run status: RUNNING, SCHEDULED, FINISHED, FAILED or KILLED. */
  status: z.string(),
  start_time: timestamp().nullable(),
  end_time: timestamp().nullable(),
  histories: z
    .record(z.string(), z.array(MetricPointSchema))
    .describe(`Each metric's history by step (at most ${RUN_HISTORY_MAX_KEYS} metrics, ${RUN_HISTORY_MAX_POINTS} points each; longer ones thinned evenly).`),
  histories_omitted: z.array(z.string()).describe("Metrics whose history was left out (beyond the first keys in name order); their latest value is in `metrics`."),
});
export type RunDetails = z.infer<typeof RunDetailsSchema>;

/** One version with the parameters and latest metrics of the run that produced it. */
export const ModelVersionDetailsSchema = ModelVersionInfoSchema.extend({
  run: RunSummarySchema.nullable().describe("The version's run; null when it has none or the run is gone."),
});
export type ModelVersionDetails = z.infer<typeof ModelVersionDetailsSchema>;

/** Most versions one answer lists, newest first. */
export const MODEL_VERSIONS_MAX = 50;

/** Answer of `GET /mlops/models/{model_name}/versions`. */
export const ModelVersionListSchema = z.object({
  model_name: z.string(),
  versions: z.array(ModelVersionDetailsSchema).describe(`Newest first, at most ${MODEL_VERSIONS_MAX}.`),
  truncated: z.boolean().describe("True when the model has older versions than those listed."),
});
export type ModelVersionList = z.infer<typeof ModelVersionListSchema>;

/** Path parameters of `/mlops/models/{model_name}/versions/{version}/…`; a non-number version names no version (404). */
export const ModelVersionParamsSchema = z.object({
  model_name: z.string().describe("Registered-model name."),
  version: z.string().describe("Version number."),
});

/** One input or output of a model's signature, as MLflow's MLmodel file declares it. */
export const SignatureFieldSchema = z.object({
  /** Column name; null for an unnamed tensor. */
  name: z.string().nullable(),
  /** MLflow's type: double, float, long, integer, boolean, string, binary, datetime, tensor, array, object… */
  type: z.string(),
  /** Element type of a tensor (float64, int32, …); null otherwise. */
  dtype: z.string().nullable(),
  /** Shape of a tensor (-1 for any length); null otherwise. */
  shape: z.array(z.number().int()).nullable(),
  required: z.boolean(),
});
export type SignatureField = z.infer<typeof SignatureFieldSchema>;

/** A scalar of an input example row. */
const ExampleValue = z.union([z.string(), z.number(), z.boolean(), z.null()]);

/** Answer of `GET /mlops/models/{model_name}/versions/{version}/signature`. */
export const ModelSignatureSchema = z.object({
  model_name: z.string(),
  version: z.string(),
  /** False when the version was logged without a signature (or its MLmodel is outside the proxied store). */
  has_signature: z.boolean(),
  inputs: z.array(SignatureFieldSchema),
  outputs: z.array(SignatureFieldSchema),
  /** The first row of the logged input example, one value per input column (or tensor element); null without one. */
  input_example: z.array(ExampleValue).nullable(),
});
export type ModelSignature = z.infer<typeof ModelSignatureSchema>;
