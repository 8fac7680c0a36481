import { CONSUMERS, EVENTS, STREAMS, type JobLog } from "@asgard/contracts";
import type { ConsumedMessage, Consumption } from "@asgard/bus";
import { updateJob } from "../db/jobs.js";
import { batchesComplete, recordBatch, type NewLogLine } from "../db/logs.js";
import { planBatch, truncationMarker } from "../domain/log-plan.js";
import { logBatchAccepted } from "../domain/state-machine.js";
import { appendLog, inJobTx, recordOutcome } from "../transitions.js";
import { tracedContext, type SchedulerContext } from "../context.js";

/** `early`: the attempt's batch before it is not stored yet, so this one was left for later. */
export type BatchResult = "stored" | "dropped_stale" | "duplicate" | "early";

/**
 * How a batch that came before the one it follows waits for it: redelivered this much later,
 * until this long after its own publish, then stored anyway. A runner publishes batches in
 * order but may have two awaiting the store, and two scheduler replicas may pull them at once,
 * or the one before may be redelivered after a failure (after 1, 2, 4… s); the wait keeps their
 * lines in order. It is counted in time, not deliveries: the failed deliveries of the batch
 * before are spaced by the back-off, and it must be able to fail a few times and still come
 * first. A batch that never comes (its publish failed for good, it was parked) costs the next
 * one this wait once, never its lines; an outage longer than this may still reorder lines.
 */
export const ORDER_RETRY_MS = 50;
export const ORDER_WAIT_MS = 10_000;
/** Bounds the wait if the scheduler's clock runs behind the server's (about 20 s of retries). */
const ORDER_WAIT_DELIVERIES = 400;

/**
 * Deliveries of a batch the database refuses before it is parked on the dead-letter subject.
 * The consumer parks it itself rather than relying on JetStream's max_deliver: that would
 * also give up on batches that only met a database outage, and its advisory says nothing of
 * why. Only a refusal of the data can never pass; anything else is redelivered without end.
 * Deliveries spent waiting for the batch before count too: a refusal of the data is final anyway.
 */
export const DEAD_LETTER_AFTER_DELIVERIES = 3;

/**
 * Stores one batch of the job's current attempt (older attempts are fenced off, repeats
 * dropped), within the job's byte bound; then finishes an outcome that waited for it. Line
 * texts arrive sanitised by the event's schema (no NUL, no lone surrogates). With `inOrder`,
 * a batch whose predecessor is not stored yet is left alone ("early").
 */
export async function storeLogBatch(ctx: SchedulerContext, batch: JobLog, opts: { inOrder: boolean } = { inOrder: false }): Promise<BatchResult> {
  return inJobTx(ctx, batch.job_id, async (tx) => {
    const job = tx.job;
    if (!job || !logBatchAccepted(job, batch.attempt)) return "dropped_stale";
    const now = ctx.now();
    // Under the job's lock: a predecessor stored by another replica is seen once it committed.
    const recorded = await recordBatch(
      tx.trx,
      { jobId: job.job_id, attempt: batch.attempt, batch: batch.batch, lineCount: batch.lines.length, at: now },
      opts.inOrder && batch.batch > 1 ? batch.batch - 1 : null,
    );
    if (recorded !== "fresh") return recorded;
    const plan = planBatch(batch.lines, { bytes: Number(job.log_bytes), truncated: job.logs_truncated }, ctx.config.maxLogBytes);
    const lines: NewLogLine[] = plan.keep.map((l) => ({ stream: l.stream, text: l.text, at: new Date(l.at) }));
    if (plan.marker) lines.push({ stream: "system", text: truncationMarker(ctx.config.maxLogBytes), at: now });
    await appendLog(ctx, tx, job.job_id, { attempt: batch.attempt, batch: batch.batch }, lines);
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
    let result: BatchResult;
    try {
      result = await storeLogBatch(ctx, msg.data, { inOrder: waitsForOrder(ctx.now(), msg) });
    } catch (err) {
      const refused = refusedData(err);
      if (refused === null || msg.deliveryCount < DEAD_LETTER_AFTER_DELIVERIES) throw err;
      await parkBatch(ctx, msg, refused);
      return;
    }
    if (result === "early") {
      msg.nak(ORDER_RETRY_MS);
      return;
    }
    if (result !== "stored") {
      ctx.logger.debug({ job_id: msg.data.job_id, attempt: msg.data.attempt, batch: msg.data.batch, result }, "log batch not stored");
    }
  } });
}

const waitsForOrder = (now: Date, msg: { storedAt: Date; deliveryCount: number }): boolean =>
  now.getTime() - msg.storedAt.getTime() < ORDER_WAIT_MS && msg.deliveryCount <= ORDER_WAIT_DELIVERIES;

/**
 * The database's reason when it refused the batch's data: SQLSTATE class 22 (data exception,
 * e.g. a number out of range) or 54 (a program limit). Null for anything that may pass later.
 */
function refusedData(err: unknown): string | null {
  const { code, message } = (err ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code !== "string" || !/^(22|54)[0-9A-Z]{3}$/.test(code)) return null;
  return `${code}: ${typeof message === "string" ? message : "refused by the database"}`;
}

/** Records the batch on the dead-letter subject; acking it afterwards stops its redelivery. */
async function parkBatch(ctx: SchedulerContext, msg: ConsumedMessage<JobLog>, error: string): Promise<void> {
  const { job_id, attempt, batch, tenant } = msg.data;
  // One id per stored message: parking it again after a lost ack is a duplicate, not a second letter.
  const eventId = `${STREAMS.jobLogs.name}-${msg.seq}-dead`;
  await ctx.bus.publish(
    EVENTS.jobLogDeadLetter,
    {
      event_id: eventId,
      schema_version: EVENTS.jobLogDeadLetter.schemaVersion,
      occurred_at: ctx.now().toISOString(),
      tenant,
      job_id,
      attempt,
      batch,
      stream: STREAMS.jobLogs.name,
      stream_seq: msg.seq,
      delivery_count: msg.deliveryCount,
      error,
    },
    { msgId: eventId },
  );
  ctx.logger.error({ job_id, attempt, batch, seq: msg.seq, deliveries: msg.deliveryCount, error }, "parked a log batch the database refuses on the dead-letter subject");
}
