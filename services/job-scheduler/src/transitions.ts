import type { JobRow, SchedulerTrx } from "./db/schema.js";
import { updateJob, withLockedJob, type JobPatch } from "./db/jobs.js";
import { appendLines, type NewLogLine } from "./db/logs.js";
import {
  afterFault,
  deadlineOf,
  MAX_ATTEMPTS,
  outcomeTransition,
  registrationFinish,
  type AttemptFault,
  type AttemptOutcome,
  type Finish,
} from "./domain/state-machine.js";
import type { SchedulerContext } from "./context.js";
import { announceLog } from "./log-announce.js";

/** A transaction holding one job's lock, with effects that run only once it committed. */
export interface JobTx {
  trx: SchedulerTrx;
  job: JobRow | undefined;
  /** Runs `effect` after the commit (metrics, signals): never for a rolled-back change. */
  afterCommit(effect: () => void): void;
}

/** Locks the job, runs `fn`, commits, then runs the effects it registered. */
export async function inJobTx<T>(ctx: SchedulerContext, jobId: string, fn: (tx: JobTx) => Promise<T>): Promise<T> {
  const effects: Array<() => void> = [];
  const result = await withLockedJob(ctx.db, jobId, (trx, job) => fn({ trx, job, afterCommit: (e) => effects.push(e) }));
  for (const effect of effects) {
    try {
      effect();
    } catch (err) {
      ctx.logger.error({ err, job_id: jobId }, "an after-commit effect failed");
    }
  }
  return result;
}

/** Makes the job terminal; `extra` carries what the ending event recorded. */
export async function finishJob(
  ctx: SchedulerContext,
  tx: JobTx,
  job: JobRow,
  finish: Finish,
  extra: JobPatch = {},
): Promise<JobRow> {
  const now = ctx.now();
  const row = await updateJob(
    tx.trx,
    job.job_id,
    {
      ...extra,
      status: finish.status,
      phase: null,
      error: finish.error,
      error_type: finish.errorType,
      model_version: finish.modelVersion ?? null,
      registration_error: finish.registrationError ?? null,
      completed_at: now,
      deadline_at: null,
      pending_outcome: null,
    },
    now,
  );
  tx.afterCommit(() => {
    ctx.metrics.jobFinished(row);
    announceLog(ctx, { jobId: row.job_id, attempt: row.attempt }, row.log_lines, [], true);
  });
  ctx.logger.info({ job_id: job.job_id, status: finish.status, errorType: finish.errorType }, "job finished");
  return row;
}

/**
 * Records the end of the current attempt, whose log batches are all stored: the job ends, or
 * waits in `registering` for the registry (unless the registry's answer already came).
 */
export async function recordOutcome(ctx: SchedulerContext, tx: JobTx, job: JobRow, o: AttemptOutcome): Promise<JobRow> {
  const now = ctx.now();
  const recorded: JobPatch = {
    run_id: o.run_id ?? job.run_id,
    experiment_id: o.experiment_id ?? job.experiment_id,
    exit_code: o.exit_code,
    run_duration_seconds: o.duration_seconds,
    logged_model_id: o.logged_model_id,
    logged_model_uri: o.logged_model_uri,
    pending_outcome: null,
  };
  const transition = outcomeTransition(o, job.timeout_seconds);
  if (transition.kind === "finish") return finishJob(ctx, tx, job, transition.finish, recorded);
  if (transition.kind === "retry") return recordFault(ctx, tx, job, transition.fault, recorded);
  if (job.early_registration) {
    return finishJob(ctx, tx, job, registrationFinish(job.early_registration), { ...recorded, early_registration: null });
  }
  return updateJob(
    tx.trx,
    job.job_id,
    { ...recorded, phase: "registering", deadline_at: deadlineOf.registering(now, ctx.config) },
    now,
  );
}

/**
 * Appends lines to the job's log; once committed, its log streams are told (with the lines),
 * so a follower gets them without reading them back.
 */
export async function appendLog(
  ctx: SchedulerContext,
  tx: JobTx,
  jobId: string,
  origin: { attempt: number; batch: number },
  lines: readonly NewLogLine[],
): Promise<void> {
  if (lines.length === 0) {
    // Nothing kept (the log is at its cap): the runner still learns that its batch is stored.
    const end = tx.job?.log_lines;
    if (origin.batch > 0 && end !== undefined) tx.afterCommit(() => announceLog(ctx, { jobId, ...origin }, end, [], false));
    return;
  }
  const first = await appendLines(tx.trx, jobId, origin, lines);
  tx.afterCommit(() => announceLog(ctx, { jobId, ...origin }, first, lines, false));
}

/** Appends one line written by the scheduler itself (attempt markers, missing-log notes). */
export async function appendSystemLine(ctx: SchedulerContext, tx: JobTx, job: JobRow, attempt: number, text: string): Promise<void> {
  await appendLog(ctx, tx, job.job_id, { attempt, batch: 0 }, [{ stream: "system", text, at: ctx.now() }]);
}

/**
 * The current attempt was lost to a platform fault: the job is queued again for its next
 * attempt (the outbox relay publishes it anew), or, with no attempt left, fails naming the
 * faults. Either way the fault is kept with the job and said in its log.
 */
export async function recordFault(
  ctx: SchedulerContext,
  tx: JobTx,
  job: JobRow,
  lost: Pick<AttemptFault, "error_type" | "error">,
  extra: JobPatch = {},
): Promise<JobRow> {
  const now = ctx.now();
  const fault: AttemptFault = { ...lost, attempt: job.attempt, at: now.toISOString() };
  const faults = [...job.faults, fault];
  // Whoever asked to cancel does not want another attempt.
  if (job.cancel_requested) return finishJob(ctx, tx, job, { status: "cancelled", error: null, errorType: null }, { ...extra, faults });
  const next = afterFault(job, fault);
  if (next.kind === "finish") {
    await appendSystemLine(ctx, tx, job, job.attempt, `[asgard] attempt ${job.attempt} lost: ${fault.error}; no attempt left`);
    return finishJob(ctx, tx, job, next.finish, { ...extra, faults });
  }
  await appendSystemLine(
    ctx,
    tx,
    job,
    job.attempt,
    `[asgard] attempt ${job.attempt} lost: ${fault.error}; the job is queued again (attempt ${job.attempt + 1} of at most ${MAX_ATTEMPTS})`,
  );
  ctx.logger.warn({ job_id: job.job_id, attempt: job.attempt, fault: fault.error_type, error: fault.error }, "attempt lost to a platform fault; queued again");
  return updateJob(
    tx.trx,
    job.job_id,
    {
      ...extra,
      faults,
      status: "queued",
      phase: "queued",
      runner_id: null,
      last_heartbeat_at: null,
      script_started_at: null,
      deadline_at: deadlineOf.queued(now, ctx.config),
      pending_outcome: null,
      // The outbox relay publishes training.submitted again for the next attempt.
      published_at: null,
    },
    now,
  );
}
