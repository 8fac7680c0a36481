import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RPC } from "@asgard/contracts";
import {
  claim,
  claimGranted,
  collectSubmitted,
  createJob,
  engines,
  eventually,
  getJob,
  heartbeat,
  publishRunCompleted,
  startTestEnv,
  suiteTitle,
  type TestEnv,
} from "./support/harness.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe(suiteTitle("job-scheduler: attempts lost to platform faults, and deadlines that measure the script"), () => {
  describe.each(engines)("on $name", (engine) => {
    let env: TestEnv;

    beforeAll(async () => {
      env = await startTestEnv(engine);
    });
    afterAll(async () => {
      await env?.dispose();
    });

    it("queues a job whose runner went silent again, publishes it anew, and after three lost attempts fails naming the fault", async () => {
      await env.restart({ heartbeatMs: 1_000 });
      const submitted = await collectSubmitted(env.bus);
      try {
        const job = await createJob(env.bus);
        for (let attempt = 1; attempt <= 3; attempt++) {
          // Each attempt starts from its own training.submitted: the first, then one per requeue.
          await eventually(async () => submitted.messages.filter((m) => m.data.job_id === job.job_id).length, (n) => n === attempt);
          expect(await claimGranted(env.bus, job.job_id, `runner-${attempt}`)).toBe(attempt);
          if (attempt < 3) {
            const queued = await eventually(() => getJob(env.bus, job.job_id), (j) => j.status === "queued");
            expect(queued).toMatchObject({ phase: "queued", attempt, error: null });
            expect(queued.logs).toContain(
              `[asgard] attempt ${attempt} lost: runner runner-${attempt} sent no heartbeat for 1 s; the job is queued again (attempt ${attempt + 1} of at most 3)`,
            );
          }
        }
        const failed = await eventually(() => getJob(env.bus, job.job_id), (j) => j.status === "failed");
        expect(failed).toMatchObject({
          attempt: 3,
          error_type: "runner_lost",
          error: "runner lost 3 times: runner runner-3 sent no heartbeat for 1 s",
        });
        const ids = submitted.messages.filter((m) => m.data.job_id === job.job_id).map((m) => m.headers["Nats-Msg-Id"]);
        expect(ids).toEqual([job.job_id, `${job.job_id}-after-1`, `${job.job_id}-after-2`]);
      } finally {
        await submitted.stop();
      }
      await env.restart({});
    });

    it("runs again an attempt whose runner could not reach MLflow, and completes with the next one", async () => {
      const job = await createJob(env.bus);
      const first = await claimGranted(env.bus, job.job_id, "runner-a");
      await publishRunCompleted(env.bus, job.job_id, first, {
        outcome: "failed",
        error_type: "mlflow",
        error: "MLflow could not create the job's run: connect ECONNREFUSED 127.0.0.1:5000",
        exit_code: null,
        run_id: null,
      });
      const queued = await eventually(() => getJob(env.bus, job.job_id), (j) => j.status === "queued");
      expect(queued.logs).toContain("[asgard] attempt 1 lost: MLflow could not create the job's run: connect ECONNREFUSED 127.0.0.1:5000");
      const second = await claimGranted(env.bus, job.job_id, "runner-b");
      expect(second).toBe(2);
      await publishRunCompleted(env.bus, job.job_id, second);
      const done = await eventually(() => getJob(env.bus, job.job_id), (j) => j.status === "completed");
      expect(done).toMatchObject({ attempt: 2, error: null, error_type: null });
    });

    it("fails a job whose every attempt failed inside the runner, naming each fault", async () => {
      const job = await createJob(env.bus);
      const faults = [
        { error_type: "runner_error" as const, error: "the runner could not complete the attempt: ENOSPC" },
        { error_type: "mlflow" as const, error: "MLflow could not create the job's run: 503" },
        { error_type: "runner_error" as const, error: "the runner could not complete the attempt: EACCES" },
      ];
      for (const [i, fault] of faults.entries()) {
        await eventually(() => getJob(env.bus, job.job_id), (j) => j.status === "queued");
        const attempt = await claimGranted(env.bus, job.job_id, `runner-${i}`);
        await publishRunCompleted(env.bus, job.job_id, attempt, { outcome: "failed", exit_code: null, run_id: null, ...fault });
      }
      const failed = await eventually(() => getJob(env.bus, job.job_id), (j) => j.status === "failed");
      expect(failed).toMatchObject({
        attempt: 3,
        error_type: "runner_error",
        error:
          "3 attempts lost to platform faults: attempt 1: runner failed: the runner could not complete the attempt: ENOSPC; " +
          "attempt 2: MLflow unreachable: MLflow could not create the job's run: 503; " +
          "attempt 3: runner failed: the runner could not complete the attempt: EACCES",
      });
    });

    it("counts a redelivery of a live attempt as a lost runner, and refuses the one after the third attempt", async () => {
      const job = await createJob(env.bus);
      expect(await claimGranted(env.bus, job.job_id, "runner-a")).toBe(1);
      expect(await claimGranted(env.bus, job.job_id, "runner-b")).toBe(2);
      expect(await claimGranted(env.bus, job.job_id, "runner-c")).toBe(3);
      expect(await claim(env.bus, job.job_id, "runner-d", 4)).toMatchObject({ granted: false, reason: "terminal" });
      const failed = await getJob(env.bus, job.job_id);
      expect(failed).toMatchObject({
        status: "failed",
        attempt: 3,
        error_type: "runner_lost",
        error: "runner lost 3 times: runner runner-c lost the job (it was delivered again)",
      });
      expect(failed.logs).toContain("[asgard] attempt 1 lost: runner runner-a lost the job (it was delivered again)");
    });

    it("refuses a second copy of a job's message while its attempt is live, and takes the attempt's own redelivery as a loss", async () => {
      const job = await createJob(env.bus);
      expect(await claim(env.bus, job.job_id, "runner-a", 1, 41)).toMatchObject({ granted: true, attempt: 1 });
      expect(await claim(env.bus, job.job_id, "runner-b", 1, 57)).toEqual({ granted: false, job_id: job.job_id, reason: "duplicate" });
      expect(await getJob(env.bus, job.job_id)).toMatchObject({ status: "running", attempt: 1, error: null });
      expect(await claim(env.bus, job.job_id, "runner-b", 2, 41)).toMatchObject({ granted: true, attempt: 2 });
      const running = await getJob(env.bus, job.job_id);
      expect(running.logs).toContain("[asgard] attempt 1 lost: runner runner-a lost the job (it was delivered again)");
    });

    it("does not count time queued or building the environment against the script's timeout", async () => {
      await env.restart({ runningGraceMs: 200, heartbeatMs: 5_000 });
      const job = await createJob(env.bus, { timeout: 1 });
      // Queued, then building its environment, each longer than the script's whole timeout.
      await sleep(1_500);
      const attempt = await claimGranted(env.bus, job.job_id, "runner-a");
      for (let i = 0; i < 10; i++) {
        heartbeat(env.bus, "runner-a", [{ job_id: job.job_id, attempt }]);
        await sleep(150);
      }
      expect(await getJob(env.bus, job.job_id)).toMatchObject({ status: "running", phase: "building_env" });
      await env.bus.request(RPC.reportProgress, { job_id: job.job_id, attempt, runner_id: "runner-a", phase: "running" });
      await publishRunCompleted(env.bus, job.job_id, attempt, { duration_seconds: 0.5 });
      const done = await eventually(() => getJob(env.bus, job.job_id), (j) => j.status !== "running");
      expect(done).toMatchObject({ status: "completed", error: null, attempt: 1 });
      await env.restart({});
    });

    it("completes a job whose script ended during a NATS outage longer than its timeout", async () => {
      await env.restart({ runningGraceMs: 200, heartbeatMs: 3_000 });
      const job = await createJob(env.bus, { timeout: 1 });
      const attempt = await claimGranted(env.bus, job.job_id, "runner-a");
      await env.bus.request(RPC.reportProgress, { job_id: job.job_id, attempt, runner_id: "runner-a", phase: "running" });
      // The script's deadline (1 s + 200 ms) passes while nobody hears anybody.
      await env.natsOutage(async () => {
        await sleep(2_500);
      });
      // The runner's run.completed waited for NATS; it is stored once NATS is back.
      await eventually(
        () => publishRunCompleted(env.bus, job.job_id, attempt, { duration_seconds: 0.8 }).then(() => true, () => false),
        (published) => published,
      );
      const done = await eventually(() => getJob(env.bus, job.job_id), (j) => j.status !== "running");
      expect(done).toMatchObject({ status: "completed", error: null, error_type: null, attempt: 1 });
      await env.restart({});
    });
  });
});
