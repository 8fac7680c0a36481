import { EVENTS, jobLogSubject, type JobLog } from "@asgard/contracts";
import type { Bus } from "@asgard/bus";
import { retry, type RetryPolicy } from "@asgard/retry";

type Stream = JobLog["lines"][number]["stream"];

/** How an attempt's output is batched, and what bounds it. */
export interface LogBatchOptions {
  maxLines: number;
  maxBytes: number;
  /**
   * Least time between the starts of two batches of an attempt. A line goes out as soon as the
   * runner has read what the pipe held and no batch is in flight, unless the last one left less
   * than this long ago; so a quiet job's lines are sent one by one, and a chatty one costs the
   * scheduler at most 1000 / minIntervalMs transactions a second.
   */
  minIntervalMs: number;
  /**
   * How long the next batch waits for the scheduler to have stored the last one (its
   * `job.log_stored` signal, passed to `stored()`). Sending on only then keeps a busy scheduler
   * from building a queue of small batches: lines gather instead. A lost signal costs this
   * wait once; 0 sends on at JetStream's acknowledgement.
   */
  storedWaitMs: number;
  /**
   * Batches that may be published and not yet stored at once (at least 1). With 2, the lines
   * that come while the scheduler stores one batch already go to JetStream as the next, and the
   * scheduler stores that one straight after: the rest of a burst waits for one store, not for
   * the store, its signal, a publish and a second pull. More would only queue small batches at a
   * busy scheduler. The scheduler keeps them in batch order.
   */
  unstoredBatches: number;
  /**
   * How long a batch whose lines came several in one read of the pipe (the script is writing a
   * burst) waits for the rest of the burst, once, before it goes: a burst goes as one batch and
   * costs one store instead of two, one after the other. A line on its own goes at once. 0: never.
   */
  burstWaitMs: number;
  /**
   * Bytes held for the attempt at most: lines not yet sent plus batches waiting for NATS.
   * Past it a line is dropped (and counted) rather than held, so a flood while NATS is slow
   * costs the runner this much memory, never more, and never stalls the script's pipe.
   */
  bufferBytes: number;
}

/** The rate cap on a job's own output (stdout and stderr; the runner's system lines are exempt). */
export interface LogRateOptions {
  /** Sustained bytes per second. */
  bytesPerSecond: number;
  /** Bytes that may come at once above the rate; at least one line (64 KiB). */
  burstBytes: number;
}

/** A batch NATS does not take is sent again, 100 ms doubling to 5 s, 21 tries (76 s of waiting) in all. */
const LOG_PUBLISH_RETRY: RetryPolicy = { initialMs: 100, maxMs: 5_000, maxAttempts: 21 };

/** Bytes a line costs in a batch beyond its text (stream, timestamp, JSON punctuation). */
const LINE_OVERHEAD = 64;

/**
 * What a line costs in the batch's JSON: a control character escapes to six bytes (`\u0001`),
 * so a text of 64 KiB may take 384 KiB on the wire. Sizing batches by their text let output of
 * mostly control characters make a message over NATS's max_payload, which NATS refuses.
 */
export function lineBytes(text: string): number {
  // The quotes JSON adds are part of LINE_OVERHEAD.
  return Buffer.byteLength(JSON.stringify(text)) - 2 + LINE_OVERHEAD;
}

/**
 * Collects a job attempt's output lines and publishes them as `job.log.<job_id>` batches,
 * one publish at a time and in order, with at most `unstoredBatches` of them not yet stored
 * by the scheduler. Each batch's message id makes a re-send after a NATS hiccup a duplicate,
 * not a second copy.
 *
 * Batching is Nagle-like: a line is published once the read loop is idle (everything the pipe
 * held is read) and no batch is in flight; lines that come while one is in flight gather
 * and go as the next batch when it is acknowledged (and, past `unstoredBatches`, stored).
 * A quiet job's line waits for no timer; a read of several lines waits `burstWaitMs` for the
 * rest of its burst; a flood still makes few, large batches.
 *
 * Output past the rate cap, or past the buffer bound while NATS lags, is dropped with one
 * `[asgard] … output truncated …` line naming the cap; the job itself goes on.
 */
