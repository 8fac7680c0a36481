import { countByStatus, findOverdueCandidates } from "./db/jobs.js";
import { missingLogsMarker } from "./domain/log-plan.js";
import { overdueAction, type Watch } from "./domain/state-machine.js";
import { startPeriodic, type Periodic } from "@asgard/telemetry";
import { appendSystemLine, finishJob, inJobTx, recordFault, recordOutcome } from "./transitions.js";
import { jobTracedContext, type SchedulerContext } from "./context.js";

/** Jobs handled per pass; more wait for the next pass. */
const RECONCILE_BATCH = 200;

/**
 * Enforces a deadline on every live state (never claimed, environment build, script run,
 * runner silence, registry answer, missing log batches) and refreshes the job gauge. A silent
 * runner costs the job its attempt, not the job: it is queued again while attempts are left.
 * Returns how many jobs it changed.
 */
export async function reconcileOnce(ctx: SchedulerContext, watch: Watch): Promise<number> {
  // Cut off from NATS, the scheduler hears no heartbeat or outcome: silence proves nothing.
  if (!ctx.bus.isConnected()) return 0;
  const now = ctx.now();
  const heartbeatCutoff = new Date(now.getTime() - ctx.config.heartbeatMs);
  const candidates = await findOverdueCandidates(ctx.db, now, heartbeatCutoff, RECONCILE_BATCH);
  let changed = 0;
  for (const jobId of candidates) {
    const acted = await inJobTx(ctx, jobId, async (tx) => {
      const job = tx.job;
      if (!job) return false;
      // Decided again under the lock: an event may have moved the job since the query.
      const action = overdueAction(job, ctx.now(), ctx.config, watch);
      if (!action) return false;
      const jobCtx = jobTracedContext(ctx, job);
      if (action.kind === "finalize_pending") {
        const pending = job.pending_outcome;
        if (!pending) return false;
        await appendSystemLine(jobCtx, tx, job, pending.attempt, missingLogsMarker(pending.attempt));
        await recordOutcome(jobCtx, tx, job, pending);
      } else if (action.kind === "fault") {
        await recordFault(jobCtx, tx, job, action.fault);
      } else {
        await finishJob(jobCtx, tx, job, action.finish);
      }
      return true;
    });
    if (acted) changed++;
  }
  ctx.metrics.setJobCounts(await countByStatus(ctx.db));
  return changed;
}

export function startReconciler(ctx: SchedulerContext, watch: Watch): Periodic {
  return startPeriodic({
    name: "reconciler",
    intervalMs: ctx.config.reconcileIntervalMs,
    logger: ctx.logger,
    run: async () => {
      await reconcileOnce(ctx, watch);
    },
  });
}
