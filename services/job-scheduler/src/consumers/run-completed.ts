import { CONSUMERS, type RunCompleted } from "@asgard/contracts";
import type { Consumption } from "@asgard/bus";
import { updateJob } from "../db/jobs.js";
import { batchesComplete } from "../db/logs.js";
import { deadlineOf, outcomeVerdict, type AttemptOutcome, type OutcomeVerdict } from "../domain/state-machine.js";
import { inJobTx, recordOutcome } from "../transitions.js";
import { tracedContext, type SchedulerContext } from "../context.js";

/** What was done with a run.completed: applied, parked until its logs arrive, or ignored (why). */
export type OutcomeResult = "recorded" | "pending_logs" | Exclude<OutcomeVerdict, "apply">;

/**
 * Records the end of the current attempt. The job turns terminal only once every log batch
 * of that attempt is stored, so a finished job's logs are complete; until then the outcome
 * waits in `pending_outcome` (the log consumer or the reconciler finishes it).
 */
export async function recordRunCompleted(ctx: SchedulerContext, event: RunCompleted): Promise<OutcomeResult> {
  return inJobTx(ctx, event.job_id, async (tx) => {
    const job = tx.job;
    const verdict = outcomeVerdict(job, event.attempt);
    if (verdict !== "apply" || !job) return verdict === "apply" ? "unknown" : verdict;
    const now = ctx.now();
    const outcome: AttemptOutcome = {
      attempt: event.attempt,
      runner_id: event.runner_id,
      outcome: event.outcome,
      error_type: event.error_type,
      error: event.error,
      exit_code: event.exit_code,
      run_id: event.run_id,
      experiment_id: event.experiment_id,
      logged_model_id: event.logged_model_id,
      logged_model_uri: event.logged_model_uri,
      duration_seconds: event.duration_seconds,
      last_log_batch: event.last_log_batch,
      received_at: now.toISOString(),
    };
    if (await batchesComplete(tx.trx, job.job_id, event.attempt, event.last_log_batch)) {
      await recordOutcome(ctx, tx, job, outcome);
      return "recorded";
    }
    await updateJob(
      tx.trx,
      job.job_id,
      {
        pending_outcome: outcome,
        run_id: event.run_id ?? job.run_id,
        deadline_at: deadlineOf.pendingOutcome(now, ctx.config),
      },
      now,
    );
    return "pending_logs";
  });
}

export function consumeRunCompleted(base: SchedulerContext): Consumption {
  return base.bus.consume(CONSUMERS.schedulerRuns, { runCompleted: async (msg) => {
    const ctx = tracedContext(base, msg.headers);
    const result = await recordRunCompleted(ctx, msg.data);
    ctx.logger.info(
      { job_id: msg.data.job_id, attempt: msg.data.attempt, run_id: msg.data.run_id, outcome: msg.data.outcome, result },
      "run.completed received",
    );
  } });
}
