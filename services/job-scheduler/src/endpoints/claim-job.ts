import type { RpcHandler } from "@asgard/bus";
import type { RPC } from "@asgard/contracts";
import { findJob, updateJob } from "../db/jobs.js";
import { attemptMarker } from "../domain/log-plan.js";
import { claimDecision, deadlineOf } from "../domain/state-machine.js";
import { appendSystemLine, finishJob, inJobTx, recordFault } from "../transitions.js";
import { tracedContext, type SchedulerContext } from "../context.js";
import { readScript } from "./job-view.js";

/**
 * A runner claims a job it pulled: a new attempt in one locked transaction, answered with
 * everything the runner needs (the script included, so runners never touch the blob store).
 */
export function claimJobHandler(base: SchedulerContext): RpcHandler<typeof RPC.claimJob> {
  return async (req, rpc) => {
    const ctx = tracedContext(base, rpc.headers);
    const head = await findJob(ctx.db, req.job_id);
    if (!head) return { granted: false, job_id: req.job_id, reason: "not_found" };
    // Read before the attempt is granted: a store failure must not leave an attempt nobody runs.
    const script = await readScript(ctx, head);
    return inJobTx(ctx, req.job_id, async (tx) => {
      const job = tx.job;
      const decision = claimDecision(job, req.seq);
      if (!job || !decision.grant) {
        const reason = decision.grant ? "not_found" : decision.reason;
        if (job && !decision.grant && decision.cancelNow) {
          await finishJob(ctx, tx, job, { status: "cancelled", error: null, errorType: null });
        }
        if (job && !decision.grant && decision.lost) {
          // The last attempt was lost too: the job ends here, naming its faults.
          await recordFault(ctx, tx, job, decision.lost);
        }
        ctx.logger.info({ job_id: req.job_id, runnerId: req.runner_id, reason }, "claim refused");
        return { granted: false as const, job_id: req.job_id, reason };
      }
      // The message came again while the attempt was live: its runner died or stalled.
      const faults = decision.lost ? [...job.faults, { ...decision.lost, attempt: job.attempt, at: ctx.now().toISOString() }] : job.faults;
      if (decision.lost) {
        ctx.logger.warn({ job_id: job.job_id, attempt: job.attempt, error: decision.lost.error }, "attempt lost to a platform fault; granting the next one");
      }
      const now = ctx.now();
      const attempt = job.attempt + 1;
      await updateJob(
        tx.trx,
        job.job_id,
        {
          attempt,
          runner_id: req.runner_id,
          status: "running",
          phase: "building_env",
          started_at: job.started_at ?? now,
          script_started_at: null,
          faults,
          claimed_seq: req.seq ?? null,
          last_heartbeat_at: now,
          deadline_at: deadlineOf.buildingEnv(now, ctx.config),
          // What the earlier attempt recorded does not describe this one.
          run_id: null,
          experiment_id: null,
          env_key: null,
          env_cache_hit: null,
          exit_code: null,
          error: null,
          error_type: null,
        },
        now,
      );
      if (decision.lost) await appendSystemLine(ctx, tx, job, job.attempt, `[asgard] attempt ${job.attempt} lost: ${decision.lost.error}`);
      if (attempt > 1) await appendSystemLine(ctx, tx, job, attempt, attemptMarker(attempt, req.runner_id));
      ctx.logger.info({ job_id: job.job_id, attempt, model: job.model_name, runnerId: req.runner_id, delivery: req.delivery }, "job claimed");
      return {
        granted: true as const,
        job_id: job.job_id,
        tenant: job.tenant,
        attempt,
        script_name: job.script_name,
        script_b64: Buffer.from(script, "utf8").toString("base64"),
        experiment_name: job.experiment_name,
        model_name: job.model_name,
        requirements: job.requirements,
        environment_vars: job.environment_vars,
        tags: job.tags,
        timeout_seconds: job.timeout_seconds,
        previous_run_id: job.run_id,
        ...(job.resources !== null ? { resources: job.resources } : {}),
      };
    });
  };
}
