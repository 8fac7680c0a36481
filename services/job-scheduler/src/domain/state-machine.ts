import {
  TERMINAL_JOB_STATUSES,
  type ERROR_TYPES,
  type JobPhase,
  type JobStatus,
  type RUN_OUTCOMES,
} from "@asgard/contracts";
import { formatDuration } from "./durations.js";

/*
 * The job state machine, free of I/O: every decision about a job (claim, progress, outcome,
 * registration, cancel, deadlines) is a function of the job's current state and its input.
 * The repositories apply the answers inside a transaction that holds the job's row lock.
 *
 *   queued ──claim──▶ running/building_env ──progress──▶ running/running
 *     │  ▲                │  ▲ redelivery: a new attempt  │
 *     │  │                └──┴───────────────────────────┤ run.completed (+ all its log batches)
 *     │  └──── platform fault, attempts left ◀────────────┤ runner silent
 *     ▼                                                   ▼
 *   cancelled / failed(timeout)            completed | failed | cancelled | running/registering
 *                                                          registering ──registry──▶ completed
 *
 * An attempt lost to the platform (its runner lost, MLflow unreachable while its run was set
 * up, the runner's own failure) is not the job's fault: the job runs again, up to
 * MAX_ATTEMPTS attempts in all, and then fails with an error naming the faults.
 */

export type ErrorType = (typeof ERROR_TYPES)[number];
export type RunOutcome = (typeof RUN_OUTCOMES)[number];
export type TerminalStatus = (typeof TERMINAL_JOB_STATUSES)[number];

/** Attempts a job gets in all; only attempts lost to platform faults lead to another. */
export const MAX_ATTEMPTS = 3;

/** Failures of the platform rather than of the job: the attempt is retried. */
export const PLATFORM_FAULTS = ["runner_lost", "mlflow", "runner_error"] as const satisfies readonly ErrorType[];
export type PlatformFault = (typeof PLATFORM_FAULTS)[number];

export function isPlatformFault(errorType: ErrorType | null): errorType is PlatformFault {
  return (PLATFORM_FAULTS as readonly (ErrorType | null)[]).includes(errorType);
}

/** An attempt lost to a platform fault, as the job keeps it. */
export interface AttemptFault {
  attempt: number;
  error_type: PlatformFault;
  error: string;
  /** When the scheduler learned of it (ISO-8601). */
  at: string;
}

/** What an attempt reported when it ended; kept as `pending_outcome` while its logs are incomplete. */
export interface AttemptOutcome {
  attempt: number;
  runner_id: string;
  outcome: RunOutcome;
  error_type: ErrorType | null;
  error: string | null;
  exit_code: number | null;
  run_id: string | null;
  experiment_id: string | null;
  logged_model_id: string | null;
  logged_model_uri: string | null;
  duration_seconds: number;
  /** Batch number of the attempt's last `job.log` batch; 0 when it wrote none. */
  last_log_batch: number;
  /** When the scheduler received it (ISO-8601). */
  received_at: string;
}

/**
 * The registry's answer for a job. It can overtake the run.completed it answers (the registry
 * and the scheduler consume RUNS independently, and the scheduler may still wait for logs),
 * so it is kept until the job reaches `registering`.
 */
export interface EarlyRegistration {
  model_version: string | null;
  error: string | null;
  run_id: string | null;
  received_at: string;
}

/** The fields of a job that decisions read. */
export interface JobState {
  job_id: string;
  status: JobStatus;
  phase: JobPhase | null;
  attempt: number;
  runner_id: string | null;
  cancel_requested: boolean;
  timeout_seconds: number;
  deadline_at: Date | null;
  last_heartbeat_at: Date | null;
  pending_outcome: AttemptOutcome | null;
  faults: AttemptFault[];
  /** Stream sequence of the current attempt's message (int8 as a string), null when unknown. */
  claimed_seq: string | null;
}

/** How a job ends. */
export interface Finish {
  status: TerminalStatus;
  error: string | null;
  errorType: ErrorType | null;
  /** Completed jobs only: the version registered under model_name. */
  modelVersion?: string | null;
  /** Completed jobs only: why the trained model could not be registered. */
  registrationError?: string | null;
}

/** What recording an attempt's outcome does: end the job, wait for the registry, or run it again. */
export type Transition =
  | { kind: "finish"; finish: Finish }
  | { kind: "register" }
  | { kind: "retry"; fault: Pick<AttemptFault, "error_type" | "error"> };

