import { join, resolve } from "node:path";
import { connectBus } from "@asgard/bus";
import { exitIfConfigCheck, exitOnConfigError, parseEnv } from "@asgard/config";
import { ensureUv } from "@asgard/infra";
import { createMlflowClient } from "@asgard/mlflow";
import { constraintsFromSetting, createPyEnvManager, excludesFromSetting } from "@asgard/pyenv";
import { createLogger, createMetricsRegistry, onShutdown, retryUntilReady, serveMetrics } from "@asgard/telemetry";
import { InferenceEnv } from "./env.js";
import { createInference } from "./inference.js";

const SERVICE = "inference";

async function main(): Promise<void> {
  const env = parseEnv(SERVICE, InferenceEnv);
  exitIfConfigCheck(SERVICE);
  const logger = createLogger(SERVICE, env.LOG_LEVEL);
  const metrics = createMetricsRegistry(SERVICE);
  const mlflow = createMlflowClient({ baseUrl: env.MLFLOW_TRACKING_URI });
  // Model environments get the tracking server's own MLflow, as job environments do.
  const serverVersion = await retryUntilReady("MLflow", () => mlflow.version(), { logger });
  const dataDir = resolve(env.ASGARD_DATA_DIR);
  const pyenv = createPyEnvManager({
    root: env.ENV_CACHE_DIR ?? join(dataDir, "envs"),
    uvPath: await ensureUv(),
    python: env.ASGARD_PYTHON,
    pins: [`mlflow==${serverVersion}`],
    constraints: await constraintsFromSetting(env.ENV_CONSTRAINTS),
    excludes: excludesFromSetting(env.ENV_EXCLUDE_PACKAGES),
    diskBudgetBytes: env.ENV_DISK_BUDGET_BYTES,
    indexUrl: env.PIP_INDEX_URL_FOR_JOBS,
    logger,
  });
  const bus = await connectBus({ servers: env.NATS_URL, name: SERVICE, logger, streamReplicas: env.NATS_STREAM_REPLICAS });
  const service = createInference({
    bus,
    mlflow,
    pyenv,
    logger,
    metrics,
    config: {
      dataDir: join(dataDir, "inference"),
      maxBatchRows: env.INFERENCE_MAX_BATCH_ROWS,
      maxWaitMs: env.INFERENCE_MAX_WAIT_MS,
      memoryBudgetBytes: env.INFERENCE_MEMORY_BUDGET_BYTES,
      loadBackoffMs: env.INFERENCE_LOAD_BACKOFF_MS,
      loadWaitMs: env.INFERENCE_LOAD_WAIT_MS,
      predictTimeoutMs: env.INFERENCE_PREDICT_TIMEOUT_MS,
      warmOnRegister: env.INFERENCE_WARM_ON_REGISTER,
      reuseEnvs: env.INFERENCE_REUSE_ENVS,
      ...(env.INFERENCE_INSTANCE_ID ? { instanceId: env.INFERENCE_INSTANCE_ID } : {}),
    },
  });
  await service.start();
  const metricsServer = await serveMetrics(metrics, { port: env.METRICS_PORT, host: env.METRICS_HOST });
  logger.info({ mlflow: serverVersion, metricsPort: metricsServer.port }, "inference ready");
  onShutdown(logger, async () => {
    await service.stop();
    await metricsServer.close();
    await bus.close();
    await mlflow.close();
  });
}

main().catch(exitOnConfigError).catch((err: unknown) => {
  process.stderr.write(`inference: failed to start: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
