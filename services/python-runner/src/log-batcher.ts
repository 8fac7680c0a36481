import { EVENTS, jobLogSubject, type JobLog } from "@asgard/contracts";
import type { Bus } from "@asgard/bus";

type Stream = JobLog["lines"][number]["stream"];

/**
 * Collects a job attempt's output lines and publishes them as `job.log.<job_id>` batches,
 * one at a time and in order, so batch n is stored before batch n+1 is sent. Each batch's
 * message id makes a re-send after a NATS hiccup a duplicate, not a second copy.
 */
export class LogBatcher {
  private pending: JobLog["lines"] = [];
  private pendingBytes = 0;
  private batch = 0;
  private lastSeq = 0;
  private timer: NodeJS.Timeout | null = null;
  private chain: Promise<void> = Promise.resolve();
  private failure: unknown = null;

  constructor(
    private readonly bus: Bus,
    private readonly jobId: string,
    private readonly attempt: number,
    private readonly options: { maxLines: number; maxBytes: number; flushMs: number },
    /** Sent with every batch: the trace context of the job. */
    private readonly headers?: Record<string, string>,
  ) {}

  line(stream: Stream, text: string): void {
    this.pending.push({ stream, text, at: new Date().toISOString() });
    this.pendingBytes += Buffer.byteLength(text) + 64;
    if (this.pending.length >= this.options.maxLines || this.pendingBytes >= this.options.maxBytes) this.flushSoon(0);
    else this.flushSoon(this.options.flushMs);
  }

  system(text: string): void {
    this.line("system", text);
  }

  private flushSoon(delay: number): void {
    if (delay === 0) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      this.enqueue();
      return;
    }
    this.timer ??= setTimeout(() => {
      this.timer = null;
      this.enqueue();
    }, delay);
  }

  private enqueue(): void {
    if (this.pending.length === 0) return;
    const lines = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    const batch = ++this.batch;
    this.chain = this.chain.then(async () => {
      const payload: JobLog = {
        event_id: `${this.jobId}-${this.attempt}-log-${batch}`,
        schema_version: EVENTS.jobLog.schemaVersion,
        occurred_at: new Date().toISOString(),
        job_id: this.jobId,
        attempt: this.attempt,
        batch,
        lines,
      };
      for (let tries = 0; ; tries++) {
        try {
          const ack = await this.bus.publish(EVENTS.jobLog, payload, {
            subject: jobLogSubject(this.jobId),
            msgId: payload.event_id,
            ...(this.headers ? { headers: this.headers } : {}),
          });
          this.lastSeq = Math.max(this.lastSeq, ack.seq);
          return;
        } catch (err) {
          if (tries >= 20) {
            this.failure = err;
            return;
          }
          await new Promise((r) => setTimeout(r, Math.min(5_000, 100 * 2 ** tries)));
        }
      }
    });
  }

  /** Sends whatever is pending and waits for every batch; returns the last batch and stream sequence. */
  async close(): Promise<{ lastBatch: number; lastSeq: number; error: unknown }> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.enqueue();
    await this.chain;
    return { lastBatch: this.batch, lastSeq: this.lastSeq, error: this.failure };
  }
}
