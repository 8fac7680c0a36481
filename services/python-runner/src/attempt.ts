import { chown, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { EVENTS, RPC, type ClaimResponse, type JobPhase, type RunCompleted } from "@asgard/contracts";
import type { Bus, ConsumedMessage } from "@asgard/bus";
import type { MlflowClient } from "@asgard/mlflow";
import { PyEnvError, type EnvLease, type PyEnvManager } from "@asgard/pyenv";
import { runScript, type RunResult } from "@asgard/sandbox";
import { traceFields, traceHeaders, type Logger, type TraceContext } from "@asgard/telemetry";
import { classifyExit } from "./classify.js";
import type { RunnerConfig } from "./config.js";
import { HANDOVER, type HeldJob } from "./held-jobs.js";
import { buildJobEnvironment } from "./job-environment.js";
import { LogBatcher } from "./log-batcher.js";
import { findLoggedModel } from "./logged-model.js";
import type { RunnerMetrics } from "./metrics.js";

export interface AttemptDeps {
  bus: Bus;
  mlflow: MlflowClient;
  pyenv: PyEnvManager;
  logger: Logger;
  config: RunnerConfig;
  metrics: RunnerMetrics;
}

type Granted = Extract<ClaimResponse, { granted: true }>;
type Outcome = Pick<RunCompleted, "outcome" | "error_type" | "error" | "exit_code">;

const STDERR_TAIL = 40;

/**
 * Runs one claimed attempt end to end: environment, MLflow run, sandboxed script, logs,
 * outcome. Whatever happens, it ends with `run.completed` (unless a newer attempt took over)
 * and the message acked. `trace` is this delivery's span of the job's trace: every log line
 * names it, and every message about the job carries it on.
 */
export async function runAttempt(
  deps: AttemptDeps,
  claim: Granted,
  msg: ConsumedMessage<unknown>,
  held: HeldJob,
  trace: TraceContext,
): Promise<void> {
  const { bus, mlflow, pyenv, config, logger } = deps;
  const headers = traceHeaders(trace);
  let log = logger.child({ job_id: claim.job_id, attempt: claim.attempt, model: claim.model_name, ...traceFields(trace) });
  const startedAt = Date.now();
  const logs = new LogBatcher(bus, claim.job_id, claim.attempt, config.logBatch, headers);
  const keepAlive = setInterval(() => msg.working(), config.workingMs);
  let lease: EnvLease | null = null;
  let workDir: string | null = null;
  let runId: string | null = null;
  let experimentId: string | null = null;
  let loggedModel: { id: string; uri: string } | null = null;
  let outcome: Outcome = { outcome: "failed", error_type: "mlflow", error: "the attempt did not start", exit_code: null };
  let stale = false;

  // The scheduler may be restarting: progress reports are retried, and if it stays away the
  // attempt goes on (its run.completed is stored in JetStream and read when it is back).
  const progress = async (phase: JobPhase, extra: Record<string, unknown> = {}) => {
    held.phase = phase;
    const request = { job_id: claim.job_id, attempt: claim.attempt, runner_id: config.runnerId, phase, ...extra };
    let reply: { accepted: boolean; cancel_requested: boolean };
    try {
      reply = await retry(() => bus.request(RPC.reportProgress, request, { headers }), 8);
    } catch (err) {
      log.warn({ err, phase }, "the scheduler did not take the progress report; going on");
      return { accepted: true, cancel_requested: false };
    }
    if (reply.cancel_requested) held.abort.abort(new Error("cancel requested"));
    if (!reply.accepted && !reply.cancel_requested) stale = true;
    return reply;
  };

  const steps = async (): Promise<void> => {
    log.info({ runner_id: config.runnerId }, "attempt started");
    logs.system(`[asgard] attempt ${claim.attempt} of job ${claim.job_id} on runner ${config.runnerId}`);
    await progress("building_env");

    // 1. The environment: cached by request and by lock; user variables never reach it.
    const reqs = claim.requirements.length > 0 ? claim.requirements.join(" ") : "(none)";
    logs.system(`[asgard] preparing the Python environment; requirements: ${reqs}`);
    const buildStarted = Date.now();
    try {
      lease = await pyenv.acquire(claim.requirements, {
        onLog: (line) => logs.system(line),
        signal: held.abort.signal,
      });
    } catch (err) {
      if (err instanceof PyEnvError && err.code === "CANCELLED") {
        outcome = { outcome: "cancelled", error_type: null, error: "cancelled while the environment was built", exit_code: null };
      } else {
        const output = err instanceof PyEnvError ? err.output : "";
        for (const line of output.split("\n").filter(Boolean)) logs.line("stderr", line);
        outcome = {
          outcome: "env_build_failed",
          error_type: "env_build",
          error: `the environment could not be built: ${err instanceof Error ? err.message : String(err)}`,
          exit_code: null,
        };
      }
      deps.metrics.envBuilds.inc({ result: "failed" });
      return;
    }
    deps.metrics.envCache.inc({ result: lease.envHit ? "hit" : "miss" });
    if (!lease.envHit) deps.metrics.envBuildSeconds.observe((Date.now() - buildStarted) / 1000);
    logs.system(
      `[asgard] environment ${lease.envKey.slice(0, 12)} ${lease.envHit ? "reused from the cache" : "built"}` +
        `${lease.lockHit ? "" : " (requirements resolved)"} in ${((Date.now() - buildStarted) / 1000).toFixed(1)} s`,
    );

    // 2. The MLflow run of this attempt, handed to the script.
    try {
      const experiment = await mlflow.getOrCreateExperiment(claim.experiment_name);
      experimentId = experiment.experiment_id;
      if (claim.previous_run_id) {
        await mlflow
          .updateRun(claim.previous_run_id, { status: "KILLED", endTime: Date.now() })
          .catch((err: unknown) => log.warn({ err, run_id: claim.previous_run_id }, "could not end the previous attempt's run"));
      }
      const run = await mlflow.createRun({
        experimentId,
        runName: `${claim.script_name.replace(/\.py$/, "")}-${claim.job_id.slice(0, 8)}-${claim.attempt}`,
        tags: {
          ...claim.tags,
          "asgard.job_id": claim.job_id,
          "asgard.attempt": String(claim.attempt),
          // From the run to the job's logs in every service, which carry the same trace id.
          "asgard.trace_id": trace.traceId,
          "mlflow.source.name": claim.script_name,
          "mlflow.source.type": "JOB",
        },
      });
      runId = run.info.run_id;
      log = log.child({ run_id: runId });
    } catch (err) {
      outcome = {
        outcome: "failed",
        error_type: "mlflow",
        error: `MLflow could not create the job's run: ${err instanceof Error ? err.message : String(err)}`,
        exit_code: null,
      };
      return;
    }
    logs.system(`[asgard] MLflow run ${runId} in experiment ${claim.experiment_name} (${experimentId})`);
    await progress("running", {
      run_id: runId,
      experiment_id: experimentId,
      env_key: lease.envKey,
      env_cache_hit: lease.envHit,
    });
    if (stale) return;
    if (held.abort.signal.aborted) {
      outcome = { outcome: "cancelled", error_type: null, error: "cancelled", exit_code: null };
      return;
    }

    // 3. The script, in a fresh directory, sandboxed, with an allow-listed environment.
    await mkdir(config.workRoot, { recursive: true });
    workDir = await mkdtemp(join(config.workRoot, `${claim.job_id}-${claim.attempt}-`));
    const scriptPath = join(workDir, claim.script_name);
    await writeFile(scriptPath, Buffer.from(claim.script_b64, "base64"), { mode: 0o644 });
    if (config.sandboxMode === "bwrap" || process.getuid?.() === 0) {
      await chown(workDir, config.sandboxUid, config.sandboxGid).catch(() => undefined);
      await chown(scriptPath, config.sandboxUid, config.sandboxGid).catch(() => undefined);
    }
    const stderrTail: string[] = [];
    logs.system(`[asgard] running ${claim.script_name} (timeout ${claim.timeout_seconds} s)`);
    const running = runScript({
      command: lease.python,
      args: ["-u", scriptPath],
      cwd: workDir,
      env: buildJobEnvironment({
        trackingUri: config.trackingUri,
        experimentName: claim.experiment_name,
        experimentId,
        runId,
        modelName: claim.model_name,
        userVariables: claim.environment_vars,
        envBinDir: lease.binDir,
        workDir,
        platformPythonPath: config.platformPythonPath,
        trace: headers,
      }),
      readOnlyPaths: [lease.path, config.basePythonPrefix, config.platformPythonPath],
      uid: config.sandboxUid,
      gid: config.sandboxGid,
      timeoutMs: claim.timeout_seconds * 1000,
      graceMs: config.killGraceMs,
      signal: held.abort.signal,
      mode: config.sandboxMode,
      onLine: (stream, line) => {
        logs.line(stream, line);
        deps.metrics.logLines.inc({ stream });
        if (stream === "stderr") {
          stderrTail.push(line);
          if (stderrTail.length > STDERR_TAIL) stderrTail.shift();
        }
      },
    });
    const result: RunResult = await running.done;
    outcome = classifyExit(result, claim.timeout_seconds, stderrTail);
    logs.system(`[asgard] script ended: ${outcome.outcome}${outcome.exit_code !== null ? ` (exit code ${outcome.exit_code})` : ""}`);

    // 4. What the run produced.
    if (outcome.outcome === "succeeded") {
      loggedModel = await retry(() => findLoggedModel(mlflow, experimentId!, runId!)).catch((err: unknown) => {
        log.warn({ err }, "could not look up the run's logged model");
        return null;
      });
      logs.system(loggedModel ? `[asgard] the run logged model ${loggedModel.uri}` : "[asgard] the run logged no model");
    }
  };

  try {
    await steps();
  } catch (err) {
    log.error({ err }, "attempt failed inside the runner");
    outcome = {
      outcome: "failed",
      error_type: "mlflow",
      error: `the runner could not complete the attempt: ${err instanceof Error ? err.message : String(err)}`,
      exit_code: null,
    };
  } finally {
    clearInterval(keepAlive);
    // Assigned inside `steps`; TypeScript cannot see that through the closure.
    await (lease as EnvLease | null)?.release().catch(() => undefined);
    if (workDir) await rm(workDir, { recursive: true, force: true }).catch(() => undefined);
    if (runId) {
      const status = outcome.outcome === "succeeded" ? "FINISHED" : outcome.outcome === "failed" ? "FAILED" : "KILLED";
      await retry(() => mlflow.updateRun(runId!, { status, endTime: Date.now() })).catch((err: unknown) =>
        log.warn({ err }, "could not finalise the MLflow run's status"),
      );
    }
  }
  if (held.cancelReason === HANDOVER) {
    // Not an outcome: another replica takes the job over as the next attempt.
    log.info("the runner is shutting down; the attempt is handed back to the queue");
    logs.system(`[asgard] runner ${config.runnerId} is shutting down; attempt ${claim.attempt} is handed back to the queue`);
    await logs.close();
    msg.nak(0);
    return;
  }
  await finish(deps, claim, msg, logs, log, headers, {
    ...outcome,
    stale,
    runId,
    experimentId,
    loggedModel,
    durationSeconds: (Date.now() - startedAt) / 1000,
  });
}

async function finish(
  deps: AttemptDeps,
  claim: Granted,
  msg: ConsumedMessage<unknown>,
  logs: LogBatcher,
  log: Logger,
  headers: Record<string, string>,
  r: Outcome & {
    stale: boolean;
    runId: string | null;
    experimentId: string | null;
    loggedModel: { id: string; uri: string } | null;
    durationSeconds: number;
  },
): Promise<void> {
  if (r.error && r.outcome !== "succeeded") logs.system(`[asgard] ${r.error}`);
  const { lastBatch, lastSeq } = await logs.close();
  if (r.stale) {
    // A newer attempt owns the job: our events would be dropped anyway.
    log.info("a newer attempt owns the job; not reporting this one");
    await msg.ack();
    return;
  }
  const event: RunCompleted = {
    event_id: `${claim.job_id}-${claim.attempt}-completed`,
    schema_version: EVENTS.runCompleted.schemaVersion,
    occurred_at: new Date().toISOString(),
    job_id: claim.job_id,
    attempt: claim.attempt,
    runner_id: deps.config.runnerId,
    outcome: r.outcome,
    error_type: r.error_type,
    error: r.error,
    exit_code: r.exit_code,
    run_id: r.runId,
    experiment_id: r.experimentId,
    model_name: claim.model_name,
    logged_model_id: r.loggedModel?.id ?? null,
    logged_model_uri: r.loggedModel?.uri ?? null,
    duration_seconds: Math.round(r.durationSeconds * 1000) / 1000,
    last_log_seq: lastSeq,
    last_log_batch: lastBatch,
  };
  // Until run.completed is stored, the message stays ours: a failure here naks it and a later
  // delivery re-runs the job as a new attempt rather than losing its outcome.
  await retry(() => deps.bus.publish(EVENTS.runCompleted, event, { msgId: event.event_id, headers }), 8);
  log.info(
    { outcome: r.outcome, error_type: r.error_type, exit_code: r.exit_code, logged_model_id: event.logged_model_id, duration_seconds: event.duration_seconds },
    "attempt finished",
  );
  deps.metrics.jobs.inc({ outcome: r.outcome });
  deps.metrics.jobSeconds.observe(r.durationSeconds);
  await msg.ack();
}

async function retry<T>(work: () => Promise<T>, tries = 4): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await work();
    } catch (err) {
      if (i + 1 >= tries) throw err;
      await sleep(Math.min(5_000, 250 * 2 ** i));
    }
  }
}
