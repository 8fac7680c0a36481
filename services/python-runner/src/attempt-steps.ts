import { chown, mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DEFAULT_TENANT, defaultJobResources, type ClaimResponse, type JobLog } from "@asgard/contracts";
import type { BasicCredentials, MlflowClient } from "@asgard/mlflow";
import { envScope, PyEnvError, type EnvLease, type PyEnvManager } from "@asgard/pyenv";
import { runScript } from "@asgard/sandbox";
import { safeJoin } from "@asgard/tools";
import type { Logger, TraceContext } from "@asgard/telemetry";
import { classifyExit } from "./classify.js";
import type { RunnerConfig } from "./config.js";
import type { HeldJob } from "./held-jobs.js";
import { buildJobEnvironment } from "./job-environment.js";
import { describeResources, sandboxLimits } from "./job-limits.js";
import { findLoggedModel } from "./logged-model.js";
import type { RunnerMetrics } from "./metrics.js";
import { cancelledOutcome, envBuildFailed, mlflowFailed, mlflowRunStatus, type Outcome } from "./outcome.js";
import type { ProgressReporter } from "./progress.js";
import { retryWithin } from "./retry.js";
import type { TenantUsers } from "./tenant-users.js";

/*
 * The steps of one attempt, in order: prepare the environment → open the tenant's MLflow
 * workspace → create the MLflow run →
 * announce the script → prepare the work folder → run the script → find what it logged →
 * finalize the run. `runAttempt` strings them together; each takes what the earlier ones
 * produced and either hands on its own result or ends the attempt with an outcome.
 */

export type Granted = Extract<ClaimResponse, { granted: true }>;

/** A step either produces its value or ends the attempt. */
export type Step<T> = { ok: true; value: T } | { ok: false; outcome: Outcome };

/** Where an attempt's output lines go (the job's `job.log` batches). */
export interface LogSink {
  line(stream: JobLog["lines"][number]["stream"], text: string): void;
  system(text: string): void;
}

/** What every step of one attempt may read. */
export interface AttemptContext {
  claim: Granted;
  held: HeldJob;
  trace: TraceContext;
  /** The trace as message headers (and as the script's TRACEPARENT). */
  headers: Record<string, string>;
  logs: LogSink;
  log: Logger;
  config: RunnerConfig;
  metrics: RunnerMetrics;
  progress: ProgressReporter;
}

/** The MLflow run created for this attempt. */
export interface AttemptRun {
  runId: string;
  experimentId: string;
}

/** The fresh folder the script runs in. */
export interface Workspace {
  dir: string;
  scriptPath: string;
}

export interface LoggedModel {
  id: string;
  uri: string;
}

type Mlflow = Pick<MlflowClient, "getOrCreateExperiment" | "createRun" | "updateRun" | "searchLoggedModels">;

const STDERR_TAIL = 40;
/** How long each MLflow call of the runner is retried before the attempt gives up on it. */
const MLFLOW_RETRY_MS = 10_000;

const next = <T>(value: T): Step<T> => ({ ok: true, value });
const end = (outcome: Outcome): Step<never> => ({ ok: false, outcome });

/** 1. The environment, cached by request and by lock; user variables never reach it. */
export async function prepareEnvironment(ctx: AttemptContext, pyenv: Pick<PyEnvManager, "acquire">): Promise<Step<EnvLease>> {
  const { claim, logs, metrics } = ctx;
  const reqs = claim.requirements.length > 0 ? claim.requirements.join(" ") : "(none)";
  logs.system(`[asgard] preparing the Python environment; requirements: ${reqs}`);
  const started = Date.now();
  let lease: EnvLease;
  try {
    lease = await pyenv.acquire(claim.requirements, { onLog: (line) => logs.system(line), signal: ctx.held.abort.signal, scope: envScope(claim.tenant) });
  } catch (err) {
    metrics.envBuilds.inc({ result: "failed" });
    if (err instanceof PyEnvError && err.code === "CANCELLED") return end(cancelledOutcome("cancelled while the environment was built"));
    const output = err instanceof PyEnvError ? err.output : "";
    for (const line of output.split("\n").filter(Boolean)) logs.line("stderr", line);
    return end(envBuildFailed(err));
  }
  const seconds = (Date.now() - started) / 1000;
  metrics.envCache.inc({ result: lease.envHit ? "hit" : "miss" });
  if (!lease.envHit) metrics.envBuildSeconds.observe(seconds);
  logs.system(
    `[asgard] environment ${lease.envKey.slice(0, 12)} ${lease.envHit ? "reused from the cache" : "built"}` +
      `${lease.lockHit ? "" : " (requirements resolved)"} in ${seconds.toFixed(1)} s`,
  );
  return next(lease);
}