export class LogBatcher {
  private pending: JobLog["lines"] = [];
  /** Bytes of `pending` plus those of the batch being published. */
  private heldBytes = 0;
  private batch = 0;
  private lastSeq = 0;
  /** A send is scheduled (`setImmediate` or the rest of `minIntervalMs`). */
  private timer: { cancel(): void } | null = null;
  /** The loop publishing batches, while one is in flight. */
  private sending: Promise<void> | null = null;
  /** When the last batch started (`now()`); spaces batches by `minIntervalMs`. */
  private sentAt = Number.NEGATIVE_INFINITY;
  /** The highest batch the scheduler said it stored, and the send waiting for it. */
  private storedUpTo = 0;
  /**
   * Whether the scheduler's store signals reach this batcher: until one does (and again after
   * a wait that ran out), batches go out without waiting for them.
   */
  private signalsHeard = true;
  private storeWaiter: { batch: number; done: () => void } | null = null;
  private closing = false;
  private failure: unknown = null;
  private tokens: number;
  private refilledAt: number;
  private rateCapped = false;
  /** Lines dropped for the buffer bound since the last marker. */
  private overflow = { lines: 0, bytes: 0 };

  private readonly jobId: string;
  private readonly attempt: number;
  private readonly tenant: string;

  constructor(
    private readonly bus: Pick<Bus, "publish">,
    /** Which attempt of which job, and the job's tenant (stamped on every batch). */
    of: { jobId: string; attempt: number; tenant: string },
    private readonly options: LogBatchOptions,
    private readonly rate: LogRateOptions,
    /** Sent with every batch: the trace context of the job. */
    private readonly headers?: Record<string, string>,
    private readonly now: () => number = Date.now,
  ) {
    this.jobId = of.jobId;
    this.attempt = of.attempt;
    this.tenant = of.tenant;
    this.tokens = rate.burstBytes;
    this.refilledAt = now();
  }

  line(stream: Stream, text: string): void {
    const size = lineBytes(text);
    if (stream !== "system" && !this.withinRate(size)) {
      if (!this.rateCapped) {
        this.rateCapped = true;
        this.system(
          `[asgard] output truncated: the job wrote faster than its cap of ${this.rate.bytesPerSecond} bytes/s ` +
            `(RUNNER_LOG_RATE_BYTES_PER_SECOND, bursts of ${this.rate.burstBytes} bytes); lines past it are dropped`,
        );
      }
      return;
    }
    // The runner's own lines are few and say how the attempt went: only the job's output is dropped.
    if (stream !== "system") {
      if (this.heldBytes + size > this.options.bufferBytes) {
        this.overflow.lines++;
        this.overflow.bytes += Buffer.byteLength(text);
        return;
      }
      this.noteOverflow();
    }
    this.hold(stream, text, size);
  }

  system(text: string): void {
    this.line("system", text);
  }

  /** The scheduler stored `batch` of `attempt` (a `job.log_stored` signal of the job). */
  stored(attempt: number, batch: number): void {
    if (attempt !== this.attempt) return;
    this.signalsHeard = true;
    this.storedUpTo = Math.max(this.storedUpTo, batch);
    if (this.storeWaiter && this.storedUpTo >= this.storeWaiter.batch) this.storeWaiter.done();
  }

  private hold(stream: Stream, text: string, size: number): void {
    this.pending.push({ stream, text, at: new Date().toISOString() });
    this.heldBytes += size;
    this.schedule(true);
  }

  /** Token bucket: `burstBytes` at most, refilled at `bytesPerSecond`. */
  private withinRate(size: number): boolean {
    const now = this.now();
    this.tokens = Math.min(this.rate.burstBytes, this.tokens + ((now - this.refilledAt) * this.rate.bytesPerSecond) / 1000);
    this.refilledAt = now;
    if (this.tokens < size) return false;
    this.tokens -= size;
    return true;
  }

  /** Once there is room again (or at the end), one line says what the full buffer cost. */
  private noteOverflow(): void {
    if (this.overflow.lines === 0) return;
    const { lines, bytes } = this.overflow;
    this.overflow = { lines: 0, bytes: 0 };
    const text =
      `[asgard] output truncated: ${lines} line${lines === 1 ? "" : "s"} (${bytes} bytes) of output dropped while ` +
      `the runner's log buffer for this job (${this.options.bufferBytes} bytes) was full: NATS took the output more slowly than the job wrote it`;
    this.hold("system", text, lineBytes(text));
  }

