import { connectBus } from "@asgard/bus";
import { exitIfConfigCheck, exitOnConfigError, parseEnv } from "@asgard/config";
import { createMlflowClient } from "@asgard/mlflow";
import { createLogger, createMetricsRegistry, onShutdown, serveMetrics } from "@asgard/telemetry";
import { RegistryEnv } from "./env.js";
import { createRegistry } from "./registry.js";

const SERVICE = "registry";

async function main(): Promise<void> {
  const env = parseEnv(SERVICE, RegistryEnv);
  exitIfConfigCheck(SERVICE);
  const logger = createLogger(SERVICE, env.LOG_LEVEL);
  const metrics = createMetricsRegistry(SERVICE);
  const bus = await connectBus({ servers: env.NATS_URL, name: SERVICE, logger, streamReplicas: env.NATS_STREAM_REPLICAS });
  const mlflow = createMlflowClient({ baseUrl: env.MLFLOW_TRACKING_URI, timeoutMs: env.MLFLOW_TIMEOUT_MS });
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

main().catch(exitOnConfigError).catch((err: unknown) => {
  process.stderr.write(`registry: failed to start: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
