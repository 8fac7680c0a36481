import { SIGNALS, jobLogStoredSubject, type JobLogStored } from "@asgard/contracts";
import type { NewLogLine } from "./db/logs.js";
import { fitPage } from "./domain/log-plan.js";
import { toLogLine } from "./domain/mapper.js";
import type { SchedulerContext } from "./context.js";

/**
 * Tells the job's log streams what was just committed: `lines` stored from `offset` on, and
 * whether the job ended. Called after the commit only, so a stream never sends a line that a
 * rollback takes back. The lines go along when they fit one reply as `getJobLogs` would send
 * them (no line shortened); otherwise only where the log now ends, and streams read them.
 */
export function announceLog(
  ctx: SchedulerContext,
  job: { jobId: string; attempt: number; batch?: number },
  offset: number,
  lines: readonly NewLogLine[],
  ended: boolean,
): void {
  const page = lines.map(toLogLine);
  const fitted = fitPage(page, ctx.config.logReplyBytes);
  const whole = fitted.length === page.length && fitted[fitted.length - 1] === page[page.length - 1];
  const end = offset + lines.length;
  const signal: JobLogStored = {
    job_id: job.jobId,
    attempt: job.attempt,
    offset: whole ? offset : end,
    next_offset: end,
    lines: whole ? page : [],
    ended,
    ...(job.batch ? { batch: job.batch } : {}),
  };
  ctx.bus.publishSignal(SIGNALS.jobLogStored, signal, { subject: jobLogStoredSubject(job.jobId) });
}
