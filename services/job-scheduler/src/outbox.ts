import { EVENTS } from "@asgard/contracts";
import { storedTrace, traceHeaders } from "@asgard/telemetry";
import { markPublished } from "./db/jobs.js";
import type { JobRow } from "./db/schema.js";
import { toTrainingSubmitted } from "./domain/mapper.js";
import type { SchedulerContext } from "./context.js";

/**
 * Publishes a job's training.submitted and marks the row once the stream acknowledged it.
 * The message id is the job id, so a re-publish within the stream's window is dropped; a job
 * queued again after a lost attempt gets one per attempt, or its new message would be dropped
 * as a duplicate of the first. The job's stored trace context goes along as headers, also when
 * the relay publishes it later.
 */
export async function publishSubmitted(ctx: SchedulerContext, row: JobRow): Promise<void> {
  const trace = storedTrace(row.traceparent, row.tracestate);
  await ctx.bus.publish(EVENTS.trainingSubmitted, toTrainingSubmitted(row), {
    msgId: row.attempt === 0 ? row.job_id : `${row.job_id}-after-${row.attempt}`,
    timeoutMs: ctx.config.publishTimeoutMs,
    ...(trace ? { headers: traceHeaders(trace) } : {}),
  });
  await markPublished(ctx.db, row.job_id, ctx.now());
}
