import { Counter, Gauge, Histogram, type Registry } from "@asgard/telemetry";

/** The inference service's Prometheus metrics. */
export interface InferenceMetrics {
  /**
   * Model loads by result (`ok`, `failed`) and reason (`request`, `warm`, `crash`): each is a
   * worker started and a model loaded into it. A warm model answers without adding to it.
   */
  loads: Counter<"result" | "reason">;
  /** Models unloaded to stay within the memory budget. */
  evictions: Counter<never>;
  /** Workers that ended without being asked to. */
  crashes: Counter<never>;
  /** Requests by endpoint and outcome (`ok` or the error code). */
  requests: Counter<"endpoint" | "result">;
  /** Time from a request's arrival at this service to its answer (resolving, waiting for its batch, predicting). */
  requestSeconds: Histogram<"endpoint">;
  /** Rows per predict call. */
  batchRows: Histogram<never>;
  /** Requests coalesced into one predict call. */
  batchRequests: Histogram<never>;
  /** Time inside the model's predict (and predict_proba) per call, measured in the worker. */
  predictSeconds: Histogram<never>;
  /** The worker's whole handling of a call (building the frame, predict, converting the output). */
  workerSeconds: Histogram<never>;
  /** Model versions loaded now. */
  loadedModels: Gauge<never>;
  /** Resident memory of all model workers, as last measured. */
  workerMemoryBytes: Gauge<never>;
}

export function createInferenceMetrics(registry: Registry | undefined): InferenceMetrics {
  const registers = registry ? [registry] : [];
  return {
    loads: new Counter({ name: "asgard_inference_model_loads_total", help: "Model loads by result and reason", labelNames: ["result", "reason"], registers }),
    evictions: new Counter({ name: "asgard_inference_model_evictions_total", help: "Models unloaded to stay within the memory budget", registers }),
    crashes: new Counter({ name: "asgard_inference_worker_crashes_total", help: "Model workers that ended unexpectedly", registers }),
    requests: new Counter({ name: "asgard_inference_requests_total", help: "Prediction requests by endpoint and outcome", labelNames: ["endpoint", "result"], registers }),
    requestSeconds: new Histogram({
      name: "asgard_inference_request_seconds",
      help: "Time from a request's arrival at the inference service to its answer",
      labelNames: ["endpoint"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 30],
      registers,
    }),
    batchRows: new Histogram({ name: "asgard_inference_batch_rows", help: "Rows per predict call", buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 1024], registers }),
    batchRequests: new Histogram({ name: "asgard_inference_batch_requests", help: "Requests coalesced into one predict call", buckets: [1, 2, 4, 8, 16, 32, 64, 128], registers }),
    predictSeconds: new Histogram({
      name: "asgard_inference_predict_seconds",
      help: "Time inside the model's predict per call",
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
      registers,
    }),
    workerSeconds: new Histogram({
      name: "asgard_inference_worker_seconds",
      help: "Time the worker spent on a predict call, predict included",
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
      registers,
    }),
    loadedModels: new Gauge({ name: "asgard_inference_loaded_models", help: "Model versions loaded", registers }),
    workerMemoryBytes: new Gauge({ name: "asgard_inference_worker_memory_bytes", help: "Resident memory of all model workers", registers }),
  };
}
