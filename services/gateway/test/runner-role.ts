import { randomUUID } from "node:crypto";
import type { Bus } from "@asgard/bus";
import { DEFAULT_TENANT, EVENTS, RPC, jobLogSubject, type RunCompleted } from "@asgard/contracts";

const envelope = () => ({ event_id: randomUUID(), schema_version: 1, occurred_at: new Date().toISOString(), tenant: DEFAULT_TENANT });

/**
 * The test plays a python-runner over the real bus: claim (a new attempt), publish log
 * batches 1..n, then run.completed naming the last batch — what the scheduler expects.
 */
export class RunnerRole {
  readonly #lastSeq = new Map<string, number>();
  readonly #batches = new Map<string, number>();

  constructor(
    private readonly bus: Bus,
    readonly runnerId = "gateway-test-runner",
  ) {}

  /** Claims the job and returns the attempt number. */
  async claim(jobId: string): Promise<number> {
    const answer = await this.bus.request(RPC.claimJob, { job_id: jobId, runner_id: this.runnerId, delivery: 1 });
    if (!answer.granted) throw new Error(`claim of ${jobId} refused: ${answer.reason}`);
    return answer.attempt;
  }

  /** Publishes the next batch of lines of an attempt. */
  async log(jobId: string, attempt: number, texts: string[], stream: "stdout" | "stderr" | "system" = "stdout"): Promise<void> {
    const batch = (this.#batches.get(jobId) ?? 0) + 1;
    this.#batches.set(jobId, batch);
    const event = envelope();
    const at = new Date().toISOString();
    const ack = await this.bus.publish(
      EVENTS.jobLog,
      { ...event, job_id: jobId, attempt, batch, lines: texts.map((text) => ({ stream, text, at })) },
      { subject: jobLogSubject(jobId), msgId: event.event_id },
    );
    this.#lastSeq.set(jobId, ack.seq);
  }

  /** Ends the attempt; `last_log_batch` is the last batch this role published. */
  async complete(jobId: string, attempt: number, overrides: Partial<RunCompleted> = {}): Promise<void> {
    const event = envelope();
    await this.bus.publish(
      EVENTS.runCompleted,
      {
        ...event,
        job_id: jobId,
        attempt,
        runner_id: this.runnerId,
        outcome: "succeeded",
        error_type: null,
        error: null,
        exit_code: 0,
        run_id: null,
        experiment_id: null,
        model_name: "gateway-model",
        logged_model_id: null,
        logged_model_uri: null,
        duration_seconds: 1,
        last_log_seq: this.#lastSeq.get(jobId) ?? 0,
        last_log_batch: this.#batches.get(jobId) ?? 0,
        ...overrides,
      },
      { msgId: event.event_id },
    );
  }
}