  /**
   * Arranges the next send, unless one is arranged or a batch is in flight (its end sends on).
   * `byLine`: called for a line just held, rather than after a batch.
   */
  private schedule(byLine = false): void {
    if (this.timer || this.sending || this.pending.length === 0) return;
    // The first line since the output went quiet: its read may be the start of a burst.
    const afterQuiet = byLine && this.pending.length === 1;
    // Capped: a wall clock set back must not hold the output.
    const wait = Math.min(this.options.minIntervalMs, this.sentAt + this.options.minIntervalMs - this.now());
    const start = () => {
      this.timer = null;
      this.startSending();
    };
    if (wait > 0) {
      const timeout = setTimeout(start, wait);
      this.timer = { cancel: () => clearTimeout(timeout) };
    } else {
      // setImmediate runs after the pending I/O callbacks: the lines of one read go in one batch.
      const immediate = setImmediate(() => {
        if (afterQuiet && this.pending.length > 1 && this.options.burstWaitMs > 0 && !this.closing) {
          const timeout = setTimeout(start, this.options.burstWaitMs);
          this.timer = { cancel: () => clearTimeout(timeout) };
          return;
        }
        start();
      });
      this.timer = { cancel: () => clearImmediate(immediate) };
    }
  }

  private cancelTimer(): void {
    this.timer?.cancel();
    this.timer = null;
  }

  private startSending(): void {
    if (this.sending || this.pending.length === 0) return;
    this.sending = this.sendBatch().finally(() => {
      this.sending = null;
      this.schedule();
    });
  }

  /**
   * Publishes the oldest pending lines, up to `maxLines` and `maxBytes` of JSON: a batch stays
   * within maxBytes unless its one line alone is larger (at most 6 × MAX_LINE_BYTES escaped).
   */
  private async sendBatch(): Promise<void> {
    let count = 0;
    let bytes = 0;
    for (const line of this.pending) {
      const size = lineBytes(line.text);
      if (count === this.options.maxLines || (count > 0 && bytes + size > this.options.maxBytes)) break;
      bytes += size;
      count++;
    }
    const lines = this.pending.splice(0, count);
    this.sentAt = this.now();
    const payload: JobLog = {
      event_id: `${this.jobId}-${this.attempt}-log-${++this.batch}`,
      schema_version: EVENTS.jobLog.schemaVersion,
      occurred_at: new Date().toISOString(),
      tenant: this.tenant,
      job_id: this.jobId,
      attempt: this.attempt,
      batch: this.batch,
      lines,
    };
    try {
      await this.publish(payload);
    } finally {
      this.heldBytes -= bytes;
    }
    // The batch that must be stored before the next one goes: this one's predecessor with 2.
    await this.untilStored(payload.batch - Math.max(1, this.options.unstoredBatches) + 1);
  }

  private untilStored(batch: number): Promise<void> {
    if (this.closing || !this.signalsHeard || this.storedUpTo >= batch || this.options.storedWaitMs <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.storeWaiter = null;
        resolve();
      };
      const timedOut = () => {
        // No word for this batch (a repeat the scheduler dropped, a scheduler that sends no
        // signals, a lost subscription): stop waiting until a signal comes again.
        this.signalsHeard = false;
        done();
      };
      const timer = setTimeout(timedOut, this.options.storedWaitMs);
      this.storeWaiter = { batch, done };
    });
  }

  private async publish(payload: JobLog): Promise<void> {
    const send = () =>
      this.bus.publish(EVENTS.jobLog, payload, {
        subject: jobLogSubject(this.jobId),
        msgId: payload.event_id,
        ...(this.headers ? { headers: this.headers } : {}),
      });
    try {
      const ack = await retry(send, LOG_PUBLISH_RETRY);
      this.lastSeq = Math.max(this.lastSeq, ack.seq);
    } catch (err) {
      this.failure = err;
    }
  }

  /** Sends whatever is pending and waits for every batch; returns the last batch and stream sequence. */
  async close(): Promise<{ lastBatch: number; lastSeq: number; error: unknown }> {
    // The outcome waits for the last batches anyway: no spacing, no waiting for the store.
    this.closing = true;
    this.storeWaiter?.done();
    this.noteOverflow();
    while (this.sending || this.pending.length > 0) {
      this.cancelTimer();
      this.startSending();
      await this.sending;
    }
    this.cancelTimer();
    return { lastBatch: this.batch, lastSeq: this.lastSeq, error: this.failure };
  }
}
