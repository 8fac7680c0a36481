import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { connectBus } from "@asgard/bus";
import { CONSUMERS } from "@asgard/contracts";
import { exitIfConfigCheck, exitOnConfigError, parseEnv } from "@asgard/config";
import { ensureUv, run } from "@asgard/infra";
import { createMlflowClient } from "@asgard/mlflow";
import { constraintsFromSetting, createPyEnvManager, excludesFromSetting } from "@asgard/pyenv";
import { checkSandbox } from "@asgard/sandbox";
import { createLogger, createMetricsRegistry, onShutdown, retryUntilReady, serveMetrics } from "@asgard/telemetry";
import { RunnerEnv } from "./env.js";
import { createRunner } from "./runner.js";

const SERVICE = "python-runner";

async function main(): Promise<void> {
  const env = parseEnv(SERVICE, RunnerEnv);
  exitIfConfigCheck(SERVICE);
  const logger = createLogger(SERVICE, env.LOG_LEVEL).child({ runner_id: env.RUNNER_ID });
  const metrics = createMetricsRegistry(SERVICE);

  if (env.RUNNER_SANDBOX === "bwrap") {
    const sandbox = await checkSandbox();
    if (!sandbox.available) {
      process.stderr.write(
        `${SERVICE}: cannot sandbox scripts: ${sandbox.reason}. Install bubblewrap (apt-get install bubblewrap), ` +
          "or set RUNNER_SANDBOX=process-group to run scripts without a PID namespace.\n",
      );
      process.exit(2);
    }
  }
  const uvPath = await ensureUv();
  const basePythonPrefix = (
    await run(env.ASGARD_PYTHON, ["-c", "import os, sys; print(os.path.realpath(sys.base_prefix))"])
  ).stdout.trim();

  const mlflow = createMlflowClient({ baseUrl: env.MLFLOW_TRACKING_URI });
  // Jobs get the tracking server's own client version (an MLflow 3 client needs an MLflow 3 server).
  const serverVersion = await retryUntilReady("MLflow", () => mlflow.version(), { logger });
  const dataDir = resolve(env.ASGARD_DATA_DIR);
  const pyenv = createPyEnvManager({
    root: env.ENV_CACHE_DIR ?? join(dataDir, "envs"),
    uvPath,
    python: env.ASGARD_PYTHON,
    pins: [`mlflow==${serverVersion}`],
    constraints: await constraintsFromSetting(env.ENV_CONSTRAINTS),
    excludes: excludesFromSetting(env.ENV_EXCLUDE_PACKAGES),
    lockTtlMs: env.ENV_LOCK_TTL_MS,
    diskBudgetBytes: env.ENV_DISK_BUDGET_BYTES,
    indexUrl: env.PIP_INDEX_URL_FOR_JOBS,
    logger,
  });

  const bus = await connectBus({
    servers: env.NATS_URL,
    name: `${SERVICE}-${env.RUNNER_ID}`,
    logger,
    streamReplicas: env.NATS_STREAM_REPLICAS,
  });
  const runner = createRunner({
    bus,
    mlflow,
    pyenv,
    logger,
    metrics,
    config: {
      runnerId: env.RUNNER_ID,
      slots: env.RUNNER_SLOTS,
      trackingUri: env.MLFLOW_TRACKING_URI,
      workRoot: join(dataDir, "work"),
      sandboxMode: env.RUNNER_SANDBOX,
      sandboxUid: env.RUNNER_SANDBOX_UID,
      sandboxGid: env.RUNNER_SANDBOX_GID,
      basePythonPrefix,
      platformPythonPath: fileURLToPath(new URL("./python", import.meta.url)),
      killGraceMs: env.RUNNER_KILL_GRACE_MS,
      heartbeatMs: env.RUNNER_HEARTBEAT_MS,
      shutdownGraceMs: env.RUNNER_SHUTDOWN_GRACE_MS,
      workingMs: Math.floor(CONSUMERS.runners.ackWaitMs / 3),
      logBatch: { maxLines: 200, maxBytes: 256 * 1024, flushMs: 200 },
    },
  });
  await runner.start();
  const metricsServer = await serveMetrics(metrics, { port: env.METRICS_PORT, host: env.METRICS_HOST });
  logger.info({ mlflow: serverVersion, metricsPort: metricsServer.port }, "python-runner ready");
  onShutdown(logger, async () => {
    await runner.stop();
    await metricsServer.close();
    await bus.close();
    await mlflow.close();
  }, env.RUNNER_SHUTDOWN_GRACE_MS + 30_000);
}

main().catch(exitOnConfigError).catch((err: unknown) => {
  process.stderr.write(`${SERVICE}: failed to start: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
