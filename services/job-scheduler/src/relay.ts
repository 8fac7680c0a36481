import { BusError } from "@asgard/bus";
import { findUnpublished } from "./db/jobs.js";
import type { JobRow } from "./db/schema.js";
import { publishSubmitted } from "./outbox.js";
import { startPeriodic, type Periodic } from "@asgard/telemetry";
import { jobTracedContext, type SchedulerContext } from "./context.js";

/** Rows per pass; a longer backlog continues on the next pass. */
const RELAY_BATCH = 100;

/**
 * Jobs whose training.submitted this process could not build (the schema refuses it). They
 * stay queued, untouched: such a row is most likely a release's bug, not the job's, and a fixed
 * release publishes them (or their queued deadline ends them). Passes skip them, or a page of
 * them would come back on every pass and hold up every job behind it.
 */
export type RefusedJobs = Set<string>;

/** Past this many, the oldest refused jobs are looked at again (a bound on the relay's query). */
const MAX_REFUSED = 10_000;

/**
 * Publishes training.submitted for every queued job the stream has not acknowledged (a
 * publish that failed, or a scheduler that stopped between insert and publish), oldest first;
 * a job queued again after a lost attempt keeps its creation time, so it is published at once.
 * The pass's publishes are in flight together (their acks awaited at once) and their marks
 * share one UPDATE. Returns how many were published; throws the first failure (NATS is likely
 * away) once the others of the pass have settled.
 */
export async function relayOnce(ctx: SchedulerContext, refused: RefusedJobs = new Set()): Promise<number> {
  // A create publishes its own job within publishTimeoutMs; the relay is for those it could not.
  const rows = await findUnpublished(ctx.db, RELAY_BATCH, new Date(ctx.now().getTime() - ctx.config.publishTimeoutMs), [...refused]);
  const outcomes = await Promise.allSettled(rows.map((row) => relayOne(ctx, row, refused)));
  const failure = outcomes.find((o): o is PromiseRejectedResult => o.status === "rejected");
  if (failure) throw failure.reason;
  return outcomes.filter((o) => o.status === "fulfilled" && o.value).length;
}

/** True when published; false for a payload the schema refuses, which never passes: later passes skip that job. */
async function relayOne(ctx: SchedulerContext, row: JobRow, refused: RefusedJobs): Promise<boolean> {
  const log = jobTracedContext(ctx, row).logger;
  try {
    const { marked } = await publishSubmitted(ctx, row);
    await marked;
    log.info({ job_id: row.job_id }, "outbox relay published training.submitted");
    return true;
  } catch (err) {
    if (err instanceof BusError && err.code === "VALIDATION_FAILED") {
      log.error({ job_id: row.job_id, err, issues: err.issues }, "training.submitted of this job is invalid; it stays queued and the relay skips it");
      refused.add(row.job_id);
      if (refused.size > MAX_REFUSED) refused.delete(refused.values().next().value as string);
      return false;
    }
    throw err;
  }
}

export function startRelay(ctx: SchedulerContext): Periodic {
  const refused: RefusedJobs = new Set();
  return startPeriodic({
    name: "outbox relay",
    intervalMs: ctx.config.relayIntervalMs,
    logger: ctx.logger,
    run: async () => {
      await relayOnce(ctx, refused);
    },
  });
}
