import { BusError, type RpcHandler } from "@asgard/bus";
import { jobCancelSubject, SIGNALS, type RPC } from "@asgard/contracts";
import { updateJob } from "../db/jobs.js";
import { canSee } from "../domain/scope.js";
import { cancelDecision } from "../domain/state-machine.js";
import { finishJob, inJobTx } from "../transitions.js";
import { tracedContext, type SchedulerContext } from "../context.js";
import { jobNotFound } from "./errors.js";
import { jobView } from "./job-view.js";

/**
 * Only the caller's own tenant's jobs (any, for an admin). Queued: cancelled at once (a runner that later pulls it is refused at claim). Running: marked
 * and the runner holding it is told; its run.completed (cancelled) ends the job.
 */
export function cancelJobHandler(base: SchedulerContext): RpcHandler<typeof RPC.cancelJob> {
  return async (req, rpc) => {
    const ctx = tracedContext(base, rpc.headers);
    const row = await inJobTx(ctx, req.job_id, async (tx) => {
      const job = tx.job;
      if (!job || !canSee(req.scope, job)) throw jobNotFound(req.job_id);
      const decision = cancelDecision(job);
      switch (decision.kind) {
        case "refuse":
          throw new BusError("CONFLICT", decision.message);
        case "cancel_now":
          return finishJob(ctx, tx, job, { status: "cancelled", error: null, errorType: null }, { cancel_requested: true });
        case "signal": {
          const updated = await updateJob(tx.trx, job.job_id, { cancel_requested: true }, ctx.now());
          // Also on a repeated cancel: the first signal may have been lost (core NATS).
          tx.afterCommit(() =>
            ctx.bus.publishSignal(
              SIGNALS.jobCancel,
              { job_id: job.job_id, attempt: decision.attempt, reason: "cancelled by request" },
              { subject: jobCancelSubject(job.job_id) },
            ),
          );
          ctx.logger.info({ job_id: job.job_id, attempt: decision.attempt }, "cancel requested");
          return updated;
        }
      }
    });
    return jobView(ctx, row);
  };
}
