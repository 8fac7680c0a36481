import { rm } from "node:fs/promises";
import type { Bus, ConsumedMessage } from "@asgard/bus";
import type { MlflowClient } from "@asgard/mlflow";
import type { EnvLease, PyEnvManager } from "@asgard/pyenv";
import { traceFields, traceHeaders, type Logger, type TraceContext } from "@asgard/telemetry";
import { SIGNALS, jobLogStoredSubject } from "@asgard/contracts";
import {
  announceScript,
  createAttemptRun,
  findOutput,
  finalizeRun,
  openWorkspace,
  prepareEnvironment,
  prepareWorkspace,
  runTheScript,
  type AttemptContext,
  type AttemptRun,
  type Granted,
  type LoggedModel,
} from "./attempt-steps.js";
import type { RunnerConfig } from "./config.js";
import { HANDOVER, type HeldJob } from "./held-jobs.js";
import { LogBatcher } from "./log-batcher.js";
import type { RunnerMetrics } from "./metrics.js";
import { runnerFailed, succeeded, type Outcome } from "./outcome.js";
import { schedulerProgress } from "./progress.js";
import type { TenantUsers } from "./tenant-users.js";
import { publishOutcome } from "./publish-outcome.js";

export interface AttemptDeps {
  bus: Bus;
  mlflow: MlflowClient;
  pyenv: Pick<PyEnvManager, "acquire">;
  logger: Logger;
  config: RunnerConfig;
  metrics: RunnerMetrics;
  /** The tenants' MLflow users, on a server with basic auth; null without auth. */
  tenantUsers: TenantUsers | null;
}

/** What the attempt holds so far; released in `release` whatever happened. */
interface Acquired {
  lease: EnvLease | null;
  run: AttemptRun | null;
  workDir: string | null;
}

/** How the steps ended. */
interface Ended {
  outcome: Outcome;
  loggedModel: LoggedModel | null;
}

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
  const headers = traceHeaders(trace);
  const logs = new LogBatcher(deps.bus, { jobId: claim.job_id, attempt: claim.attempt, tenant: claim.tenant }, deps.config.logBatch, deps.config.logRate, headers);
  // Every call about the job's run goes to its tenant's workspace.
  const tracking = deps.mlflow.inWorkspace(claim.tenant);
  const ctx = attemptContext(deps, claim, held, trace, logs);
  // Nothing between here and the try below can throw: the subscription is always stopped there.
  const storedSignals = followStored(deps, claim, logs);
  const startedAt = Date.now();
  // Until the outcome is stored the message stays ours, also while run.completed waits out a
  // NATS outage: a redelivery meanwhile would run the job again for nothing.
  const keepAlive = setInterval(() => msg.working(), deps.config.workingMs);
  try {
    const acquired: Acquired = { lease: null, run: null, workDir: null };
    let ended: Ended;
    try {
      ended = await steps(ctx, deps, tracking, acquired);
    } catch (err) {
      ctx.log.error({ err }, "attempt failed inside the runner");
      ended = { outcome: runnerFailed(err), loggedModel: null };
    }
    await release(ctx, tracking, acquired, ended.outcome);

    if (held.cancelReason === HANDOVER) {
      // Not an outcome: another replica takes the job over as the next attempt.
      ctx.log.info("the runner is shutting down; the attempt is handed back to the queue");
      logs.system(`[asgard] runner ${deps.config.runnerId} is shutting down; attempt ${claim.attempt} is handed back to the queue`);
      await logs.close();
      msg.nak(0);
      return;
    }
    await publishOutcome(deps, ctx, msg, logs, {
      ...ended.outcome,
      stale: ctx.progress.stale,
      run: acquired.run,
      loggedModel: ended.loggedModel,
      durationSeconds: (Date.now() - startedAt) / 1000,
    });
  } finally {
    clearInterval(keepAlive);
    await storedSignals?.stop();
  }
}

/** Tells the batcher which of its batches the scheduler stored, so it sends on at once. */
function followStored(deps: AttemptDeps, claim: Granted, logs: LogBatcher): { stop(): Promise<void> } | null {
  try {
    const onStored = (s: { attempt: number; batch?: number | undefined }) => {
      if (s.batch !== undefined) logs.stored(s.attempt, s.batch);
    };
    return deps.bus.subscribeSignal(SIGNALS.jobLogStored, onStored, { subject: jobLogStoredSubject(claim.job_id) });
  } catch (err) {
    // Without the signals each batch waits storedWaitMs: slower, never wrong.
    deps.logger.warn({ err, job_id: claim.job_id }, "log batches go without the scheduler's stored signals");
    return null;
  }
}

function attemptContext(deps: AttemptDeps, claim: Granted, held: HeldJob, trace: TraceContext, logs: LogBatcher): AttemptContext {
  const headers = traceHeaders(trace);
  const log = deps.logger.child({ job_id: claim.job_id, attempt: claim.attempt, model: claim.model_name, ...traceFields(trace) });
  return {
    claim,
    held,
    trace,
    headers,
    log,
    logs,
    config: deps.config,
    metrics: deps.metrics,
    progress: schedulerProgress(deps.bus, held, { runnerId: deps.config.runnerId, headers, logger: log }),
  };
}

/** The sequence of steps; each result it acquires is recorded in `acquired` before the next step. */
async function steps(ctx: AttemptContext, deps: AttemptDeps, tracking: MlflowClient, acquired: Acquired): Promise<Ended> {
  const ending = (outcome: Outcome): Ended => ({ outcome, loggedModel: null });
  ctx.log.info({ runner_id: deps.config.runnerId }, "attempt started");
  ctx.logs.system(`[asgard] attempt ${ctx.claim.attempt} of job ${ctx.claim.job_id} on runner ${deps.config.runnerId}`);
  await ctx.progress.report("building_env");

  const env = await prepareEnvironment(ctx, deps.pyenv);
  if (!env.ok) return ending(env.outcome);
  acquired.lease = env.value;

  const workspace = await openWorkspace(ctx, deps.mlflow, deps.tenantUsers);
  if (!workspace.ok) return ending(workspace.outcome);

  const run = await createAttemptRun(ctx, tracking);
  if (!run.ok) return ending(run.outcome);
  acquired.run = run.value;
  ctx.log = ctx.log.child({ run_id: run.value.runId });

  const go = await announceScript(ctx, env.value, run.value);
  if (!go.ok) return ending(go.outcome);

  const ws = await prepareWorkspace(ctx);
  acquired.workDir = ws.dir;
  const outcome = await runTheScript(ctx, env.value, run.value, ws, workspace.value);
  if (outcome.outcome !== succeeded.outcome) return ending(outcome);
  return { outcome, loggedModel: await findOutput(ctx, tracking, run.value) };
}

/** Gives back what the attempt acquired: the env lease, the work folder, the run's final status. */
async function release(ctx: AttemptContext, tracking: MlflowClient, acquired: Acquired, outcome: Outcome): Promise<void> {
  await acquired.lease?.release().catch(() => undefined);
  if (acquired.workDir) await rm(acquired.workDir, { recursive: true, force: true }).catch(() => undefined);
  if (acquired.run) await finalizeRun(ctx, tracking, acquired.run, outcome);
}
