import { BusError, type Bus, type RequestOptions } from "@asgard/bus";
import {
  EVENTS,
  LOG_SSE_EVENTS,
  RPC,
  TERMINAL_JOB_STATUSES,
  jobLogSubject,
  type JobLogsResponse,
  type LogEndEvent,
  type LogLinesEvent,
} from "@asgard/contracts";
import type { Logger } from "@asgard/telemetry";
import type { SseSink } from "./sse.js";
import type { LogStreamOptions } from "./training-options.js";
import { Waker } from "./waker.js";

/**
 * Re-checks after a wake-up that found nothing new: the batch is published before the
 * scheduler stores it, so the first look may come too early.
 */
const RECHECK_AFTER_WAKE_MS = [25, 50, 100, 200, 400];

/** Why a log stream ended. */
export type LogStreamEnd = "end" | "closed" | "gone";

export interface LogStreamRun {
  bus: Bus;
  jobId: string;
  /** First line to send. */
  offset: number;
  /** The page already fetched at `offset` (it told the route the job exists). */
  first: JobLogsResponse;
  sink: SseSink;
  /** Aborted when the client leaves or the gateway shuts down. */
  signal: AbortSignal;
  options: LogStreamOptions;
  logger: Logger;
  /** Sent with every page request (the trace headers of the request that opened the stream). */
  requestOptions?: RequestOptions;
}

/**
 * Sends every stored line from `offset` on as `log` events, waits for more (a wake-up on the
 * job's log subject, or at the latest every `pollIntervalMs`), and once the scheduler says
 * the log is complete sends `end`. Returns "end" after that, "closed" when aborted, "gone"
 * when the job disappeared. Everything it starts (subscription, timers) is stopped before it
 * returns.
 */
export async function pumpJobLogs(run: LogStreamRun): Promise<LogStreamEnd> {
  const { sink, signal, options } = run;
  const waker = new Waker();
  const subscription = subscribeWakeups(run, waker);
  const keepAlive = setInterval(() => void sink.comment("keep-alive"), options.keepAliveMs);
  try {
    let page = run.first;
    let offset = run.offset;
    // The first page was fetched before subscribing: look again at once, so a batch stored in between is not missed.
    let rechecks: number[] = [0];
    for (;;) {
      if (signal.aborted || !sink.open) return "closed";
      if (page.lines.length > 0) {
        const event: LogLinesEvent = {
          job_id: run.jobId,
          attempt: page.attempt,
          offset: page.offset,
          next_offset: page.next_offset,
          lines: page.lines,
        };
        await sink.event(LOG_SSE_EVENTS.lines, event, String(page.next_offset));
        offset = page.next_offset;
        rechecks = [];
      }
      const status = terminalStatus(page);
      if (status) {
        const end: LogEndEvent = { job_id: run.jobId, status, next_offset: page.next_offset };
        await sink.event(LOG_SSE_EVENTS.end, end);
        return "end";
      }
      // A full page means more lines are stored already: fetch the next one without waiting.
      if (page.lines.length < options.pageSize) {
        const reason = await waker.wait(rechecks.shift() ?? options.pollIntervalMs, signal);
        if (reason === "abort") return "closed";
        if (reason === "wake") rechecks = [...RECHECK_AFTER_WAKE_MS];
      }
      const next = await fetchPage(run, waker, offset);
      if (next === "closed" || next === "gone") return next;
      page = next;
    }
  } finally {
    clearInterval(keepAlive);
    await subscription?.stop();
  }
}

function subscribeWakeups(run: LogStreamRun, waker: Waker): { stop(): Promise<void> } | null {
  try {
    // Only to learn that new lines may exist: the lines themselves are read from the scheduler.
    return run.bus.watchEvent(EVENTS.jobLog, () => waker.wake(), { subject: jobLogSubject(run.jobId) });
  } catch (err) {
    // An id that is no valid subject token cannot be subscribed to; polling still finds every line.
    run.logger.warn({ err, job_id: run.jobId }, "log stream runs without wake-ups");
    return null;
  }
}

function terminalStatus(page: JobLogsResponse): LogEndEvent["status"] | null {
  if (!page.complete) return null;
  return (TERMINAL_JOB_STATUSES as readonly string[]).includes(page.status) ? (page.status as LogEndEvent["status"]) : null;
}

/**
 * One page from the scheduler. While it is unreachable the stream stays open and retries
 * (the client keeps its place; keep-alives continue); a job that vanished ends the stream.
 */
async function fetchPage(run: LogStreamRun, waker: Waker, offset: number): Promise<JobLogsResponse | "closed" | "gone"> {
  let warned = false;
  for (;;) {
    if (run.signal.aborted) return "closed";
    try {
      return await run.bus.request(RPC.getJobLogs, { job_id: run.jobId, offset, limit: run.options.pageSize }, run.requestOptions);
    } catch (err) {
      if (err instanceof BusError && err.code === "NOT_FOUND") return "gone";
      if (!(err instanceof BusError && err.code === "UNAVAILABLE")) throw err;
      if (!warned) run.logger.warn({ err, job_id: run.jobId }, "log stream waits for the job-scheduler");
      warned = true;
      if ((await waker.wait(run.options.pollIntervalMs, run.signal)) === "abort") return "closed";
    }
  }
}
