import { z } from "zod";
import { httpUrl, logLevel, metricsHost, mlflowAdminFields, NATS_AUTH_INCOMPLETE, natsAuthComplete, natsAuthFields, natsUrl, port, positiveMs, streamReplicas } from "@asgard/config";
import { DEFAULT_CONFIG } from "./config.js";

export const RegistryEnv = z.object({
  NATS_URL: natsUrl(),
  ...natsAuthFields(),
  NATS_STREAM_REPLICAS: streamReplicas(),
  MLFLOW_TRACKING_URI: httpUrl("MLflow tracking server URL"),
  ...mlflowAdminFields(),
  MLFLOW_TIMEOUT_MS: positiveMs(10_000, "budget of each MLflow call"),
  REGISTRY_POLL_INTERVAL_MS: positiveMs(
    DEFAULT_CONFIG.pollIntervalMs,
    "time between two reads of MLflow (model cache, versions and aliases changed directly in MLflow)",
  ),
  REGISTRY_READY_TIMEOUT_MS: positiveMs(DEFAULT_CONFIG.readyTimeoutMs, "longest wait for a new version to become READY (at most 50000)").pipe(
    // The gateway's request to the registry waits 60 s; the wait must end well before.
    z.number().max(50_000),
  ),
  METRICS_PORT: port(0).describe("port of this service's /metrics endpoint; 0 = a free port (default 0)"),
  METRICS_HOST: metricsHost(),
  LOG_LEVEL: logLevel(),
}).refine(natsAuthComplete, NATS_AUTH_INCOMPLETE);
export type RegistryEnv = z.infer<typeof RegistryEnv>;
