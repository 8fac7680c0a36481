import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { connectBus } from "@asgard/bus";
import { CONSUMERS, resourceMaximaFrom } from "@asgard/contracts";
import { ConfigError, exitIfConfigCheck, mlflowAdminFrom, parseEnv, startService } from "@asgard/config";
import { ensureUv, run } from "@asgard/tools";
import { createMlflowClient } from "@asgard/mlflow";
import { constraintsFromSetting, createPyEnvManager, excludesFromSetting, sandboxedSourceBuilds, sourceBuildLimits, sourceBuildsRefusal } from "@asgard/pyenv";
import { checkSandbox } from "@asgard/sandbox";
import { createLogger, createMetricsRegistry, onShutdown, retryUntilReady, serveMetrics } from "@asgard/telemetry";
import { RunnerEnv } from "./env.js";
import { runnerIsolation } from "./job-limits.js";
import { createRunner } from "./runner.js";
import { tenantUsers } from "./tenant-users.js";

const SERVICE = "python-runner";
/** One sandboxed uv command of an environment build at most; the scheduler's build deadline (30 min by default) ends the job anyway. */
const SOURCE_BUILD_TIMEOUT_MS = 30 * 60_000;

async function main(): Promise<void> {
  const env = parseEnv(SERVICE, RunnerEnv);
  const mlflowAdmin = mlflowAdminFrom(SERVICE, env);
  if (mlflowAdmin !== undefined && env.MLFLOW_TENANT_SECRET === undefined) {
    throw new ConfigError(SERVICE, [
      { variable: "MLFLOW_TENANT_SECRET", expected: "at least 32 characters, required with MLFLOW_TRACKING_USERNAME (got null)" },
    ]);
  }
  exitIfConfigCheck(SERVICE);
  const logger = createLogger(SERVICE, env.LOG_LEVEL).child({ runner_id: env.RUNNER_ID });
  const metrics = createMetricsRegistry(SERVICE);

  // Fail closed: a runner that cannot build the sandbox it is configured for takes no jobs.
  const sandbox = env.RUNNER_SANDBOX === "bwrap" ? await checkSandbox() : null;
  if (sandbox !== null && !sandbox.available) {
    process.stderr.write(
      `${SERVICE}: cannot sandbox scripts: ${sandbox.reason}. Install bubblewrap (apt-get install bubblewrap), ` +
        "or set RUNNER_SANDBOX=process-group to run scripts without a PID namespace.\n",
    );
    process.exit(2);
  }
  const buildsRefused = env.ENV_SOURCE_BUILDS === "sandbox" ? sourceBuildsRefusal({ sandbox, sandboxSetting: "RUNNER_SANDBOX" }) : null;
  if (buildsRefused !== null) {
    process.stderr.write(`${SERVICE}: ${buildsRefused}.\n`);
    process.exit(2);
  }
  if (env.RUNNER_JOB_INTERNET && sandbox !== null && !sandbox.internet.available) {
    process.stderr.write(
      `${SERVICE}: RUNNER_JOB_INTERNET=true but sandboxes cannot get internet here: ${sandbox.internet.reason}. ` +
        "Install slirp4netns and give the runner /dev/net/tun, or set RUNNER_JOB_INTERNET=false.\n",
    );
    process.exit(2);
  }
  const isolation = runnerIsolation(env.RUNNER_SANDBOX, sandbox, env.RUNNER_JOB_INTERNET);
  const uvPath = await ensureUv();
  const basePythonPrefix = (
    await run(env.ASGARD_PYTHON, ["-c", "import os, sys; print(os.path.realpath(sys.base_prefix))"])
  ).stdout.trim();

  const mlflow = createMlflowClient({ baseUrl: env.MLFLOW_TRACKING_URI, auth: mlflowAdmin });
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
    sourceBuilds:
      env.ENV_SOURCE_BUILDS === "sandbox"
        ? sandboxedSourceBuilds({
            uid: env.RUNNER_SANDBOX_UID,
            gid: env.RUNNER_SANDBOX_GID,
            timeoutMs: SOURCE_BUILD_TIMEOUT_MS,
            limits: sourceBuildLimits(resourceMaximaFrom(env)),
          })
        : null,
    logger,
  });

  const bus = await connectBus({
    servers: env.NATS_URL,
    user: env.NATS_USER,
    pass: env.NATS_PASSWORD,
    name: `${SERVICE}-${env.RUNNER_ID}`,
    logger,
    streamReplicas: env.NATS_STREAM_REPLICAS,
  });
  const runner = createRunner({
    bus,
    mlflow,
    ...(mlflowAdmin && env.MLFLOW_TENANT_SECRET ? { tenantUsers: tenantUsers(mlflow, env.MLFLOW_TENANT_SECRET) } : {}),
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
      internet: env.RUNNER_JOB_INTERNET,
      isolation,
      basePythonPrefix,
      platformPythonPath: fileURLToPath(new URL("./python", import.meta.url)),
      killGraceMs: env.RUNNER_KILL_GRACE_MS,
      heartbeatMs: env.RUNNER_HEARTBEAT_MS,
      shutdownGraceMs: env.RUNNER_SHUTDOWN_GRACE_MS,
      workingMs: Math.floor(CONSUMERS.runners.ackWaitMs / 3),
      // maxBytes bounds a batch; 1 000 lines (one INSERT at the scheduler) lets a burst of a few hundred short lines go as one.
      logBatch: { maxLines: 1_000, maxBytes: 256 * 1024, minIntervalMs: 10, storedWaitMs: 200, unstoredBatches: 2, burstWaitMs: 5, bufferBytes: env.RUNNER_LOG_BUFFER_BYTES },
      logRate: { bytesPerSecond: env.RUNNER_LOG_RATE_BYTES_PER_SECOND, burstBytes: env.RUNNER_LOG_BURST_BYTES },
    },
  });
  await runner.start();
  const metricsServer = await serveMetrics(metrics, { port: env.METRICS_PORT, host: env.METRICS_HOST });
  logger.info({ mlflow: serverVersion, metricsPort: metricsServer.port, isolation }, "python-runner ready");
  onShutdown(logger, async () => {
    await runner.stop();
    await metricsServer.close();
    await bus.close();
    await mlflow.close();
  }, env.RUNNER_SHUTDOWN_GRACE_MS + 30_000);
}

startService(SERVICE, main);
