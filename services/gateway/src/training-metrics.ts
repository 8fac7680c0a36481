import { Counter, Gauge, type Registry } from "@asgard/telemetry";

/** Metrics of the training routes. */
export interface TrainingMetrics {
  /** Uploads by outcome (`accepted`, `rejected` for 4xx, `failed` for 5xx) and HTTP status. */
  uploads: Counter<"result" | "status">;
  /** Log streams (SSE) currently open. */
  logStreamsOpen: Gauge;
}

export function createTrainingMetrics(registry: Registry): TrainingMetrics {
  return {
    uploads: new Counter({
      name: "asgard_gateway_training_uploads_total",
      help: "Training uploads by result (accepted, rejected, failed) and HTTP status",
      labelNames: ["result", "status"],
      registers: [registry],
    }),
    logStreamsOpen: new Gauge({
      name: "asgard_gateway_log_streams_open",
      help: "Job log streams (Server-Sent Events) currently open",
      registers: [registry],
    }),
  };
}

/** The `result` label of an upload answered with `status`. */
export function uploadResult(status: number): "accepted" | "rejected" | "failed" {
  if (status >= 200 && status < 300) return "accepted";
  return status >= 500 ? "failed" : "rejected";
}
