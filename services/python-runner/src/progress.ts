import { RPC, type JobPhase } from "@asgard/contracts";
import type { Bus } from "@asgard/bus";
import type { Logger } from "@asgard/telemetry";
import type { HeldJob } from "./held-jobs.js";
import { retryWithin } from "./retry.js";

/** What the runner tells the scheduler about an attempt, beyond its phase. */
export interface ProgressDetails {
  run_id?: string;
  experiment_id?: string;
  env_key?: string;
  env_cache_hit?: boolean;
}

/** The attempt's line to the scheduler: phase reports, and what their answers say. */
export interface ProgressReporter {
  report(phase: JobPhase, details?: ProgressDetails): Promise<void>;
  /** A newer attempt owns the job: nothing this one reports will be kept. */
  readonly stale: boolean;
}

/** How long a progress report is retried while the scheduler restarts. */
const PROGRESS_RETRY_MS = 20_000;

/**
 * Reports over `rpc.scheduler.report_progress`. The scheduler may be restarting: reports are
 * retried, and if it stays away the attempt goes on (its run.completed waits in JetStream).
 * An answer asking to cancel aborts the held job.
 */
export function schedulerProgress(
  bus: Bus,
  held: HeldJob,
  who: { runnerId: string; headers: Record<string, string>; logger: Logger },
): ProgressReporter {
  let stale = false;
  return {
    get stale() {
      return stale;
    },
    async report(phase, details = {}) {
      held.phase = phase;
      const request = { job_id: held.jobId, attempt: held.attempt, runner_id: who.runnerId, phase, ...details };
      let reply;
      try {
        reply = await retryWithin("progress report", () => bus.request(RPC.reportProgress, request, { headers: who.headers }), {
          logger: who.logger,
          withinMs: PROGRESS_RETRY_MS,
        });
      } catch (err) {
        who.logger.warn({ err, phase }, "the scheduler did not take the progress report; going on");
        return;
      }
      if (reply.cancel_requested) held.abort.abort(new Error("cancel requested"));
      if (!reply.accepted && !reply.cancel_requested) stale = true;
    },
  };
}
