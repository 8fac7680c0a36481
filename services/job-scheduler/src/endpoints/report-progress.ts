import { BusError, type RpcHandler } from "@asgard/bus";
import type { RPC } from "@asgard/contracts";
import { updateJob, type JobPatch } from "../db/jobs.js";
import { deadlineOf, progressAccepted, startsScript } from "../domain/state-machine.js";
import { inJobTx } from "../transitions.js";
import { tracedContext, type SchedulerContext } from "../context.js";

/**
 * Records what the current attempt does; stale attempts are refused (fencing). The answer
 * carries cancel_requested, so a runner that missed the cancel signal still stops.
 */
export function reportProgressHandler(base: SchedulerContext): RpcHandler<typeof RPC.reportProgress> {
  return async (req, rpc) => {
    if (req.phase !== "building_env" && req.phase !== "running") {
      throw new BusError("VALIDATION_FAILED", `phase ${req.phase} is not reported by runners`, {
        issues: [{ field: "phase", message: "must be building_env or running" }],
      });
    }
    const ctx = tracedContext(base, rpc.headers);
    return inJobTx(ctx, req.job_id, async (tx) => {
      const job = tx.job;
      if (!job || !progressAccepted(job, req.attempt)) return { accepted: false, cancel_requested: job?.cancel_requested ?? false };
      const now = ctx.now();
      // A report is also a sign of life.
      const patch: JobPatch = { last_heartbeat_at: now };
      if (req.run_id != null) patch.run_id = req.run_id;
      if (req.experiment_id != null) patch.experiment_id = req.experiment_id;
      if (req.env_key != null) patch.env_key = req.env_key;
      if (req.env_cache_hit != null) patch.env_cache_hit = req.env_cache_hit;
      if (startsScript(job, req.phase)) {
        patch.phase = "running";
        patch.script_started_at = now;
        patch.deadline_at = deadlineOf.running(now, job.timeout_seconds, ctx.config);
        ctx.logger.info({ job_id: job.job_id, attempt: req.attempt, run_id: req.run_id ?? job.run_id }, "script started");
      }
      await updateJob(tx.trx, job.job_id, patch, now);
      return { accepted: true, cancel_requested: job.cancel_requested };
    });
  };
}
