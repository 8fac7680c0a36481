import { join, resolve } from "node:path";
import { connectBus } from "@asgard/bus";
import { exitIfConfigCheck, mlflowAdminFrom, parseEnv, startService } from "@asgard/config";
import { ensureUv } from "@asgard/tools";
import { createMlflowClient } from "@asgard/mlflow";
import { constraintsFromSetting, createPyEnvManager, excludesFromSetting, sandboxedSourceBuilds, sourceBuildLimits, sourceBuildsRefusal } from "@asgard/pyenv";
import { resourceMaximaFrom } from "@asgard/contracts";
import { checkSandbox } from "@asgard/sandbox";
import { createLogger, createMetricsRegistry, onShutdown, retryUntilReady, serveMetrics } from "@asgard/telemetry";
import { InferenceEnv } from "./env.js";
import { DEFAULT_WORKER_LIMITS } from "./config.js";
import { createInference } from "./inference.js";

const SERVICE = "inference";

async function main(): Promise<void> {
  const env = parseEnv(SERVICE, InferenceEnv);
  const mlflowAdmin = mlflowAdminFrom(SERVICE, env);
  exitIfConfigCheck(SERVICE);
  const logger = createLogger(SERVICE, env.LOG_LEVEL);
  const metrics = createMetricsRegistry(SERVICE);
  // As the runner does: a service that would fail every source build does not start.
  if (env.ENV_SOURCE_BUILDS === "sandbox") {
    const refused = sourceBuildsRefusal({ sandbox: env.INFERENCE_SANDBOX === "bwrap" ? await checkSandbox() : null, sandboxSetting: "INFERENCE_SANDBOX" });
    if (refused !== null) {
      process.stderr.write(`${SERVICE}: ${refused}.\n`);
      process.exit(2);
    }
  }
  // Builds run as the model workers do: one identity for everything sandboxed here.
  const sandboxId = { uid: env.INFERENCE_SANDBOX_UID, gid: env.INFERENCE_SANDBOX_GID };
  const mlflow = createMlflowClient({ baseUrl: env.MLFLOW_TRACKING_URI, auth: mlflowAdmin });
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
    // As the runners build them: in the sandbox, as nobody, never on the host.
    sourceBuilds: env.ENV_SOURCE_BUILDS === "sandbox" ? sandboxedSourceBuilds({ ...sandboxId, timeoutMs: 30 * 60_000, limits: sourceBuildLimits(resourceMaximaFrom(env)) }) : null,
    logger,
  });
  const bus = await connectBus({ servers: env.NATS_URL, user: env.NATS_USER, pass: env.NATS_PASSWORD, name: SERVICE, logger, streamReplicas: env.NATS_STREAM_REPLICAS });
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
      compile: env.INFERENCE_COMPILE,
      sandbox: {
        mode: env.INFERENCE_SANDBOX,
        ...sandboxId,
        limits: { ...DEFAULT_WORKER_LIMITS, memoryBytes: env.INFERENCE_WORKER_MEMORY_BYTES },
      },
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

startService("inference", main);
