import { z } from "zod";
import { httpUrl, logLevel, metricsHost, mlflowAdminFields, NATS_AUTH_INCOMPLETE, natsAuthComplete, natsAuthFields, natsUrl, optionalString, port, positiveMs } from "@asgard/config";

export const StatusEnv = z
  .object({
    NATS_URL: natsUrl(),
    ...natsAuthFields(),
    MLFLOW_TRACKING_URI: httpUrl("MLflow tracking server URL, the one jobs are given"),
    ...mlflowAdminFields(),
    STATUS_INTERVAL_MS: positiveMs(3_000, "time between two status probes (at most 5000)").pipe(z.number().max(5_000)),
    STATUS_PROBE_TIMEOUT_MS: positiveMs(2_000, "budget of each status probe, below STATUS_INTERVAL_MS"),
    STATUS_RUNNER_WINDOW_MS: positiveMs(
      15_000,
      "a python-runner counts as live while its last heartbeat is at most this old; keep it above twice the runners' RUNNER_HEARTBEAT_MS",
    ),
    FEAST_REGISTRY_PATH: optionalString(
      "path (or file:// URL) of a Feast registry file, e.g. feature_repo/data/registry.db; unset = no feature store",
    ),
    FEAST_PROJECT: optionalString("Feast project whose feature views are counted; unset = all projects"),
    METRICS_PORT: port(0).describe("port of this service's /metrics endpoint; 0 = a free port (default 0)"),
    METRICS_HOST: metricsHost(),
    LOG_LEVEL: logLevel(),
  })
  .refine(natsAuthComplete, NATS_AUTH_INCOMPLETE)
  .refine((e) => e.STATUS_PROBE_TIMEOUT_MS < e.STATUS_INTERVAL_MS, {
    path: ["STATUS_PROBE_TIMEOUT_MS"],
    message: "must be below STATUS_INTERVAL_MS",
  });
export type StatusEnv = z.infer<typeof StatusEnv>;
