import { describe, expect, it } from "vitest";
import {
  afterFault,
  cancelDecision,
  claimDecision,
  deadlineOf,
  faultsFinish,
  isTerminal,
  MAX_ATTEMPTS,
  logBatchAccepted,
  outcomeTransition,
  outcomeVerdict,
  overdueAction,
  progressAccepted,
  registrationFinish,
  registrationVerdict,
  startsScript,
  type AttemptOutcome,
  type Deadlines,
  type JobState,
} from "./state-machine.js";
import { formatDuration } from "./durations.js";

const T0 = new Date("2026-01-01T00:00:00.000Z");
const at = (ms: number) => new Date(T0.getTime() + ms);

const D: Deadlines = {
  queuedMs: 10_000,
  envBuildMs: 5_000,
  runningGraceMs: 1_000,
  heartbeatMs: 3_000,
  registrationMs: 4_000,
  pendingOutcomeMs: 2_000,
};
const WATCH = { since: at(-1_000_000), startupGraceMs: 0 };

function job(overrides: Partial<JobState> = {}): JobState {
  return {
    job_id: "j1",
    status: "running",
    phase: "running",
    attempt: 1,
    runner_id: "r1",
    cancel_requested: false,
    timeout_seconds: 60,
    deadline_at: at(100_000),
    last_heartbeat_at: T0,
    pending_outcome: null,
    faults: [],
    claimed_seq: null,
    ...overrides,
  };
}

function outcome(overrides: Partial<AttemptOutcome> = {}): AttemptOutcome {
  return {
    attempt: 1,
    runner_id: "r1",
    outcome: "succeeded",
    error_type: null,
    error: null,
    exit_code: 0,
    run_id: "run",
    experiment_id: "1",
    logged_model_id: null,
    logged_model_uri: null,
    duration_seconds: 1,
    last_log_batch: 0,
    received_at: T0.toISOString(),
    ...overrides,
  };
}

describe("isTerminal", () => {
  it("holds for completed, failed and cancelled only", () => {
    expect(["queued", "running", "completed", "failed", "cancelled"].map((s) => isTerminal(s as JobState["status"]))).toEqual([
      false,
      false,
      true,
      true,
      true,
    ]);
  });
});

describe("claimDecision", () => {
  it("grants queued jobs and running jobs whose attempt is live (a redelivery: that attempt was lost)", () => {
    expect(claimDecision(job({ status: "queued", phase: "queued", attempt: 0 }))).toEqual({ grant: true, lost: null });
    expect(claimDecision(job())).toMatchObject({ grant: true, lost: { error_type: "runner_lost" } });
  });
  it("refuses unknown, cancelled and terminal jobs", () => {
    expect(claimDecision(undefined)).toEqual({ grant: false, reason: "not_found", cancelNow: false });
    expect(claimDecision(job({ status: "cancelled", phase: null }))).toEqual({ grant: false, reason: "cancelled", cancelNow: false });
    expect(claimDecision(job({ status: "failed", phase: null }))).toEqual({ grant: false, reason: "terminal", cancelNow: false });
    expect(claimDecision(job({ status: "completed", phase: null }))).toEqual({ grant: false, reason: "terminal", cancelNow: false });
  });
  it("refuses and ends a job whose cancel was requested", () => {
    expect(claimDecision(job({ status: "queued", cancel_requested: true }))).toEqual({ grant: false, reason: "cancelled", cancelNow: true });
    expect(claimDecision(job({ cancel_requested: true }))).toEqual({ grant: false, reason: "cancelled", cancelNow: true });
  });
  it("refuses a job whose attempt already ended", () => {
    expect(claimDecision(job({ phase: "registering" }))).toMatchObject({ grant: false, reason: "terminal" });
    expect(claimDecision(job({ pending_outcome: outcome() }))).toMatchObject({ grant: false, reason: "terminal" });
  });
});

