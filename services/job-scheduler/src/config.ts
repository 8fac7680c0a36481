import type { Deadlines } from "./domain/state-machine.js";

/** Everything tunable about the scheduler; env.ts maps variables onto it. */
export interface SchedulerConfig extends Deadlines {
  /** Bytes of output kept per job; past it one marker line, and the rest is only counted. */
  maxLogBytes: number;
  /**
   * JSON bytes of log text in one job answer. NATS carries at most 1 MiB per message by
   * default, so a job answer leaves the rest out (with a marker) and /logs pages through it.
   */
  logReplyBytes: number;
  /** After start-up, deadlines wait this long so the streams' backlog is read first. */
  startupGraceMs: number;
  /** How often the outbox relay looks for unpublished jobs. */
  relayIntervalMs: number;
  /** How often the reconciler enforces deadlines and refreshes the job gauge. */
  reconcileIntervalMs: number;
  /** How long a publish waits for the stream's ack before the relay takes over. */
  publishTimeoutMs: number;
  /** Queued + running jobs one tenant may have; a create past it is refused (429). 0: no limit. */
  maxActiveJobsPerTenant: number;
  /** Retry-After of that refusal: jobs end on their own time, so this is a polite guess. */
  activeJobsRetryAfterSeconds: number;
  /** How long an Idempotency-Key names its job; an older key makes a new job. */
  idempotencyKeyTtlMs: number;
  /** Most jobs concurrent creates store in one transaction (and outbox marks in one UPDATE). */
  createBatchRows: number;
  /** Longest a create waits for others to share its transaction with; 0: only those already arrived. */
  createBatchWaitMs: number;
}

const SECOND = 1_000;
const MINUTE = 60 * SECOND;

export const DEFAULT_CONFIG: SchedulerConfig = {
  queuedMs: 24 * 60 * MINUTE,
  envBuildMs: 30 * MINUTE,
  runningGraceMs: 60 * SECOND,
  // Longer than JetStream's AckWait (30 s): a redelivery to a live runner usually comes first.
  heartbeatMs: 90 * SECOND,
  registrationMs: 5 * MINUTE,
  pendingOutcomeMs: 30 * SECOND,
  // 10 MiB: far more than a training log a person reads, little next to the job's own data.
  maxLogBytes: 10 * 1024 * 1024,
  logReplyBytes: 640 * 1024,
  startupGraceMs: 30 * SECOND,
  relayIntervalMs: SECOND,
  reconcileIntervalMs: 5 * SECOND,
  publishTimeoutMs: 5 * SECOND,
  // Generous: a laptop never meets it; deployments shared by teams set their own.
  maxActiveJobsPerTenant: 1_000,
  activeJobsRetryAfterSeconds: 30,
  idempotencyKeyTtlMs: 24 * 60 * MINUTE,
  // 22 bind parameters a row: far below PostgreSQL's 65 535 per statement.
  createBatchRows: 128,
  createBatchWaitMs: 1,
};

/** The defaults with `overrides` on top. */
export function resolveConfig(overrides: Partial<SchedulerConfig> = {}): SchedulerConfig {
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  return { ...DEFAULT_CONFIG, ...defined };
}
