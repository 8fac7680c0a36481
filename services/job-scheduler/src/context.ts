import type { Bus } from "@asgard/bus";
import type { BlobStore } from "@asgard/storage";
import { childSpan, continueTrace, storedTrace, traceFields, type Logger } from "@asgard/telemetry";
import type { Admission } from "./admission.js";
import type { Batcher } from "./batcher.js";
import type { SchedulerConfig } from "./config.js";
import type { NewJob, PublishedAttempt } from "./db/jobs.js";
import type { JobRow, SchedulerDb } from "./db/schema.js";
import type { SchedulerMetrics } from "./metrics.js";
import type { ScriptStore } from "./script-store.js";

/** What every endpoint, consumer and loop of the scheduler works with. */
export interface SchedulerContext {
  db: SchedulerDb;
  bus: Bus;
  blobs: BlobStore;
  logger: Logger;
  config: SchedulerConfig;
  metrics: SchedulerMetrics;
  now(): Date;
  /** Where creates store scripts (content-addressed in `blobs`). */
  scripts: ScriptStore;
  /** Stores the jobs of concurrent creates in shared transactions; answers each job's fate once committed. */
  admissions: Batcher<NewJob, Admission>;
  /** Records the stream's acks of training.submitted (outbox marks), many rows an UPDATE. */
  publishedMarks: Batcher<PublishedAttempt, void>;
  /** Asks the outbox relay for a pass now (a publish just failed). */
  wakeRelay(): void;
}

/** Key prefix of stored scripts: `scripts/<sha256>`. */
export const SCRIPTS_PREFIX = "scripts";

/**
 * The context of one request or message: its logger names the span it continues (the sender's
 * `traceparent`; a new trace when there is none), so the scheduler's lines about a job carry
 * the trace id the gateway, the runner and the registry log for it.
 */
export function tracedContext(ctx: SchedulerContext, headers: Record<string, string> | undefined): SchedulerContext {
  return { ...ctx, logger: ctx.logger.child(traceFields(continueTrace(headers))) };
}

/** For work about a job that no message started (deadlines): the trace the job was created in. */
export function jobTracedContext(ctx: SchedulerContext, job: Pick<JobRow, "traceparent" | "tracestate">): SchedulerContext {
  const stored = storedTrace(job.traceparent, job.tracestate);
  return stored ? { ...ctx, logger: ctx.logger.child(traceFields(childSpan(stored))) } : ctx;
}
