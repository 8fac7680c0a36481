import { BusError } from "@asgard/bus";
import { findUnpublished } from "./db/jobs.js";
import { publishSubmitted } from "./outbox.js";
import { startPeriodic, type Periodic } from "@asgard/telemetry";
import { jobTracedContext, type SchedulerContext } from "./context.js";

/** Rows per pass; a longer backlog continues on the next pass. */
const RELAY_BATCH = 100;

/**
 * Publishes training.submitted for every queued job the stream has not acknowledged (a
 * publish that failed, or a scheduler that stopped between insert and publish), oldest first.
 * Returns how many were published; stops at the first failure (NATS is likely away).
 */
export async function relayOnce(ctx: SchedulerContext): Promise<number> {
  const rows = await findUnpublished(ctx.db, RELAY_BATCH);
  let published = 0;
  for (const row of rows) {
    const log = jobTracedContext(ctx, row).logger;
    try {
      await publishSubmitted(ctx, row);
      published++;
      log.info({ job_id: row.job_id }, "outbox relay published training.submitted");
    } catch (err) {
      // A payload the schema refuses never passes: skip it rather than block every job behind it.
      if (err instanceof BusError && err.code === "VALIDATION_FAILED") {
        log.error({ job_id: row.job_id, err, issues: err.issues }, "training.submitted of this job is invalid; not publishing it");
        continue;
      }
      throw err;
    }
  }
  return published;
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
