import { connectBus } from "@asgard/bus";
import { exitIfConfigCheck, mlflowAdminFrom, parseEnv, startService } from "@asgard/config";
import { createMlflowClient } from "@asgard/mlflow";
import { createLogger, createMetricsRegistry, onShutdown, serveMetrics } from "@asgard/telemetry";
import { StatusEnv } from "./env.js";
import { createFeastRegistryFileProbe } from "./feast-registry.js";
import { createStatusService } from "./status-service.js";

const SERVICE = "status";

async function main(): Promise<void> {
  const env = parseEnv(SERVICE, StatusEnv);
  const mlflowAdmin = mlflowAdminFrom(SERVICE, env);
  exitIfConfigCheck(SERVICE);
  const logger = createLogger(SERVICE, env.LOG_LEVEL);
  const metrics = createMetricsRegistry(SERVICE);
  const bus = await connectBus({ servers: env.NATS_URL, user: env.NATS_USER, pass: env.NATS_PASSWORD, name: SERVICE, logger });
  const mlflow = createMlflowClient({ baseUrl: env.MLFLOW_TRACKING_URI, timeoutMs: env.STATUS_PROBE_TIMEOUT_MS, auth: mlflowAdmin });
  const featureStore = env.FEAST_REGISTRY_PATH
    ? createFeastRegistryFileProbe(env.FEAST_REGISTRY_PATH, env.FEAST_PROJECT)
    : null;
  const service = createStatusService({
    bus,
    mlflow,
    featureStore,
    trackingUri: env.MLFLOW_TRACKING_URI,
    intervalMs: env.STATUS_INTERVAL_MS,
    probeTimeoutMs: env.STATUS_PROBE_TIMEOUT_MS,
    runnerWindowMs: env.STATUS_RUNNER_WINDOW_MS,
    logger,
    metrics,
  });
  const metricsServer = await serveMetrics(metrics, { port: env.METRICS_PORT, host: env.METRICS_HOST });
  await service.start();
  logger.info({ intervalMs: env.STATUS_INTERVAL_MS, metricsPort: metricsServer.port }, "status service started");
  onShutdown(logger, async () => {
    await service.stop();
    await metricsServer.close();
    await mlflow.close();
    await bus.close();
  });
}

startService("status", main);
