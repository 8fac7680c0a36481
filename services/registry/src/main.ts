import { connectBus } from "@asgard/bus";
import { exitIfConfigCheck, mlflowAdminFrom, parseEnv, startService } from "@asgard/config";
import { createMlflowClient } from "@asgard/mlflow";
import { createLogger, createMetricsRegistry, onShutdown, serveMetrics } from "@asgard/telemetry";
import { RegistryEnv } from "./env.js";
import { createRegistry } from "./registry.js";

const SERVICE = "registry";

async function main(): Promise<void> {
  const env = parseEnv(SERVICE, RegistryEnv);
  const mlflowAdmin = mlflowAdminFrom(SERVICE, env);
  exitIfConfigCheck(SERVICE);
  const logger = createLogger(SERVICE, env.LOG_LEVEL);
  const metrics = createMetricsRegistry(SERVICE);
  const bus = await connectBus({ servers: env.NATS_URL, user: env.NATS_USER, pass: env.NATS_PASSWORD, name: SERVICE, logger, streamReplicas: env.NATS_STREAM_REPLICAS });
  const mlflow = createMlflowClient({ baseUrl: env.MLFLOW_TRACKING_URI, timeoutMs: env.MLFLOW_TIMEOUT_MS, auth: mlflowAdmin });
  const service = createRegistry({
    bus,
    mlflow,
    logger,
    metrics,
    config: { pollIntervalMs: env.REGISTRY_POLL_INTERVAL_MS, readyTimeoutMs: env.REGISTRY_READY_TIMEOUT_MS },
  });
  await service.start();
  const metricsServer = await serveMetrics(metrics, { port: env.METRICS_PORT, host: env.METRICS_HOST });
  logger.info({ metricsPort: metricsServer.port }, "registry ready");
  onShutdown(logger, async () => {
    await service.stop();
    await metricsServer.close();
    await bus.close();
    await mlflow.close();
  });
}

startService("registry", main);
