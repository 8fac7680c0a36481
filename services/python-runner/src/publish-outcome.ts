import { EVENTS, type RunCompleted } from "@asgard/contracts";
import type { ConsumedMessage } from "@asgard/bus";
import type { AttemptContext, AttemptRun, LoggedModel } from "./attempt-steps.js";
import type { AttemptDeps } from "./attempt.js";
import type { LogBatcher } from "./log-batcher.js";
import type { Outcome } from "./outcome.js";
import { retryWithin } from "./retry.js";

/** What the attempt reports once it ended. */
export interface AttemptReport extends Outcome {
  /** A newer attempt owns the job: nothing is reported. */
  stale: boolean;
  run: AttemptRun | null;
  loggedModel: LoggedModel | null;
  durationSeconds: number;
}

/**
 * How long run.completed is retried while NATS is away. The script's work is done: waiting
 * out an outage keeps it, where giving up would run the job again as a new attempt.
 */
const PUBLISH_RETRY_MS = 10 * 60_000;

/** The run.completed event of an attempt whose last log batch is `lastBatch` at stream sequence `lastSeq`. */
export function runCompletedEvent(
  ctx: Pick<AttemptContext, "claim" | "config">,
  r: AttemptReport,
  logs: { lastBatch: number; lastSeq: number },
): RunCompleted {
  const { claim } = ctx;
  return {
    event_id: `${claim.job_id}-${claim.attempt}-completed`,
    schema_version: EVENTS.runCompleted.schemaVersion,
    occurred_at: new Date().toISOString(),
    tenant: claim.tenant,
    job_id: claim.job_id,
    attempt: claim.attempt,
    runner_id: ctx.config.runnerId,
    outcome: r.outcome,
    error_type: r.error_type,
    error: r.error,
    exit_code: r.exit_code,
    run_id: r.run?.runId ?? null,
    experiment_id: r.run?.experimentId ?? null,
    model_name: claim.model_name,
    logged_model_id: r.loggedModel?.id ?? null,
    logged_model_uri: r.loggedModel?.uri ?? null,
    duration_seconds: Math.round(r.durationSeconds * 1000) / 1000,
    last_log_seq: logs.lastSeq,
    last_log_batch: logs.lastBatch,
  };
}

/**
 * Flushes the attempt's logs, publishes run.completed and acks the message. Until the event
 * is stored the message stays ours: a failure here leaves it unacked, and a later delivery
 * runs the job as a new attempt rather than losing its outcome.
 */
export async function publishOutcome(
  deps: Pick<AttemptDeps, "bus" | "metrics">,
  ctx: AttemptContext,
  msg: Pick<ConsumedMessage<unknown>, "ack">,
  logs: LogBatcher,
  r: AttemptReport,
): Promise<void> {
  if (r.error && r.outcome !== "succeeded") ctx.logs.system(`[asgard] ${r.error}`);
  const closed = await logs.close();
  if (r.stale) {
    // A newer attempt owns the job: our events would be dropped anyway.
    ctx.log.info("a newer attempt owns the job; not reporting this one");
    await msg.ack();
    return;
  }
  const event = runCompletedEvent(ctx, r, closed);
  await retryWithin(`publish ${EVENTS.runCompleted.subject}`, () => deps.bus.publish(EVENTS.runCompleted, event, { msgId: event.event_id, headers: ctx.headers }), {
    logger: ctx.log,
    withinMs: PUBLISH_RETRY_MS,
  });
  ctx.log.info(
    { outcome: r.outcome, error_type: r.error_type, exit_code: r.exit_code, logged_model_id: event.logged_model_id, duration_seconds: event.duration_seconds },
    "attempt finished",
  );
  deps.metrics.jobs.inc({ outcome: r.outcome });
  deps.metrics.jobSeconds.observe(r.durationSeconds);
  await msg.ack();
}