/**
 * 2. The job's tenant's MLflow workspace exists before anything is made in it (creating it is
 * idempotent; `default` always exists). Everything the attempt and its script do in MLflow
 * happens in that workspace, so names in scripts never carry a tenant. On a server with
 * basic auth (`users` given) the tenant's MLflow user is made ready too: its credentials are
 * what the script's calls carry, so MLflow itself keeps the script inside the workspace.
 */
export async function openWorkspace(
  ctx: AttemptContext,
  mlflow: Pick<MlflowClient, "ensureWorkspace">,
  users: TenantUsers | null,
  retryMs = MLFLOW_RETRY_MS,
): Promise<Step<BasicCredentials | null>> {
  const { tenant } = ctx.claim;
  const retry = { logger: ctx.log, withinMs: retryMs, signal: ctx.held.abort.signal };
  try {
    if (tenant !== DEFAULT_TENANT) await retryWithin("MLflow workspace", () => mlflow.ensureWorkspace(tenant), retry);
    return next(users === null ? null : await retryWithin("MLflow tenant user", () => users.ready(tenant), retry));
  } catch (err) {
    if (ctx.held.abort.signal.aborted) return end(cancelledOutcome("cancelled"));
    return end(mlflowFailed(err));
  }
}

/**
 * 3. The MLflow run of this attempt (in the tenant's workspace: `mlflow` is bound to it), handed
 * to the script; the previous attempt's run ends KILLED.
 */
export async function createAttemptRun(ctx: AttemptContext, mlflow: Mlflow, retryMs = MLFLOW_RETRY_MS): Promise<Step<AttemptRun>> {
  const { claim, trace, log } = ctx;
  const call = <T>(what: string, work: () => Promise<T>) =>
    retryWithin(what, work, { logger: log, withinMs: retryMs, signal: ctx.held.abort.signal });
  let run: AttemptRun;
  try {
    const experiment = await call("MLflow experiment", () => mlflow.getOrCreateExperiment(claim.experiment_name));
    const previous = claim.previous_run_id;
    if (previous) {
      await mlflow
        .updateRun(previous, { status: "KILLED", endTime: Date.now() })
        .catch((err: unknown) => log.warn({ err, run_id: previous }, "could not end the previous attempt's run"));
    }
    const created = await call("MLflow run", () =>
      mlflow.createRun({
        experimentId: experiment.experiment_id,
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
      }),
    );
    run = { runId: created.info.run_id, experimentId: experiment.experiment_id };
  } catch (err) {
    if (ctx.held.abort.signal.aborted) return end(cancelledOutcome("cancelled"));
    return end(mlflowFailed(err));
  }
  const where = claim.tenant === DEFAULT_TENANT ? "" : ` of workspace ${claim.tenant}`;
  ctx.logs.system(`[asgard] MLflow run ${run.runId} in experiment ${claim.experiment_name} (${run.experimentId})${where}`);
  return next(run);
}

/**
 * 4. Tells the scheduler the script starts (its timeout counts from here). Ends the attempt
 * when a newer attempt owns the job (no outcome: `stale`) or a cancel came in meanwhile.
 */
export async function announceScript(ctx: AttemptContext, lease: EnvLease, run: AttemptRun): Promise<Step<null>> {
  await ctx.progress.report("running", {
    run_id: run.runId,
    experiment_id: run.experimentId,
    env_key: lease.envKey,
    env_cache_hit: lease.envHit,
  });
  if (ctx.progress.stale) return end(cancelledOutcome("a newer attempt owns the job"));
  if (ctx.held.abort.signal.aborted) return end(cancelledOutcome("cancelled"));
  return next(null);
}