/** Every deadline, in milliseconds. */
export interface Deadlines {
  /** Longest time a job may wait for a runner to claim it. */
  queuedMs: number;
  /** Longest environment build. */
  envBuildMs: number;
  /** Added to the job's own timeout before the scheduler gives up on a running script. */
  runningGraceMs: number;
  /** Longest silence of the runner holding a job. */
  heartbeatMs: number;
  /** Longest wait for the registry once the model was logged. */
  registrationMs: number;
  /** Longest wait for the last log batches of an attempt that already ended. */
  pendingOutcomeMs: number;
}

export function isTerminal(status: JobStatus): status is TerminalStatus {
  return (TERMINAL_JOB_STATUSES as readonly JobStatus[]).includes(status);
}

/** True while the job's current attempt has not reported its end. */
function attemptLive(job: JobState): boolean {
  return job.status === "running" && job.pending_outcome === null && job.phase !== "registering";
}

// ---- Claims -----------------------------------------------------------------------------

export type ClaimDecision =
  /** `lost`: the running attempt this claim replaces, a platform fault to record. */
  | { grant: true; lost: Pick<AttemptFault, "error_type" | "error"> | null }
  /** `lost`: the running attempt was the last one, lost too: the job fails naming its faults. */
  | {
      grant: false;
      reason: "not_found" | "cancelled" | "terminal" | "duplicate";
      cancelNow: boolean;
      lost?: Pick<AttemptFault, "error_type" | "error">;
    };

/**
 * Whether a runner may start a new attempt from the message at stream sequence `seq`. A running
 * job is granted again when its attempt's own message comes back: it was redelivered because
 * its runner died or stalled (a lost attempt), and fencing makes the old attempt harmless —
 * unless that was the last attempt, which ends the job naming its faults. Another copy of the
 * job's message (a re-publish) is a duplicate while the attempt is live: a runner that goes
 * silent is caught by the heartbeat deadline instead. A cancel requested before the claim ends
 * the job here, since no runner will see it otherwise.
 */
export function claimDecision(job: JobState | undefined, seq?: number): ClaimDecision {
  if (!job) return { grant: false, reason: "not_found", cancelNow: false };
  if (job.status === "cancelled") return { grant: false, reason: "cancelled", cancelNow: false };
  if (isTerminal(job.status)) return { grant: false, reason: "terminal", cancelNow: false };
  if (job.cancel_requested) return { grant: false, reason: "cancelled", cancelNow: true };
  // The attempt already ended (its outcome is recorded or waits for logs): running it again
  // would train a second time for a message whose ack was merely lost.
  if (job.status === "running" && !attemptLive(job)) return { grant: false, reason: "terminal", cancelNow: false };
  if (job.status !== "running") return { grant: true, lost: null };
  if (seq !== undefined && job.claimed_seq !== null && String(seq) !== job.claimed_seq) {
    return { grant: false, reason: "duplicate", cancelNow: false };
  }
  const who = job.runner_id ? `runner ${job.runner_id}` : "the runner";
  const lost = { error_type: "runner_lost" as const, error: `${who} lost the job (it was delivered again)` };
  if (job.attempt >= MAX_ATTEMPTS) return { grant: false, reason: "terminal", cancelNow: false, lost };
  return { grant: true, lost };
}

// ---- Platform faults --------------------------------------------------------------------

const FAULT_NAMES: Record<PlatformFault, string> = {
  runner_lost: "runner lost",
  mlflow: "MLflow unreachable",
  runner_error: "runner failed",
};

/** After a fault of the current attempt: another attempt while some are left, else the end. */
export function afterFault(job: Pick<JobState, "attempt" | "faults">, fault: AttemptFault): { kind: "retry" } | { kind: "finish"; finish: Finish } {
  if (job.attempt < MAX_ATTEMPTS) return { kind: "retry" };
  return { kind: "finish", finish: faultsFinish([...job.faults, fault]) };
}

/**
 * How a job that ran out of attempts fails: "runner lost 3 times: <the last one>", or each
 * attempt's fault when they differ. Its error_type is the last fault's.
 */
