import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jobCancelSubject, RPC, SIGNALS } from "@asgard/contracts";
import {
  b64,
  claim,
  claimGranted,
  createJob,
  engines,
  eventually,
  getJob,
  LOCAL_SCOPE,
  publishLog,
  publishRunCompleted,
  startTestEnv,
  suiteTitle,
  type TestEnv,
} from "./support/harness.js";

describe(suiteTitle("job-scheduler: claims, progress and cancel"), () => {
  describe.each(engines)("on $name", (engine) => {
    let env: TestEnv;

    beforeAll(async () => {
      env = await startTestEnv(engine);
    });
    afterAll(async () => {
      await env?.dispose();
    });

    it("grants attempt 1 with the script and everything the runner needs", async () => {
      const script = "print('train')\n";
      const job = await createJob(env.bus, {
        script_b64: b64(script),
        environment_vars: { SECRET_PARAM: "s3cr3t" },
        requirements: ["pandas>=2"],
        tags: { a: "b" },
        timeout: 120,
      });
      const answer = await claim(env.bus, job.job_id, "runner-a", 1);
      expect(answer).toEqual({
        granted: true,
        job_id: job.job_id,
        tenant: "default",
        attempt: 1,
        script_name: "train.py",
        script_b64: b64(script),
        experiment_name: job.experiment_name,
        model_name: job.model_name,
        requirements: ["pandas>=2"],
        environment_vars: { SECRET_PARAM: "s3cr3t" },
        tags: { a: "b" },
        timeout_seconds: 120,
        previous_run_id: null,
      });
      const read = await getJob(env.bus, job.job_id);
      expect(read).toMatchObject({ status: "running", phase: "building_env", attempt: 1 });
      expect(read.started_at).not.toBeNull();
    });

    it("stores a job's resources, shows them, and hands them to the runner in the claim; a job without them gets none", async () => {
      const resources = { memory_mb: 512, cpus: 0.5, processes: 64, disk_mb: 128 };
      const job = await createJob(env.bus, { resources });
      expect(job.resources).toEqual(resources);
      expect(await claim(env.bus, job.job_id, "runner-a", 1)).toMatchObject({ granted: true, resources });
      expect(await getJob(env.bus, job.job_id)).toMatchObject({ resources });
      // From a gateway that predates per-job limits: the runner applies its defaults.
      const old = await createJob(env.bus);
      expect(old).not.toHaveProperty("resources");
      expect(await claim(env.bus, old.job_id, "runner-a", 1)).not.toHaveProperty("resources");
    });

    it("grants a redelivered job a new attempt, keeps the first started_at and hands over the previous run", async () => {
      const job = await createJob(env.bus);
      expect(await claimGranted(env.bus, job.job_id, "runner-a")).toBe(1);
      const first = await getJob(env.bus, job.job_id);
      await env.bus.request(RPC.reportProgress, {
        job_id: job.job_id,
        attempt: 1,
        runner_id: "runner-a",
        phase: "running",
        run_id: "run-first",
        experiment_id: "7",
      });
      const second = await claim(env.bus, job.job_id, "runner-b", 2);
      expect(second).toMatchObject({ granted: true, attempt: 2, previous_run_id: "run-first" });
      const read = await getJob(env.bus, job.job_id);
      expect(read).toMatchObject({ status: "running", phase: "building_env", attempt: 2, run_id: null });
      expect(read.started_at).toBe(first.started_at);
      expect(read.logs).toContain("[attempt 2 started on runner runner-b");

      // The old attempt is fenced off.
      const stale = await env.bus.request(RPC.reportProgress, {
        job_id: job.job_id,
        attempt: 1,
        runner_id: "runner-a",
        phase: "running",
        run_id: "run-stale",
      });
      expect(stale).toEqual({ accepted: false, cancel_requested: false });
      expect((await getJob(env.bus, job.job_id)).run_id).toBeNull();
    });

    it("refuses claims of unknown, cancelled and finished jobs", async () => {
      expect(await claim(env.bus, "no-such-job")).toEqual({ granted: false, job_id: "no-such-job", reason: "not_found" });

      const cancelled = await createJob(env.bus);
      await env.bus.request(RPC.cancelJob, { job_id: cancelled.job_id, scope: LOCAL_SCOPE });
      expect(await claim(env.bus, cancelled.job_id)).toMatchObject({ granted: false, reason: "cancelled" });

      const done = await createJob(env.bus);
      await claimGranted(env.bus, done.job_id);
      await publishRunCompleted(env.bus, done.job_id, 1);
      await eventually(() => getJob(env.bus, done.job_id), (j) => j.status === "completed");
      expect(await claim(env.bus, done.job_id, "runner-b", 2)).toMatchObject({ granted: false, reason: "terminal" });
      expect((await getJob(env.bus, done.job_id)).attempt).toBe(1);
    });

    it("does not grant an attempt that already ended (its ack was lost) a rerun", async () => {
      const job = await createJob(env.bus);
      await claimGranted(env.bus, job.job_id);
      // The outcome waits for log batch 1, which never comes in this test.
      await publishRunCompleted(env.bus, job.job_id, 1, { last_log_batch: 1 });
      // The parked outcome shows as its run id on the still-running job.
      await eventually(() => getJob(env.bus, job.job_id), (j) => j.run_id === `run-${job.job_id.slice(0, 8)}-1`);
      expect(await claim(env.bus, job.job_id, "runner-b", 2)).toMatchObject({ granted: false, reason: "terminal" });
      const cancel = await env.bus.request(RPC.cancelJob, { job_id: job.job_id, scope: LOCAL_SCOPE }).catch((e: unknown) => e);
      expect(cancel).toMatchObject({ code: "CONFLICT", message: `job ${job.job_id} has already ended; its result is being recorded` });
      expect(await getJob(env.bus, job.job_id)).toMatchObject({ status: "running", attempt: 1, cancel_requested: false });
    });

    it("records progress of the current attempt: phase, run, environment cache, script start", async () => {
      const job = await createJob(env.bus, { timeout: 60 });
      const attempt = await claimGranted(env.bus, job.job_id);
      const building = await env.bus.request(RPC.reportProgress, {
        job_id: job.job_id,
        attempt,
        runner_id: "runner-a",
        phase: "building_env",
        env_key: "env-abc",
        env_cache_hit: false,
      });
      expect(building).toEqual({ accepted: true, cancel_requested: false });
      const running = await env.bus.request(RPC.reportProgress, {
        job_id: job.job_id,
        attempt,
        runner_id: "runner-a",
        phase: "running",
        run_id: "run-xyz",
        experiment_id: "3",
      });
      expect(running.accepted).toBe(true);
      expect(await getJob(env.bus, job.job_id)).toMatchObject({ status: "running", phase: "running", run_id: "run-xyz" });

      const wrongPhase = await env.bus
        .request(RPC.reportProgress, { job_id: job.job_id, attempt, runner_id: "runner-a", phase: "registering" })
        .catch((e: unknown) => e);
      expect(wrongPhase).toMatchObject({ code: "VALIDATION_FAILED", issues: [{ field: "phase" }] });

      const unknown = await env.bus.request(RPC.reportProgress, { job_id: "nope", attempt: 1, runner_id: "r", phase: "running" });
      expect(unknown).toEqual({ accepted: false, cancel_requested: false });
    });

    it("cancels a queued job at once", async () => {
      const job = await createJob(env.bus);
      const answer = await env.bus.request(RPC.cancelJob, { job_id: job.job_id, scope: LOCAL_SCOPE });
      expect(answer).toMatchObject({ status: "cancelled", phase: null, cancel_requested: true, error: null });
      expect(answer.completed_at).not.toBeNull();
      expect(answer.duration_seconds).toBeNull();
    });

    it("asks the runner to stop a running job, then records its cancelled outcome", async () => {
      const job = await createJob(env.bus);
      const attempt = await claimGranted(env.bus, job.job_id);
      const signals: Array<{ job_id: string; attempt: number; subject: string }> = [];
      const sub = env.bus.subscribeSignal(SIGNALS.jobCancel, (s, subject) => signals.push({ ...s, subject }));
      await env.bus.rtt();

      const answer = await env.bus.request(RPC.cancelJob, { job_id: job.job_id, scope: LOCAL_SCOPE });
      expect(answer).toMatchObject({ status: "running", cancel_requested: true });
      await eventually(async () => signals, (s) => s.length > 0);
      expect(signals[0]).toMatchObject({ job_id: job.job_id, attempt, subject: jobCancelSubject(job.job_id) });

      // A runner that missed the signal learns it from its next progress report.
      const progress = await env.bus.request(RPC.reportProgress, {
        job_id: job.job_id,
        attempt,
        runner_id: "runner-a",
        phase: "running",
      });
      expect(progress).toEqual({ accepted: true, cancel_requested: true });

      await publishLog(env.bus, job.job_id, attempt, 1, ["stopping"]);
      await publishRunCompleted(env.bus, job.job_id, attempt, { outcome: "cancelled", exit_code: -15, last_log_batch: 1 });
      const done = await eventually(() => getJob(env.bus, job.job_id), (j) => j.status === "cancelled");
      expect(done).toMatchObject({ phase: null, logs: "stopping", error: null });
      await sub.stop();
    });

    it("refuses a claim of a running job whose cancel was requested, and ends it cancelled", async () => {
      const job = await createJob(env.bus);
      await claimGranted(env.bus, job.job_id);
      await env.bus.request(RPC.cancelJob, { job_id: job.job_id, scope: LOCAL_SCOPE });
      expect(await claim(env.bus, job.job_id, "runner-b", 2)).toMatchObject({ granted: false, reason: "cancelled" });
      expect(await getJob(env.bus, job.job_id)).toMatchObject({ status: "cancelled", attempt: 1 });
    });

    it("counts created and finished jobs, durations, stored lines and jobs by status", async () => {
      const value = async (name: string, labels: Record<string, string> = {}) => {
        // A histogram's series (`…_count`) are values of the metric named without the suffix.
        const metric = (await env.metrics.getMetricsAsJSON()).find((m) => m.name === name.replace(/_count$/, ""));
        const match = (metric?.values ?? []).find(
          (v) =>
            ((v as { metricName?: string }).metricName ?? name) === name &&
            Object.entries(labels).every(([k, want]) => (v.labels as Record<string, unknown>)[k] === want),
        );
        return match?.value ?? 0;
      };
      const createdBefore = await value("asgard_scheduler_jobs_created_total");
      const failedBefore = await value("asgard_scheduler_jobs_finished_total", { status: "failed" });
      const linesBefore = await value("asgard_scheduler_log_lines_stored_total");
      const job = await createJob(env.bus);
      const attempt = await claimGranted(env.bus, job.job_id);
      await publishLog(env.bus, job.job_id, attempt, 1, ["x", "y"]);
      await publishRunCompleted(env.bus, job.job_id, attempt, { outcome: "failed", exit_code: 1, last_log_batch: 1 });
      await eventually(() => getJob(env.bus, job.job_id), (j) => j.status === "failed");
      expect(await value("asgard_scheduler_jobs_created_total")).toBe(createdBefore + 1);
      expect(await value("asgard_scheduler_jobs_finished_total", { status: "failed" })).toBe(failedBefore + 1);
      expect(await value("asgard_scheduler_log_lines_stored_total")).toBe(linesBefore + 2);
      expect(await value("asgard_scheduler_job_duration_seconds_count", { status: "failed" })).toBeGreaterThanOrEqual(1);
      // The reconciler refreshes the gauge on its next pass.
      await eventually(() => value("asgard_scheduler_jobs", { status: "failed" }), (n) => n >= 1);
    });

    it("answers a cancel of a finished job with a conflict", async () => {
      const job = await createJob(env.bus);
      await env.bus.request(RPC.cancelJob, { job_id: job.job_id, scope: LOCAL_SCOPE });
      const again = await env.bus.request(RPC.cancelJob, { job_id: job.job_id, scope: LOCAL_SCOPE }).catch((e: unknown) => e);
      expect(again).toMatchObject({ code: "CONFLICT", message: `job ${job.job_id} is already cancelled` });
    });
  });
});
