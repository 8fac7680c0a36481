import { BusError } from "@asgard/bus";
import { findUnpublished } from "./db/jobs.js";
import type { JobRow } from "./db/schema.js";
import { publishSubmitted } from "./outbox.js";
import { startPeriodic, type Periodic } from "@asgard/telemetry";
import { jobTracedContext, type SchedulerContext } from "./context.js";
import { finishJob, inJobTx } from "./transitions.js";

/** Rows per pass; a longer backlog continues on the next pass. */
const RELAY_BATCH = 100;

/**
 * Publishes training.submitted for every queued job the stream has not acknowledged (a
 * publish that failed, or a scheduler that stopped between insert and publish), oldest first;
 * a job queued again after a lost attempt keeps its creation time, so it is published at once.
 * The pass's publishes are in flight together (their acks awaited at once) and their marks
 * share one UPDATE. Returns how many were published; throws the first failure (NATS is likely
 * away) once the others of the pass have settled.
 */
export async function relayOnce(ctx: SchedulerContext): Promise<number> {
  // A create publishes its own job within publishTimeoutMs; the relay is for those it could not.
  const rows = await findUnpublished(ctx.db, RELAY_BATCH, new Date(ctx.now().getTime() - ctx.config.publishTimeoutMs));
  const outcomes = await Promise.allSettled(rows.map((row) => relayOne(ctx, row)));
  const failure = outcomes.find((o): o is PromiseRejectedResult => o.status === "rejected");
  if (failure) throw failure.reason;
  return outcomes.filter((o) => o.status === "fulfilled" && o.value).length;
}

/** True when published; false for a payload the schema refuses, which never passes: that job fails. */
async function relayOne(ctx: SchedulerContext, row: JobRow): Promise<boolean> {
  const log = jobTracedContext(ctx, row).logger;
  try {
    const { marked } = await publishSubmitted(ctx, row);
    await marked;
    log.info({ job_id: row.job_id }, "outbox relay published training.submitted");
    return true;
  } catch (err) {
    // It would never pass: left queued, it would come back on every pass and a page of such jobs would hold up every job behind them.
    if (err instanceof BusError && err.code === "VALIDATION_FAILED") {
      log.error({ job_id: row.job_id, err, issues: err.issues }, "training.submitted of this job is invalid; failing the job");
      await failUnpublishable(ctx, row, err.message);
      return false;
    }
    throw err;
  }
}

/** Ends a job whose training.submitted cannot be built, unless it moved on meanwhile. */
async function failUnpublishable(ctx: SchedulerContext, row: JobRow, why: string): Promise<void> {
  await inJobTx(ctx, row.job_id, async (tx) => {
    if (tx.job?.status !== "queued" || tx.job.attempt !== row.attempt) return;
    await finishJob(ctx, tx, tx.job, { status: "failed", error: `the job could not be handed to a runner: ${why}`, errorType: null });
  });
}

export function startRelay(ctx: SchedulerContext): Periodic {
  return startPeriodic({
    name: "outbox relay",
    intervalMs: ctx.config.relayIntervalMs,
    logger: ctx.logger,
    run: async () => {
      await relayOnce(ctx);
    },
  });
}
