import { SIGNALS, type RunnerHeartbeat } from "@asgard/contracts";
import { recordHeartbeat } from "./db/jobs.js";
import type { SchedulerContext } from "./context.js";

/** Replicas share heartbeats: one database write per heartbeat is enough. */
const HEARTBEAT_QUEUE = "job-scheduler-heartbeats";

/** Marks every (job, attempt) the runner holds as alive; stale attempts match no row. */
export async function recordRunnerHeartbeat(ctx: SchedulerContext, beat: RunnerHeartbeat): Promise<number> {
  const at = ctx.now();
  let alive = 0;
  for (const held of beat.jobs) {
    if (await recordHeartbeat(ctx.db, held.job_id, held.attempt, at)) alive++;
  }
  return alive;
}

export function watchHeartbeats(ctx: SchedulerContext): { stop(): Promise<void> } {
  return ctx.bus.subscribeSignal(SIGNALS.runnerHeartbeat, (beat) => recordRunnerHeartbeat(ctx, beat), {
    queue: HEARTBEAT_QUEUE,
  });
}
