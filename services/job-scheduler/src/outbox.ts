import { EVENTS } from "@asgard/contracts";
import { storedTrace, traceHeaders } from "@asgard/telemetry";
import { createBatcher, type Batcher } from "./batcher.js";
import { markPublished, type PublishedAttempt } from "./db/jobs.js";
import type { JobRow } from "./db/schema.js";
import { toTrainingSubmitted } from "./domain/mapper.js";
import type { SchedulerContext } from "./context.js";

/**
 * Publishes a job's training.submitted and resolves once the stream acknowledged it, with the
 * promise of the row's outbox mark (recorded together with the marks of concurrent publishes).
 * The message id is the job id, so a re-publish within the stream's window is dropped; a job
 * queued again after a lost attempt gets one per attempt, or its new message would be dropped
 * as a duplicate of the first. The job's stored trace context goes along as headers, also when
 * the relay publishes it later.
 */
export async function publishSubmitted(ctx: SchedulerContext, row: JobRow): Promise<{ marked: Promise<void> }> {
  const trace = storedTrace(row.traceparent, row.tracestate);
  await ctx.bus.publish(EVENTS.trainingSubmitted, toTrainingSubmitted(row), {
    msgId: row.attempt === 0 ? row.job_id : `${row.job_id}-after-${row.attempt}`,
    timeoutMs: ctx.config.publishTimeoutMs,
    ...(trace ? { headers: traceHeaders(trace) } : {}),
  });
  return { marked: ctx.publishedMarks.submit({ jobId: row.job_id, attempt: row.attempt }) };
}

/**
 * How long an outbox mark waits for others to share its UPDATE. No answer waits for a mark, and
 * the relay leaves a job alone for `publishTimeoutMs` after its creation, so marks can wait far
 * longer than creates do: a burst of uploads then pays one UPDATE (and one commit) per
 * `createBatchRows` jobs rather than one per batch of creates.
 */
export const MARK_WAIT_MS = 50;

/**
 * Outbox marks of concurrent publishes, one UPDATE a batch. A mark that is lost (the database
 * went away) only means the relay publishes the job again, which the stream drops as a duplicate.
 */
export function createPublishedMarks(ctx: Pick<SchedulerContext, "db" | "config" | "now">): Batcher<PublishedAttempt, void> {
  return createBatcher<PublishedAttempt, void>({
    maxItems: ctx.config.createBatchRows,
    // Well within publishTimeoutMs (a quarter of it, unless a create batch waits longer): a mark still lands before the relay looks at its job.
    maxWaitMs: Math.max(ctx.config.createBatchWaitMs, Math.min(MARK_WAIT_MS, ctx.config.publishTimeoutMs / 4)),
    async flush(acks) {
      await markPublished(ctx.db, acks, ctx.now());
      return acks.map(() => ({ ok: true as const, value: undefined }));
    },
  });
}
