import { BusError, type Bus, type RequestOptions } from "@asgard/bus";
import {
  LOG_SSE_EVENTS,
  RPC,
  SIGNALS,
  TERMINAL_JOB_STATUSES,
  jobLogStoredSubject,
  type JobLogStored,
  type JobLogsResponse,
  type JobRef,
  type LogEndEvent,
  type LogLinesEvent,
} from "@asgard/contracts";
import type { Logger } from "@asgard/telemetry";
import type { SseSink } from "./sse.js";
import type { LogStreamOptions } from "./training-options.js";
import { Waker } from "./waker.js";

/**
 * Signals held for a stream that is busy sending (a slow client). Past it they are dropped
 * and the stream reads the log instead: memory stays bounded, no line is lost.
 */
const MAX_HELD_SIGNALS = 256;

/** Why a log stream ended. */
export type LogStreamEnd = "end" | "closed" | "gone";

export interface LogStreamRun {
  bus: Bus;
  /** The job, in the scope of the caller that opened the stream (every page is asked in it). */
  ref: JobRef;
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
 * Sends every stored line from `offset` on as `log` events, then follows the scheduler's
 * "lines stored" signals: lines that continue exactly where the stream stands are sent as they
 * come; a signal further on (one was missed), a job that ended, or no signal within
 * `pollIntervalMs` makes it read the log from the scheduler instead. Offsets decide, so a line
 * is never sent twice nor skipped. Once the scheduler says the log is complete it sends `end`.
 * Returns "end" after that, "closed" when aborted, "gone" when the job disappeared. Everything
 * it starts (subscription, timers) is stopped before it returns.
 */
export async function pumpJobLogs(run: LogStreamRun): Promise<LogStreamEnd> {
  const { sink, signal, options } = run;
  const inbox = new SignalInbox();
  const subscription = subscribeStored(run, inbox);
  const keepAlive = setInterval(() => void sink.comment("keep-alive"), options.keepAliveMs);
  try {
    let page = run.first;
    let offset = run.offset;
    // The first page was read before subscribing: read once more, so lines stored in between are not missed.
    let read = true;
    for (;;) {
      if (signal.aborted || !sink.open) return "closed";
      if (page.lines.length > 0) {
        await sendLines(run, { attempt: page.attempt, offset: page.offset, next_offset: page.next_offset, lines: page.lines });
        offset = page.next_offset;
      }
      const status = terminalStatus(page);
      if (status) {
        const end: LogEndEvent = { job_id: run.ref.job_id, status, next_offset: page.next_offset };
        await sink.event(LOG_SSE_EVENTS.end, end);
        return "end";
      }
      // A full page means more lines are stored already: read the next one without waiting.
      read ||= page.lines.length >= options.pageSize;
      while (!read) {
        const next = inbox.take();
        if (next === "read") {
          read = true;
          break;
        }
        if (next === null) {
          const reason = await inbox.waker.wait(options.pollIntervalMs, signal);
          if (reason === "abort") return "closed";
          read = reason === "timeout";
          continue;
        }
        const step = followSignal(next, offset);
        if (step.lines.length > 0) {
          await sendLines(run, { attempt: next.attempt, offset, next_offset: offset + step.lines.length, lines: step.lines });
          offset += step.lines.length;
          if (signal.aborted || !sink.open) return "closed";
        }
        read = step.read;
      }
      read = false;
      const next = await fetchPage(run, inbox.waker, offset);
      if (next === "closed" || next === "gone") return next;
      page = next;
    }
  } finally {
    clearInterval(keepAlive);
    await subscription?.stop();
  }
}

/**
 * What a stream that has sent the log up to `offset` does with a signal: the lines it does not
 * have yet, when the signal's lines reach back to `offset`; and whether to read the log (the
 * signal starts further on, or the job ended).
 */
export function followSignal(stored: JobLogStored, offset: number): { lines: JobLogStored["lines"]; read: boolean } {
  if (stored.offset > offset) return { lines: [], read: true };
  const lines = stored.next_offset > offset ? stored.lines.slice(offset - stored.offset) : [];
  return { lines, read: stored.ended };
}

/** Signals waiting for the stream, and the wake-up that tells it one came. */
class SignalInbox {
  readonly waker = new Waker();
  #held: JobLogStored[] = [];
  #overflowed = false;

  put(stored: JobLogStored): void {
    if (this.#held.length >= MAX_HELD_SIGNALS) {
      this.#held = [];
      this.#overflowed = true;
    } else if (!this.#overflowed) {
      this.#held.push(stored);
    }
    this.waker.wake();
  }

  /** The oldest signal; "read" once some were dropped (the log has what they said); null when none. */
  take(): JobLogStored | "read" | null {
    if (this.#overflowed) {
      this.#overflowed = false;
      this.#held = [];
      return "read";
    }
    return this.#held.shift() ?? null;
  }
}

async function sendLines(run: LogStreamRun, part: Omit<LogLinesEvent, "job_id">): Promise<void> {
  const event: LogLinesEvent = { job_id: run.ref.job_id, ...part };
  await run.sink.event(LOG_SSE_EVENTS.lines, event, String(part.next_offset));
}

function subscribeStored(run: LogStreamRun, inbox: SignalInbox): { stop(): Promise<void> } | null {
  try {
    // The job's subject was opened to this caller by the page the route read in its scope.
    return run.bus.subscribeSignal(SIGNALS.jobLogStored, (stored) => inbox.put(stored), { subject: jobLogStoredSubject(run.ref.job_id) });
  } catch (err) {
    // An id that is no valid subject token cannot be subscribed to; polling still finds every line.
    run.logger.warn({ err, job_id: run.ref.job_id }, "log stream runs without the scheduler's signals");
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
      return await run.bus.request(RPC.getJobLogs, { ...run.ref, offset, limit: run.options.pageSize }, run.requestOptions);
    } catch (err) {
      if (err instanceof BusError && err.code === "NOT_FOUND") return "gone";
      if (!(err instanceof BusError && err.code === "UNAVAILABLE")) throw err;
      if (!warned) run.logger.warn({ err, job_id: run.ref.job_id }, "log stream waits for the job-scheduler");
      warned = true;
      if ((await waker.wait(run.options.pollIntervalMs, run.signal)) === "abort") return "closed";
    }
  }
}
