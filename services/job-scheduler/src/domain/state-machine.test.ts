import { describe, expect, it } from "vitest";
import {
  cancelDecision,
  claimDecision,
  deadlineOf,
  isTerminal,
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
  it("grants queued jobs and running jobs whose attempt is live (a redelivery)", () => {
    expect(claimDecision(job({ status: "queued", phase: "queued", attempt: 0 }))).toEqual({ grant: true });
    expect(claimDecision(job())).toEqual({ grant: true });
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
    expect(finish({ outcome: "failed", error_type: "mlflow", error: "x" })).toEqual({ status: "failed", errorType: "mlflow", error: "x" });
    expect(finish({ outcome: "timeout" })).toEqual({ status: "failed", errorType: "timeout", error: "the script ran longer than its timeout of 60 s" });
    expect(finish({ outcome: "env_build_failed" })).toMatchObject({ status: "failed", errorType: "env_build" });
    expect(finish({ outcome: "runner_lost" })).toMatchObject({ status: "failed", errorType: "runner_lost" });
    expect(finish({ outcome: "cancelled", error: "killed" })).toEqual({ status: "cancelled", errorType: null, error: null });
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
    const running = job({ deadline_at: deadlineOf.running(T0, 2, D), last_heartbeat_at: at(2_500) });
    expect(running.deadline_at).toEqual(at(3_000));
    expect(overdueAction(running, at(3_000), D, WATCH)).toEqual({
      kind: "finish",
      finish: { status: "failed", errorType: "timeout", error: "the script ran longer than its timeout of 60 s (plus 1 s of grace)" },
    });
  });
  it("fails a job whose runner went silent, as cancelled when a cancel was requested", () => {
    expect(overdueAction(job({ last_heartbeat_at: T0 }), at(3_000), D, WATCH)).toEqual({
      kind: "finish",
      finish: { status: "failed", errorType: "runner_lost", error: "runner r1 sent no heartbeat for 3 s" },
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
  it("after a restart, counts silence from the restart and lets deadlines wait out the grace", () => {
    const watch = { since: at(10_000), startupGraceMs: 5_000 };
    const silent = job({ last_heartbeat_at: T0, deadline_at: at(12_000) });
    expect(overdueAction(silent, at(12_000), D, watch)).toBeNull();
    expect(overdueAction(silent, at(15_000), D, watch)).toMatchObject({ finish: { errorType: "timeout" } });
    expect(overdueAction(job({ last_heartbeat_at: T0, deadline_at: at(100_000) }), at(13_000), D, watch)).toMatchObject({
      finish: { errorType: "runner_lost" },
    });
  });
});

describe("formatDuration", () => {
  it("uses the largest exact unit", () => {
    expect([86_400_000, 1_800_000, 90_000, 1_500, 250].map(formatDuration)).toEqual(["24 h", "30 min", "90 s", "1.5 s", "250 ms"]);
  });
});