/** 5. A fresh folder holding the script, owned by the sandbox's user. */
export async function prepareWorkspace(ctx: AttemptContext): Promise<Workspace> {
  const { claim, config } = ctx;
  await mkdir(config.workRoot, { recursive: true });
  const dir = await mkdtemp(join(config.workRoot, `${claim.job_id}-${claim.attempt}-`));
  // The name was checked as a bare file name on receipt; the join holds even if it were not.
  const scriptPath = safeJoin(dir, claim.script_name);
  await writeFile(scriptPath, Buffer.from(claim.script_b64, "base64"), { mode: 0o644 });
  if (config.sandboxMode === "bwrap" || process.getuid?.() === 0) {
    // Best effort: without root the files stay ours, and the sandbox maps the ids itself.
    await chown(dir, config.sandboxUid, config.sandboxGid).catch(() => undefined);
    await chown(scriptPath, config.sandboxUid, config.sandboxGid).catch(() => undefined);
  }
  return { dir, scriptPath };
}

/** 6. The script, sandboxed, with an allow-listed environment; resolves with how it ended. */
export async function runTheScript(
  ctx: AttemptContext,
  lease: EnvLease,
  run: AttemptRun,
  ws: Workspace,
  credentials: BasicCredentials | null,
): Promise<Outcome> {
  const { claim, config, logs, metrics } = ctx;
  const stderrTail: string[] = [];
  // A claim from a scheduler that predates per-job limits, or for a job stored before them, has none.
  const resources = claim.resources ?? defaultJobResources();
  logs.system(`[asgard] running ${claim.script_name} (timeout ${claim.timeout_seconds} s, ${describeResources(resources)})`);
  const running = runScript({
    command: lease.python,
    args: ["-u", ws.scriptPath],
    cwd: ws.dir,
    env: buildJobEnvironment({
      trackingUri: config.trackingUri,
      experimentName: claim.experiment_name,
      experimentId: run.experimentId,
      runId: run.runId,
      modelName: claim.model_name,
      workspace: claim.tenant,
      userVariables: claim.environment_vars,
      envBinDir: lease.binDir,
      workDir: ws.dir,
      platformPythonPath: config.platformPythonPath,
      trace: ctx.headers,
    }),
    readOnlyPaths: [lease.path, config.basePythonPrefix, config.platformPythonPath],
    // The job's network namespace has no route to the host: MLflow is reached through a proxy
    // that pins every call to the job's tenant's workspace, whatever the script sends, and
    // (with auth) carries the tenant's credentials, which the script never sees.
    mlflow: { url: config.trackingUri, workspace: claim.tenant, ...(credentials ? { credentials } : {}) },
    uid: config.sandboxUid,
    gid: config.sandboxGid,
    timeoutMs: claim.timeout_seconds * 1000,
    graceMs: config.killGraceMs,
    signal: ctx.held.abort.signal,
    mode: config.sandboxMode,
    internet: config.internet,
    limits: sandboxLimits(resources),
    onLine: (stream, line) => {
      logs.line(stream, line);
      metrics.logLines.inc({ stream });
      if (stream === "stderr") {
        stderrTail.push(line);
        if (stderrTail.length > STDERR_TAIL) stderrTail.shift();
      }
    },
  });
  const outcome = classifyExit(await running.done, claim.timeout_seconds, stderrTail, resources);
  logs.system(`[asgard] script ended: ${outcome.outcome}${outcome.exit_code !== null ? ` (exit code ${outcome.exit_code})` : ""}`);
  return outcome;
}

/** 7. The LoggedModel a succeeded run produced, if any; a lookup failure only costs the registration. */
export async function findOutput(ctx: AttemptContext, mlflow: Mlflow, run: AttemptRun): Promise<LoggedModel | null> {
  const model = await retryWithin("logged model lookup", () => findLoggedModel(mlflow, run.experimentId, run.runId), {
    logger: ctx.log,
    withinMs: MLFLOW_RETRY_MS,
  }).catch((err: unknown) => {
    ctx.log.warn({ err }, "could not look up the run's logged model");
    return null;
  });
  ctx.logs.system(model ? `[asgard] the run logged model ${model.uri}` : "[asgard] the run logged no model");
  return model;
}

/** 8. The MLflow run's final status; a failure is logged, the outcome stands. */
export async function finalizeRun(ctx: AttemptContext, mlflow: Mlflow, run: AttemptRun, outcome: Outcome): Promise<void> {
  const status = mlflowRunStatus(outcome);
  await retryWithin("MLflow run status", () => mlflow.updateRun(run.runId, { status, endTime: Date.now() }), {
    logger: ctx.log,
    withinMs: MLFLOW_RETRY_MS,
  }).catch((err: unknown) => ctx.log.warn({ err }, "could not finalise the MLflow run's status"));
}