describe("attempt events", () => {
  it("accept progress of the live current attempt only", () => {
    expect(progressAccepted(job(), 1)).toBe(true);
    expect(progressAccepted(job(), 2)).toBe(false);
    expect(progressAccepted(job({ attempt: 2 }), 1)).toBe(false);
    expect(progressAccepted(job({ status: "completed", phase: null }), 1)).toBe(false);
    expect(progressAccepted(job({ pending_outcome: outcome() }), 1)).toBe(false);
    expect(progressAccepted(job({ phase: "registering" }), 1)).toBe(false);
  });
  it("start the script on the first `running` report after the build", () => {
    expect(startsScript(job({ phase: "building_env" }), "running")).toBe(true);
    expect(startsScript(job({ phase: "running" }), "running")).toBe(false);
    expect(startsScript(job({ phase: "building_env" }), "building_env")).toBe(false);
  });
  it("accept log batches of the current attempt also after its outcome arrived", () => {
    expect(logBatchAccepted(job({ pending_outcome: outcome() }), 1)).toBe(true);
    expect(logBatchAccepted(job(), 2)).toBe(false);
    expect(logBatchAccepted(job({ status: "failed", phase: null }), 1)).toBe(false);
    expect(logBatchAccepted(job({ status: "queued", attempt: 0 }), 0)).toBe(false);
  });
  it("apply the first run.completed of the current attempt only", () => {
    expect(outcomeVerdict(job(), 1)).toBe("apply");
    expect(outcomeVerdict(undefined, 1)).toBe("unknown");
    expect(outcomeVerdict(job({ status: "completed", phase: null }), 1)).toBe("terminal");
    expect(outcomeVerdict(job({ attempt: 2 }), 1)).toBe("stale");
    expect(outcomeVerdict(job({ status: "queued", attempt: 0 }), 1)).toBe("stale");
    expect(outcomeVerdict(job({ pending_outcome: outcome() }), 1)).toBe("duplicate");
    expect(outcomeVerdict(job({ phase: "registering" }), 1)).toBe("duplicate");
  });
});

describe("outcomeTransition", () => {
  it("completes a success without a model and registers one with a model", () => {
    expect(outcomeTransition(outcome(), 60)).toEqual({ kind: "finish", finish: { status: "completed", error: null, errorType: null } });
    expect(outcomeTransition(outcome({ logged_model_uri: "models:/m" }), 60)).toEqual({ kind: "register" });
  });
  it("fails the other outcomes with their class, preferring the runner's own error", () => {
    const finish = (o: Partial<AttemptOutcome>) => {
      const t = outcomeTransition(outcome(o), 60);
      return t.kind === "finish" ? t.finish : null;
    };
    expect(finish({ outcome: "failed", exit_code: 2 })).toEqual({ status: "failed", errorType: "script_error", error: "the script exited with code 2" });
    expect(finish({ outcome: "failed", exit_code: null })).toMatchObject({ error: "the script failed" });
    expect(finish({ outcome: "timeout" })).toEqual({ status: "failed", errorType: "timeout", error: "the script ran longer than its timeout of 60 s" });
    expect(finish({ outcome: "env_build_failed" })).toMatchObject({ status: "failed", errorType: "env_build" });
    expect(finish({ outcome: "cancelled", error: "killed" })).toEqual({ status: "cancelled", errorType: null, error: null });
  });
  it("runs again an attempt lost to the platform: MLflow during setup, the runner's own failure, a lost runner", () => {
    expect(outcomeTransition(outcome({ outcome: "failed", error_type: "mlflow", error: "MLflow could not create the job's run: refused" }), 60)).toEqual({
      kind: "retry",
      fault: { error_type: "mlflow", error: "MLflow could not create the job's run: refused" },
    });
    expect(outcomeTransition(outcome({ outcome: "failed", error_type: "runner_error", error: "disk full" }), 60)).toEqual({
      kind: "retry",
      fault: { error_type: "runner_error", error: "disk full" },
    });
    expect(outcomeTransition(outcome({ outcome: "runner_lost" }), 60)).toEqual({
      kind: "retry",
      fault: { error_type: "runner_lost", error: "the runner lost the job" },
    });
  });
});

