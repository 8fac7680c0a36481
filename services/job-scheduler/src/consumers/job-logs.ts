import { CONSUMERS, type JobLog } from "@asgard/contracts";
import type { Consumption } from "@asgard/bus";
import { updateJob } from "../db/jobs.js";
import { appendLines, batchesComplete, recordBatch, type NewLogLine } from "../db/logs.js";
import { planBatch, truncationMarker } from "../domain/log-plan.js";
import { logBatchAccepted } from "../domain/state-machine.js";
import { inJobTx, recordOutcome } from "../transitions.js";
import { tracedContext, type SchedulerContext } from "../context.js";

export type BatchResult = "stored" | "dropped_stale" | "duplicate";

/**
 * Stores one batch of the job's current attempt (older attempts are fenced off, repeats
 * dropped), within the job's byte bound; then finishes an outcome that waited for it.
 */
export async function storeLogBatch(ctx: SchedulerContext, batch: JobLog): Promise<BatchResult> {
  return inJobTx(ctx, batch.job_id, async (tx) => {
    const job = tx.job;
    if (!job || !logBatchAccepted(job, batch.attempt)) return "dropped_stale";
    const now = ctx.now();
    const fresh = await recordBatch(tx.trx, {
      jobId: job.job_id,
      attempt: batch.attempt,
      batch: batch.batch,
      lineCount: batch.lines.length,
      at: now,
    });
    if (!fresh) return "duplicate";
    const plan = planBatch(batch.lines, { bytes: Number(job.log_bytes), truncated: job.logs_truncated }, ctx.config.maxLogBytes);
    const lines: NewLogLine[] = plan.keep.map((l) => ({ stream: l.stream, text: l.text, at: new Date(l.at) }));
    if (plan.marker) lines.push({ stream: "system", text: truncationMarker(ctx.config.maxLogBytes), at: now });
    await appendLines(tx.trx, job.job_id, { attempt: batch.attempt, batch: batch.batch }, lines);
    const row = await updateJob(
      tx.trx,
      job.job_id,
      { log_bytes: plan.account.bytes, logs_truncated: plan.account.truncated },
      now,
    );
    const pending = row.pending_outcome;
    if (pending && pending.attempt === batch.attempt && (await batchesComplete(tx.trx, job.job_id, batch.attempt, pending.last_log_batch))) {
      await recordOutcome(ctx, tx, row, pending);
    }
    tx.afterCommit(() => ctx.metrics.logLinesStored(plan.keep.length));
    return "stored";
  });
}

export function consumeJobLogs(base: SchedulerContext): Consumption {
  return base.bus.consume(CONSUMERS.schedulerLogs, { jobLog: async (msg) => {
    // A batch may end the job (its outcome waited for it): "job finished" then names the trace.
    const ctx = tracedContext(base, msg.headers);
    const result = await storeLogBatch(ctx, msg.data);
    if (result !== "stored") {
      ctx.logger.debug({ job_id: msg.data.job_id, attempt: msg.data.attempt, batch: msg.data.batch, result }, "log batch not stored");
    }
  } });
}