export function faultsFinish(faults: ReadonlyArray<Pick<AttemptFault, "attempt" | "error_type" | "error">>): Finish {
  const last = faults.at(-1);
  if (!last) return { status: "failed", errorType: "runner_lost", error: "the job ran out of attempts" };
  const same = faults.every((f) => f.error_type === last.error_type);
  const error = same
    ? `${FAULT_NAMES[last.error_type]} ${faults.length} time${faults.length === 1 ? "" : "s"}: ${last.error}`
    : `${faults.length} attempts lost to platform faults: ${faults.map((f) => `attempt ${f.attempt}: ${FAULT_NAMES[f.error_type]}: ${f.error}`).join("; ")}`;
  return { status: "failed", errorType: last.error_type, error };
}

// ---- Attempt events (progress, logs, run.completed) -------------------------------------

/** Progress is recorded only for the live current attempt. */
export function progressAccepted(job: JobState, attempt: number): boolean {
  return job.attempt === attempt && attemptLive(job);
}

/** Whether a progress report moves the attempt from building its environment to running the script. */
export function startsScript(job: JobState, reportedPhase: JobPhase): boolean {
  return reportedPhase === "running" && job.phase === "building_env";
}

/**
 * Log batches are stored for the current attempt of a live job, also after its run.completed
 * (they may arrive later; the outcome waits for them). Stale attempts are fenced off.
 */
export function logBatchAccepted(job: JobState, attempt: number): boolean {
  return job.status === "running" && job.attempt === attempt;
}

export type OutcomeVerdict = "apply" | "unknown" | "terminal" | "stale" | "duplicate";

/** Whether a run.completed is the first end of the job's current attempt. */
export function outcomeVerdict(job: JobState | undefined, attempt: number): OutcomeVerdict {
  if (!job) return "unknown";
  if (isTerminal(job.status)) return "terminal";
  if (job.status !== "running" || job.attempt !== attempt) return "stale";
  if (!attemptLive(job)) return "duplicate";
  return "apply";
}

/** Maps an attempt's outcome to the job's next state. */
export function outcomeTransition(o: AttemptOutcome, timeoutSeconds: number): Transition {
  if (o.outcome === "runner_lost" || (o.outcome === "failed" && isPlatformFault(o.error_type))) {
    return { kind: "retry", fault: { error_type: isPlatformFault(o.error_type) ? o.error_type : "runner_lost", error: o.error ?? "the runner lost the job" } };
  }
  const failed = (errorType: ErrorType, fallback: string): Transition => ({
    kind: "finish",
    finish: { status: "failed", errorType: o.error_type ?? errorType, error: o.error ?? fallback },
  });
  switch (o.outcome) {
    case "succeeded":
      return o.logged_model_uri
        ? { kind: "register" }
        : { kind: "finish", finish: { status: "completed", error: null, errorType: null } };
    case "failed":
      return failed(
        "script_error",
        o.exit_code === null ? "the script failed" : `the script exited with code ${o.exit_code}`,
      );
    case "timeout":
      return failed("timeout", `the script ran longer than its timeout of ${timeoutSeconds} s`);
    case "env_build_failed":
      return failed("env_build", "the job's Python environment could not be built");
    case "cancelled":
      return { kind: "finish", finish: { status: "cancelled", error: null, errorType: null } };
  }
}

// ---- Registration -----------------------------------------------------------------------

export type RegistrationVerdict = "complete" | "remember" | "ignore";

/** A registry answer completes a registering job, is kept for a job still running, else ignored. */
export function registrationVerdict(job: JobState | undefined): RegistrationVerdict {
  if (!job || isTerminal(job.status) || job.status !== "running") return "ignore";
  return job.phase === "registering" ? "complete" : "remember";
}

/** How a registry answer completes a job: trained either way, with a version or the reason there is none. */
export function registrationFinish(reg: Pick<EarlyRegistration, "model_version" | "error">): Finish {
  return {
    status: "completed",
    error: null,
    errorType: null,
    modelVersion: reg.error === null ? reg.model_version : null,
    registrationError: reg.error,
  };
}

// ---- Cancel -----------------------------------------------------------------------------

export type CancelDecision =
  | { kind: "cancel_now" }
  | { kind: "signal"; attempt: number }
  | { kind: "refuse"; message: string };