describe("platform faults", () => {
  const fault = (attempt: number, error_type: "runner_lost" | "mlflow" | "runner_error", error: string) => ({ attempt, error_type, error, at: T0.toISOString() });
  it("retries while attempts are left, at most three in all", () => {
    expect(MAX_ATTEMPTS).toBe(3);
    expect(afterFault(job({ attempt: 1 }), fault(1, "runner_lost", "x"))).toEqual({ kind: "retry" });
    expect(afterFault(job({ attempt: 2 }), fault(2, "runner_lost", "x"))).toEqual({ kind: "retry" });
    expect(afterFault(job({ attempt: 3, faults: [fault(1, "runner_lost", "a"), fault(2, "runner_lost", "b")] }), fault(3, "runner_lost", "runner r3 sent no heartbeat for 90 s"))).toEqual({
      kind: "finish",
      finish: { status: "failed", errorType: "runner_lost", error: "runner lost 3 times: runner r3 sent no heartbeat for 90 s" },
    });
  });
  it("names each attempt's fault when they differ", () => {
    expect(faultsFinish([fault(1, "runner_lost", "r1 silent"), fault(2, "mlflow", "refused"), fault(3, "runner_error", "disk full")])).toEqual({
      status: "failed",
      errorType: "runner_error",
      error: "3 attempts lost to platform faults: attempt 1: runner lost: r1 silent; attempt 2: MLflow unreachable: refused; attempt 3: runner failed: disk full",
    });
  });
  it("refuses another copy of the job's message while the attempt is live; its own message coming back is a loss", () => {
    expect(claimDecision(job({ claimed_seq: "7" }), 9)).toEqual({ grant: false, reason: "duplicate", cancelNow: false });
    expect(claimDecision(job({ claimed_seq: "7" }), 7)).toMatchObject({ grant: true, lost: { error_type: "runner_lost" } });
    expect(claimDecision(job({ status: "queued", phase: "queued", claimed_seq: "7" }), 9)).toEqual({ grant: true, lost: null });
  });
  it("counts a redelivery of a live attempt as a lost runner, and refuses it after the last attempt", () => {
    expect(claimDecision(job({ attempt: 1 }))).toEqual({ grant: true, lost: { error_type: "runner_lost", error: "runner r1 lost the job (it was delivered again)" } });
    expect(claimDecision(job({ status: "queued", phase: "queued", attempt: 1 }))).toEqual({ grant: true, lost: null });
    expect(claimDecision(job({ attempt: 3 }))).toEqual({
      grant: false,
      reason: "terminal",
      cancelNow: false,
      lost: { error_type: "runner_lost", error: "runner r1 lost the job (it was delivered again)" },
    });
  });
});

describe("registration", () => {
  it("completes registering jobs, remembers answers for running ones, ignores the rest", () => {
    expect(registrationVerdict(job({ phase: "registering" }))).toBe("complete");
    expect(registrationVerdict(job())).toBe("remember");
    expect(registrationVerdict(job({ status: "queued", phase: "queued" }))).toBe("ignore");
    expect(registrationVerdict(job({ status: "completed", phase: null }))).toBe("ignore");
    expect(registrationVerdict(undefined)).toBe("ignore");
  });
  it("completes with the version, or with the reason and no version", () => {
    expect(registrationFinish({ model_version: "3", error: null })).toEqual({
      status: "completed",
      error: null,
      errorType: null,
      modelVersion: "3",
      registrationError: null,
    });
    expect(registrationFinish({ model_version: "3", error: "boom" })).toMatchObject({ modelVersion: null, registrationError: "boom" });
  });
});

describe("cancelDecision", () => {
  it("cancels queued jobs now, signals running ones and refuses the rest", () => {
    expect(cancelDecision(job({ status: "queued", phase: "queued" }))).toEqual({ kind: "cancel_now" });
    expect(cancelDecision(job({ attempt: 3 }))).toEqual({ kind: "signal", attempt: 3 });
    expect(cancelDecision(job({ status: "failed", phase: null }))).toEqual({ kind: "refuse", message: "job j1 is already failed" });
    expect(cancelDecision(job({ phase: "registering" }))).toMatchObject({ kind: "refuse", message: expect.stringMatching(/registering/) });
    expect(cancelDecision(job({ pending_outcome: outcome() }))).toMatchObject({ kind: "refuse", message: expect.stringMatching(/already ended/) });
  });
});

