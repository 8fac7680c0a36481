import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONSUMERS, EVENTS, RPC, SIGNALS, jobLogStoredSubject, type JobLogDeadLetter, type JobLogStored, type RunCompleted } from "@asgard/contracts";
import { DEAD_LETTER_AFTER_DELIVERIES } from "../src/consumers/job-logs.js";
import {
  claimGranted,
  createJob,
  engines,
  eventually,
  getJob,
  LOCAL_SCOPE,
  publishLog,
  publishRegistered,
  publishRegistrationFailed,
  publishRunCompleted,
  startTestEnv,
  suiteTitle,
  type TestEnv,
} from "./support/harness.js";

const MAX_LOG_BYTES = 2_048;

describe(suiteTitle("job-scheduler: logs, outcomes and registration"), () => {
  describe.each(engines)("on $name", (engine) => {
    let env: TestEnv;

    beforeAll(async () => {
      env = await startTestEnv(engine, { maxLogBytes: MAX_LOG_BYTES });
    });
    afterAll(async () => {
      await env?.dispose();
    });

    /** A running job (attempt 1) whose script started. */
    async function runningJob() {
      const job = await createJob(env.bus);
      const attempt = await claimGranted(env.bus, job.job_id);
      await env.bus.request(RPC.reportProgress, { job_id: job.job_id, attempt, runner_id: "runner-a", phase: "running", run_id: `run-${job.job_id}` });
      return { jobId: job.job_id, attempt };
    }

    /** Waits until every earlier run.completed was processed, by finishing a job of its own after them. */
    async function runsBarrier(): Promise<void> {
      const { jobId } = await runningJob();
      await publishRunCompleted(env.bus, jobId, 1);
      await eventually(() => getJob(env.bus, jobId), (j) => j.status === "completed");
    }

    it("stores batches in order and pages through them; complete once the job is terminal", async () => {
      const { jobId, attempt } = await runningJob();
      await publishLog(env.bus, jobId, attempt, 1, ["one", "two"]);
      await publishLog(env.bus, jobId, attempt, 2, ["three"], "stderr");
      await eventually(() => getJob(env.bus, jobId), (j) => j.logs === "one\ntwo\nthree");

      const page = await env.bus.request(RPC.getJobLogs, { job_id: jobId, scope: LOCAL_SCOPE, offset: 1, limit: 1 });
      expect(page).toMatchObject({ job_id: jobId, attempt: 1, offset: 1, next_offset: 2, status: "running", complete: false });
      expect(page.lines).toEqual([expect.objectContaining({ stream: "stdout", text: "two" })]);
      const rest = await env.bus.request(RPC.getJobLogs, { job_id: jobId, scope: LOCAL_SCOPE, offset: 2, limit: 100 });
      expect(rest.lines.map((l) => [l.stream, l.text])).toEqual([["stderr", "three"]]);
      expect(rest.complete).toBe(false);

      await publishRunCompleted(env.bus, jobId, attempt, { last_log_batch: 2 });
      await eventually(() => getJob(env.bus, jobId), (j) => j.status === "completed");
      const end = await env.bus.request(RPC.getJobLogs, { job_id: jobId, scope: LOCAL_SCOPE, offset: 3, limit: 100 });
      expect(end).toMatchObject({ next_offset: 3, lines: [], status: "completed", complete: true });
    });

    it("tells log streams what it stored once committed: each batch's lines at their offsets, then the end", async () => {
      const { jobId, attempt } = await runningJob();
      const signals: JobLogStored[] = [];
      const sub = env.bus.subscribeSignal(SIGNALS.jobLogStored, (s) => void signals.push(s), { subject: jobLogStoredSubject(jobId) });
      try {
        await publishLog(env.bus, jobId, attempt, 1, ["one", "two"]);
        await publishLog(env.bus, jobId, attempt, 2, ["three"], "stderr");
        await publishRunCompleted(env.bus, jobId, attempt, { last_log_batch: 2 });
        await eventually(async () => signals, (all) => all.some((s) => s.ended));
        expect(signals.map(({ offset, next_offset, ended }) => ({ offset, next_offset, ended }))).toEqual([
          { offset: 0, next_offset: 2, ended: false },
          { offset: 2, next_offset: 3, ended: false },
          { offset: 3, next_offset: 3, ended: true },
        ]);
        // The lines exactly as a page read afterwards gives them.
        const page = await env.bus.request(RPC.getJobLogs, { job_id: jobId, scope: LOCAL_SCOPE, offset: 0, limit: 10 });
        expect(signals.flatMap((s) => s.lines)).toEqual(page.lines);
        expect(signals.every((s) => s.job_id === jobId && s.attempt === attempt)).toBe(true);
        // The runner's batch each came from, so it sends its next one.
        expect(signals.map((s) => s.batch)).toEqual([1, 2, undefined]);
      } finally {
        await sub.stop();
      }
    });

    it("stores a batch that overtook the one before it after that one", async () => {
      const { jobId, attempt } = await runningJob();
      const signals: JobLogStored[] = [];
      const sub = env.bus.subscribeSignal(SIGNALS.jobLogStored, (s) => void signals.push(s), { subject: jobLogStoredSubject(jobId) });
      try {
        await publishLog(env.bus, jobId, attempt, 1, ["one"]);
        await eventually(async () => signals, (all) => all.length === 1);
        // As two scheduler replicas may pull a runner's two unstored batches: the second first.
        await publishLog(env.bus, jobId, attempt, 3, ["three"]);
        await publishLog(env.bus, jobId, attempt, 2, ["two"]);
        await eventually(() => getJob(env.bus, jobId), (j) => j.logs === "one\ntwo\nthree");
        await eventually(async () => signals, (all) => all.length === 3);
        expect(signals.map(({ batch, offset, next_offset }) => ({ batch, offset, next_offset }))).toEqual([
          { batch: 1, offset: 0, next_offset: 1 },
          { batch: 2, offset: 1, next_offset: 2 },
          { batch: 3, offset: 2, next_offset: 3 },
        ]);
      } finally {
        await sub.stop();
      }
    });

    it("keeps a batch waiting for the one before it for seconds, as long as that one's redeliveries after failures take", async () => {
      const { jobId, attempt } = await runningJob();
      await publishLog(env.bus, jobId, attempt, 1, ["one"]);
      await eventually(() => getJob(env.bus, jobId), (j) => j.logs === "one");
      await publishLog(env.bus, jobId, attempt, 3, ["three"]);
      // Batch 2 back after its first two failed deliveries (1 s, then 2 s of back-off).
      await new Promise((r) => setTimeout(r, 3_000));
      expect((await getJob(env.bus, jobId)).logs).toBe("one");
      await publishLog(env.bus, jobId, attempt, 2, ["two"]);
      await eventually(() => getJob(env.bus, jobId), (j) => j.logs === "one\ntwo\nthree");
    });

    it("stores a line with NUL bytes without them, and the batches after it", async () => {
      const { jobId, attempt } = await runningJob();
      await publishLog(env.bus, jobId, attempt, 1, ["before", "bin\u0000ary\u0000", "\u0000"]);
      await publishLog(env.bus, jobId, attempt, 2, ["after"]);
      await eventually(() => getJob(env.bus, jobId), (j) => j.logs === "before\nbinary\n\nafter");
    });

    it("stores lone surrogates as U+FFFD, and the batches after it", async () => {
      const { jobId, attempt } = await runningJob();
      await publishLog(env.bus, jobId, attempt, 1, ["half \uD800 pair", "\uDC00", "whole \uD83D\uDE80"]);
      await publishLog(env.bus, jobId, attempt, 2, ["after"]);
      await eventually(() => getJob(env.bus, jobId), (j) => j.logs === "half \uFFFD pair\n\uFFFD\nwhole 🚀\nafter");
    });

    it("parks a batch the database refuses on the dead-letter subject, while other jobs' batches are stored", async () => {
      const parked: JobLogDeadLetter[] = [];
      const watch = env.bus.watchEvent(EVENTS.jobLogDeadLetter, (letter) => parked.push(letter));
      await env.bus.rtt();
      try {
        const poisoned = await runningJob();
        const other = await runningJob();
        // A batch number past PostgreSQL's integer range: the schema lets it through, the database never will.
        await publishLog(env.bus, poisoned.jobId, poisoned.attempt, 2 ** 31, ["never stored"]);
        await publishLog(env.bus, other.jobId, other.attempt, 1, ["stored meanwhile"]);
        await eventually(() => getJob(env.bus, other.jobId), (j) => j.logs === "stored meanwhile");
        const letters = await eventually(async () => parked, (p) => p.length > 0);
        expect(letters).toEqual([
          expect.objectContaining({
            job_id: poisoned.jobId,
            attempt: poisoned.attempt,
            batch: 2 ** 31,
            stream: "JOB_LOGS",
            delivery_count: DEAD_LETTER_AFTER_DELIVERIES,
            error: expect.stringMatching(/^22003: /),
          }),
        ]);
        // Parked means acked: nothing of it waits for another delivery.
        await eventually(() => env.bus.consumerPending(CONSUMERS.schedulerLogs), (p) => p.pending === 0 && p.ackPending === 0);
        await publishLog(env.bus, poisoned.jobId, poisoned.attempt, 1, ["the job's log goes on"]);
        await eventually(() => getJob(env.bus, poisoned.jobId), (j) => j.logs === "the job's log goes on");
      } finally {
        await watch.stop();
      }
    });

    it("drops a redelivered batch and the batches of a stale attempt", async () => {
      const { jobId } = await runningJob();
      await publishLog(env.bus, jobId, 1, 1, ["first attempt"]);
      await publishLog(env.bus, jobId, 1, 1, ["first attempt"]);
      await eventually(() => getJob(env.bus, jobId), (j) => j.logs.includes("first attempt"));
      expect(await claimGranted(env.bus, jobId, "runner-b")).toBe(2);
      await publishLog(env.bus, jobId, 1, 2, ["late line of attempt 1"]);
      await publishLog(env.bus, jobId, 2, 1, ["second attempt"]);
      const job = await eventually(() => getJob(env.bus, jobId), (j) => j.logs.includes("second attempt"));
      expect(job.logs.split("\n")).toEqual([
        "first attempt",
        "[asgard] attempt 1 lost: runner runner-a lost the job (it was delivered again)",
        "[attempt 2 started on runner runner-b; output of earlier attempts ends above]",
        "second attempt",
      ]);
    });

    it("keeps at most maxLogBytes of output, with one truncation marker", async () => {
      const { jobId, attempt } = await runningJob();
      const line = "x".repeat(99); // 100 bytes with its newline
      await publishLog(env.bus, jobId, attempt, 1, Array.from({ length: 15 }, () => line));
      await publishLog(env.bus, jobId, attempt, 2, Array.from({ length: 15 }, () => line));
      await publishLog(env.bus, jobId, attempt, 3, ["after the bound"]);
      await publishRunCompleted(env.bus, jobId, attempt, { last_log_batch: 3 });
      const job = await eventually(() => getJob(env.bus, jobId), (j) => j.status === "completed");
      const lines = job.logs.split("\n");
      // Whole lines up to the bound: 20 of 100 bytes fit in 2 048.
      expect(lines.filter((l) => l === line)).toHaveLength(Math.floor(MAX_LOG_BYTES / 100));
      const marker = `[asgard] output truncated: the job's output reached its cap of ${MAX_LOG_BYTES} bytes (MAX_LOG_BYTES); the rest is not kept`;
      expect(lines.filter((l) => l.includes("output truncated"))).toEqual([marker]);
      expect(lines[lines.length - 1]).toBe(marker);
      expect(job.logs_truncated).toBe(true);
    });

    it("keeps a job running until the last log batch of its outcome arrives, then ends it with complete logs", async () => {
      const { jobId, attempt } = await runningJob();
      await publishLog(env.bus, jobId, attempt, 1, ["a"]);
      await publishRunCompleted(env.bus, jobId, attempt, { outcome: "failed", exit_code: 3, last_log_batch: 3 });
      await publishLog(env.bus, jobId, attempt, 3, ["c"]);
      // Batch 2 never comes in time: 3 is stored after its wait for it (ORDER_WAIT_MS).
      await eventually(() => getJob(env.bus, jobId), (j) => j.logs === "a\nc", 300);
      await runsBarrier();
      const waiting = await getJob(env.bus, jobId);
      expect(waiting).toMatchObject({ status: "running", completed_at: null });
      const logsWaiting = await env.bus.request(RPC.getJobLogs, { job_id: jobId, scope: LOCAL_SCOPE, offset: 0, limit: 10 });
      expect(logsWaiting.complete).toBe(false);

      await publishLog(env.bus, jobId, attempt, 2, ["b"]);
      const done = await eventually(() => getJob(env.bus, jobId), (j) => j.status === "failed");
      expect(done).toMatchObject({ logs: "a\nc\nb", exit_code: 3, error_type: "script_error", error: "the script exited with code 3" });
      const logs = await env.bus.request(RPC.getJobLogs, { job_id: jobId, scope: LOCAL_SCOPE, offset: 0, limit: 10 });
      expect(logs).toMatchObject({ next_offset: 3, complete: true });
    });

    it.each<[RunCompleted["outcome"], Partial<RunCompleted>, object]>([
      ["succeeded", {}, { status: "completed", error_type: null, error: null, exit_code: 0 }],
      ["failed", { exit_code: 1, error: "ValueError: bad" }, { status: "failed", error_type: "script_error", error: "ValueError: bad", exit_code: 1 }],
      ["timeout", { exit_code: -9 }, { status: "failed", error_type: "timeout", exit_code: -9, error: "the script ran longer than its timeout of 300 s" }],
      ["env_build_failed", { exit_code: null, error: "no matching distribution for foo" }, { status: "failed", error_type: "env_build", error: "no matching distribution for foo" }],
      ["cancelled", { exit_code: -15 }, { status: "cancelled", error_type: null, error: null, exit_code: -15 }],
      // Platform faults (mlflow, runner_error, runner_lost) queue the job again: attempts.test.ts.
    ])("maps outcome %s to the job's status, error type and exit code", async (outcome, fields, expected) => {
      const { jobId, attempt } = await runningJob();
      await publishRunCompleted(env.bus, jobId, attempt, { outcome, ...fields });
      const done = await eventually(() => getJob(env.bus, jobId), (j) => j.status !== "running");
      expect(done).toMatchObject({ ...expected, phase: null, run_id: `run-${jobId.slice(0, 8)}-1` });
      expect(done.completed_at).not.toBeNull();
      expect(done.duration_seconds).toBeGreaterThanOrEqual(0);
    });

    it("ignores a second run.completed, a stale attempt's and one after the job ended", async () => {
      const twice = await runningJob();
      await publishRunCompleted(env.bus, twice.jobId, 1, { outcome: "succeeded" });
      await publishRunCompleted(env.bus, twice.jobId, 1, { outcome: "failed", exit_code: 2 });

      const stale = await runningJob();
      await claimGranted(env.bus, stale.jobId, "runner-b");
      await publishRunCompleted(env.bus, stale.jobId, 1, { outcome: "failed", exit_code: 1 });

      const cancelled = await createJob(env.bus);
      await env.bus.request(RPC.cancelJob, { job_id: cancelled.job_id, scope: LOCAL_SCOPE });
      await publishRunCompleted(env.bus, cancelled.job_id, 1, { outcome: "succeeded" });

      await runsBarrier();
      expect(await getJob(env.bus, twice.jobId)).toMatchObject({ status: "completed", exit_code: 0, error: null });
      expect(await getJob(env.bus, stale.jobId)).toMatchObject({ status: "running", attempt: 2, phase: "building_env" });
      expect(await getJob(env.bus, cancelled.job_id)).toMatchObject({ status: "cancelled", attempt: 0 });

      // A log batch after the end is not added either.
      await publishLog(env.bus, twice.jobId, 1, 9, ["too late"]);
      await publishLog(env.bus, stale.jobId, 2, 1, ["barrier"]);
      await eventually(() => getJob(env.bus, stale.jobId), (j) => j.logs.includes("barrier"));
      expect((await getJob(env.bus, twice.jobId)).logs).toBe("");
    });

    it("waits in registering for the registry, then completes with the model version", async () => {
      const { jobId, attempt } = await runningJob();
      await publishRunCompleted(env.bus, jobId, attempt, { logged_model_id: "m-1", logged_model_uri: "models:/m-1" });
      const registering = await eventually(() => getJob(env.bus, jobId), (j) => j.phase === "registering");
      expect(registering).toMatchObject({ status: "running", model_version: null });

      await publishRegistered(env.bus, null, "99");
      await publishRegistered(env.bus, `unknown-${jobId}`, "98");
      await publishRegistered(env.bus, jobId, "4", `run-${jobId}`);
      const done = await eventually(() => getJob(env.bus, jobId), (j) => j.status === "completed");
      expect(done).toMatchObject({ model_version: "4", registration_error: null, phase: null, error: null });

      // A later answer changes nothing.
      await publishRegistrationFailed(env.bus, jobId, "too late");
      await publishRegistered(env.bus, jobId, "5");
      const other = await runningJob();
      await publishRunCompleted(env.bus, other.jobId, 1, { logged_model_uri: "models:/x" });
      await eventually(() => getJob(env.bus, other.jobId), (j) => j.phase === "registering");
      await publishRegistered(env.bus, other.jobId, "1");
      await eventually(() => getJob(env.bus, other.jobId), (j) => j.status === "completed");
      expect(await getJob(env.bus, jobId)).toMatchObject({ model_version: "4", registration_error: null });
    });

    it("completes with registration_error when the registry reports a failure", async () => {
      const { jobId, attempt } = await runningJob();
      await publishRunCompleted(env.bus, jobId, attempt, { logged_model_uri: "models:/m-2" });
      await eventually(() => getJob(env.bus, jobId), (j) => j.phase === "registering");
      await publishRegistrationFailed(env.bus, jobId, "MLflow answered 500");
      const done = await eventually(() => getJob(env.bus, jobId), (j) => j.status === "completed");
      expect(done).toMatchObject({ model_version: null, registration_error: "MLflow answered 500", error: null });
    });

    it("keeps a registry answer that overtook the run.completed and completes with it", async () => {
      const { jobId, attempt } = await runningJob();
      await publishRegistered(env.bus, jobId, "7");
      // The answer is stored before the outcome arrives: wait on a later registry event.
      const other = await runningJob();
      await publishRunCompleted(env.bus, other.jobId, 1, { logged_model_uri: "models:/y" });
      await eventually(() => getJob(env.bus, other.jobId), (j) => j.phase === "registering");
      await publishRegistered(env.bus, other.jobId, "1");
      await eventually(() => getJob(env.bus, other.jobId), (j) => j.status === "completed");
      expect(await getJob(env.bus, jobId)).toMatchObject({ status: "running", phase: "running" });

      await publishRunCompleted(env.bus, jobId, attempt, { logged_model_uri: "models:/z" });
      const done = await eventually(() => getJob(env.bus, jobId), (j) => j.status === "completed");
      expect(done.model_version).toBe("7");
    });
  });
});