/** Queued: cancelled at once. Running: the runner is told. Otherwise a conflict. */
export function cancelDecision(job: JobState): CancelDecision {
  if (isTerminal(job.status)) return { kind: "refuse", message: `job ${job.job_id} is already ${job.status}` };
  if (job.status === "queued") return { kind: "cancel_now" };
  if (job.phase === "registering") {
    return { kind: "refuse", message: `job ${job.job_id} has finished training and is registering its model` };
  }
  if (job.pending_outcome !== null) {
    return { kind: "refuse", message: `job ${job.job_id} has already ended; its result is being recorded` };
  }
  return { kind: "signal", attempt: job.attempt };
}

// ---- Deadlines --------------------------------------------------------------------------

const plus = (at: Date, ms: number) => new Date(at.getTime() + ms);

/** The deadline a job gets on entering each state. */
export const deadlineOf = {
  queued: (createdAt: Date, d: Deadlines) => plus(createdAt, d.queuedMs),
  buildingEnv: (now: Date, d: Deadlines) => plus(now, d.envBuildMs),
  running: (now: Date, timeoutSeconds: number, d: Deadlines) => plus(now, timeoutSeconds * 1000 + d.runningGraceMs),
  registering: (now: Date, d: Deadlines) => plus(now, d.registrationMs),
  pendingOutcome: (now: Date, d: Deadlines) => plus(now, d.pendingOutcomeMs),
};

/** Since when this scheduler hears NATS (started, or reconnected), and how long it lets the backlog drain first. */
export interface Watch {
  since: Date;
  /**
   * After a restart, outcomes and heartbeats sent while the scheduler was down are still in
   * the streams; deadlines wait this long so they are not mistaken for silence.
   */
  startupGraceMs: number;
}

export type OverdueAction =
  | { kind: "finish"; finish: Finish }
  | { kind: "finalize_pending" }
  | { kind: "fault"; fault: Pick<AttemptFault, "error_type" | "error"> }
  | null;

/** What the reconciler does with a job at `now`: nothing, end it, or finalize its pending outcome. */
export function overdueAction(job: JobState, now: Date, d: Deadlines, watch: Watch): OverdueAction {
  if (isTerminal(job.status)) return null;
  const floor = watch.since.getTime() + watch.startupGraceMs;
  const due = (at: Date | null) => at !== null && Math.max(at.getTime(), floor) <= now.getTime();
  const fail = (errorType: ErrorType, error: string): OverdueAction =>
    job.cancel_requested
      ? { kind: "finish", finish: { status: "cancelled", error: null, errorType: null } }
      : { kind: "finish", finish: { status: "failed", errorType, error } };

  if (job.pending_outcome !== null) return due(job.deadline_at) ? { kind: "finalize_pending" } : null;
  if (job.status === "queued") {
    return due(job.deadline_at) ? fail("timeout", `not claimed by a runner within ${formatDuration(d.queuedMs)}`) : null;
  }
  if (job.phase === "registering") {
    return due(job.deadline_at)
      ? {
          kind: "finish",
          finish: registrationFinish({
            model_version: null,
            error: `the registry did not answer within ${formatDuration(d.registrationMs)}`,
          }),
        }
      : null;
  }
  if (due(job.deadline_at) && job.phase === "building_env") {
    return fail("env_build", `the environment was not built within ${formatDuration(d.envBuildMs)}`);
  }
  // The runner times the script and stops it itself. The scheduler's deadline only catches a
  // runner still heard from after it: one that went silent (its script's time unknown, maybe
  // finished while NATS was away) is a lost attempt below, never a timeout.
  if (due(job.deadline_at) && job.deadline_at !== null && (job.last_heartbeat_at?.getTime() ?? 0) > job.deadline_at.getTime()) {
    return fail(
      "timeout",
      `the script ran longer than its timeout of ${job.timeout_seconds} s (plus ${formatDuration(d.runningGraceMs)} of grace)`,
    );
  }
  // Heartbeats missed while this scheduler could not hear them (not running, or cut off from
  // NATS) do not count against the runner.
  const heard = Math.max(job.last_heartbeat_at?.getTime() ?? 0, watch.since.getTime());
  if (heard + d.heartbeatMs <= now.getTime()) {
    if (job.cancel_requested) return { kind: "finish", finish: { status: "cancelled", error: null, errorType: null } };
    const who = job.runner_id ? `runner ${job.runner_id}` : "the runner";
    return { kind: "fault", fault: { error_type: "runner_lost", error: `${who} sent no heartbeat for ${formatDuration(d.heartbeatMs)}` } };
  }
  return null;
}
