import { z } from "zod";

/**
 * What the worker reports about a model once loaded: enough for the service to check a
 * request's inputs before it joins a batch (one bad request must not fail its neighbours).
 */
export const InputSpecSchema = z.discriminatedUnion("kind", [
  /** A column signature (logged from a DataFrame); `name` is null for unnamed columns. */
  z.object({
    kind: z.literal("columns"),
    columns: z.array(z.object({ name: z.string().nullable(), type: z.string(), required: z.boolean() })),
  }),
  /** One unnamed tensor (logged from a numpy array): columns are taken in request order. */
  z.object({ kind: z.literal("tensor"), dtype: z.string(), shape: z.array(z.number().int()) }),
  /** No signature: scikit-learn's own feature names or feature count when it has them. */
  z.object({ kind: z.literal("none"), feature_names: z.array(z.string()).nullable(), n_features: z.number().int().nullable() }),
  /** A signature this API cannot feed (several named tensors). */
  z.object({ kind: z.literal("unsupported"), reason: z.string() }),
]);
export type InputSpec = z.infer<typeof InputSpecSchema>;

export const WorkerModelInfoSchema = z.object({
  /** The pyfunc loader module (`mlflow.sklearn`, `mlflow.lightgbm`, …), or `python_function`. */
  flavor: z.string(),
  /** Class of the model object the flavor loaded (e.g. `lightgbm.basic.Booster`); null for python_function models. */
  model_class: z.string().nullable().default(null),
  /** Whether the model has predict_proba (decided per flavor by the worker's NATIVE_FLAVORS). */
  has_proba: z.boolean(),
  classes: z.array(z.unknown()).nullable(),
  input: InputSpecSchema,
  /** Inference parameters the signature declares. */
  params: z.array(z.string()),
});
export type WorkerModelInfo = z.infer<typeof WorkerModelInfoSchema>;

export const LoadReplySchema = z.object({
  ok: z.literal(true),
  info: WorkerModelInfoSchema,
  load_ms: z.number(),
  rss_bytes: z.number(),
});
export type LoadReply = z.infer<typeof LoadReplySchema>;

/** What the worker's parity check measured (see `python/compiled.py`). */
export const ParityReportSchema = z.object({
  /** Rows of the model's logged input example checked (0 when it logged none). */
  example_rows: z.number().int(),
  /** Rows generated over the example's ranges (or N(0, 1) without one). */
  generated_rows: z.number().int(),
  /** Largest |onnx − python| / max(|python|, abs_floor) over predictions and probabilities. */
  max_relative_error: z.number(),
  rtol: z.number(),
  abs_floor: z.number(),
});

export const CompileReplySchema = z.object({
  ok: z.literal(true),
  /** The ONNX graph, base64: stored by the service as bytes, parsed only by sandboxed workers. */
  onnx: z.string(),
  parity: ParityReportSchema,
});
export type CompileReply = z.infer<typeof CompileReplySchema>;