describe("overdueAction", () => {
  it("does nothing before a deadline or for a terminal job", () => {
    expect(overdueAction(job({ last_heartbeat_at: at(0) }), at(1_000), D, WATCH)).toBeNull();
    expect(overdueAction(job({ status: "failed", phase: null, deadline_at: at(0) }), at(10_000), D, WATCH)).toBeNull();
  });
  it("fails a job never claimed", () => {
    const queued = job({ status: "queued", phase: "queued", attempt: 0, deadline_at: deadlineOf.queued(T0, D), last_heartbeat_at: null });
    expect(overdueAction(queued, at(9_999), D, WATCH)).toBeNull();
    expect(overdueAction(queued, at(10_000), D, WATCH)).toEqual({
      kind: "finish",
      finish: { status: "failed", errorType: "timeout", error: "not claimed by a runner within 10 s" },
    });
  });
  it("fails a slow environment build and a script past its timeout plus grace", () => {
    const building = job({ phase: "building_env", deadline_at: deadlineOf.buildingEnv(T0, D), last_heartbeat_at: at(4_000) });
    expect(overdueAction(building, at(5_000), D, WATCH)).toMatchObject({ finish: { errorType: "env_build" } });
    // The runner is still heard from after the deadline: its script really overran.
    const running = job({ deadline_at: deadlineOf.running(T0, 2, D), last_heartbeat_at: at(3_001) });
    expect(running.deadline_at).toEqual(at(3_000));
    expect(overdueAction(running, at(3_001), D, WATCH)).toEqual({
      kind: "finish",
      finish: { status: "failed", errorType: "timeout", error: "the script ran longer than its timeout of 60 s (plus 1 s of grace)" },
    });
  });
  it("never fails a script as timed out while its runner is silent: the attempt is lost instead", () => {
    const silent = job({ deadline_at: deadlineOf.running(T0, 2, D), last_heartbeat_at: at(2_500) });
    expect(overdueAction(silent, at(3_000), D, WATCH)).toBeNull();
    expect(overdueAction(silent, at(5_500), D, WATCH)).toEqual({
      kind: "fault",
      fault: { error_type: "runner_lost", error: "runner r1 sent no heartbeat for 3 s" },
    });
  });
  it("counts a silent runner's attempt as lost, and a cancel-requested one as cancelled", () => {
    expect(overdueAction(job({ last_heartbeat_at: T0 }), at(3_000), D, WATCH)).toEqual({
      kind: "fault",
      fault: { error_type: "runner_lost", error: "runner r1 sent no heartbeat for 3 s" },
    });
    expect(overdueAction(job({ last_heartbeat_at: T0, cancel_requested: true }), at(3_000), D, WATCH)).toEqual({
      kind: "finish",
      finish: { status: "cancelled", errorType: null, error: null },
    });
  });
  it("does not watch heartbeats of a job that waits for the registry or for logs", () => {
    const registering = job({ phase: "registering", deadline_at: deadlineOf.registering(T0, D), last_heartbeat_at: at(-60_000) });
    expect(overdueAction(registering, at(3_999), D, WATCH)).toBeNull();
    expect(overdueAction(registering, at(4_000), D, WATCH)).toEqual({
      kind: "finish",
      finish: { status: "completed", error: null, errorType: null, modelVersion: null, registrationError: "the registry did not answer within 4 s" },
    });
    const pending = job({ pending_outcome: outcome(), deadline_at: deadlineOf.pendingOutcome(T0, D), last_heartbeat_at: at(-60_000) });
    expect(overdueAction(pending, at(1_999), D, WATCH)).toBeNull();
    expect(overdueAction(pending, at(2_000), D, WATCH)).toEqual({ kind: "finalize_pending" });
  });
  it("after a restart or a NATS outage, counts silence from the reconnect and lets deadlines wait out the grace", () => {
    const watch = { since: at(10_000), startupGraceMs: 5_000 };
    const heard = job({ last_heartbeat_at: at(14_000), deadline_at: at(12_000) });
    expect(overdueAction(heard, at(14_999), D, watch)).toBeNull();
    expect(overdueAction(heard, at(15_000), D, watch)).toMatchObject({ finish: { errorType: "timeout" } });
    // A script that ended while NATS was away: its deadline passed unheard, its outcome is on its way.
    const ended = job({ last_heartbeat_at: T0, deadline_at: at(3_000) });
    expect(overdueAction(ended, at(12_999), D, watch)).toBeNull();
    expect(overdueAction(ended, at(13_000), D, watch)).toMatchObject({ kind: "fault", fault: { error_type: "runner_lost" } });
  });
});

describe("formatDuration", () => {
  it("uses the largest exact unit", () => {
    expect([86_400_000, 1_800_000, 90_000, 1_500, 250].map(formatDuration)).toEqual(["24 h", "30 min", "90 s", "1.5 s", "250 ms"]);
  });
});
