import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RPC } from "@asgard/contracts";
import {
  claimGranted,
  collectSubmitted,
  createJob,
  engines,
  eventually,
  getJob,
  LOCAL_SCOPE,
  publishLog,
  publishRegistered,
  publishRunCompleted,
  startTestEnv,
  suiteTitle,
  type TestEnv,
} from "./support/harness.js";

describe(suiteTitle("job-scheduler: restart mid-flow"), () => {
  describe.each(engines)("on $name", (engine) => {
    let env: TestEnv;

    beforeAll(async () => {
      env = await startTestEnv(engine);
    });
    afterAll(async () => {
      await env?.dispose();
    });

    it("finishes queued, running and registering jobs with a new scheduler on the same database and NATS", async () => {
      const submitted = await collectSubmitted(env.bus);
      const queued = await createJob(env.bus);
      const running = await createJob(env.bus);
      const registering = await createJob(env.bus);
      const runAttempt = await claimGranted(env.bus, running.job_id);
      await env.bus.request(RPC.reportProgress, { job_id: running.job_id, attempt: runAttempt, runner_id: "runner-a", phase: "running", run_id: "run-r" });
      const regAttempt = await claimGranted(env.bus, registering.job_id);
      await publishRunCompleted(env.bus, registering.job_id, regAttempt, { logged_model_uri: "models:/reg" });
      await eventually(() => getJob(env.bus, registering.job_id), (j) => j.phase === "registering");

      await env.scheduler.stop();
      // While no scheduler runs, the runners and the registry go on publishing.
      await publishLog(env.bus, running.job_id, runAttempt, 1, ["epoch 1", "epoch 2"]);
      await publishRunCompleted(env.bus, running.job_id, runAttempt, { run_id: "run-r", last_log_batch: 1 });
      await publishRegistered(env.bus, registering.job_id, "3");
      await expect(env.bus.request(RPC.getJob, { job_id: queued.job_id, scope: LOCAL_SCOPE }, { timeoutMs: 500 })).rejects.toMatchObject({
        code: "UNAVAILABLE",
      });

      await env.restart();
      const ran = await eventually(() => getJob(env.bus, running.job_id), (j) => j.status === "completed");
      expect(ran).toMatchObject({ logs: "epoch 1\nepoch 2", run_id: "run-r" });
      const registered = await eventually(() => getJob(env.bus, registering.job_id), (j) => j.status === "completed");
      expect(registered.model_version).toBe("3");

      // The queued job is still runnable through the new scheduler.
      const attempt = await claimGranted(env.bus, queued.job_id);
      await publishLog(env.bus, queued.job_id, attempt, 1, ["done"]);
      await publishRunCompleted(env.bus, queued.job_id, attempt, { last_log_batch: 1 });
      const finished = await eventually(() => getJob(env.bus, queued.job_id), (j) => j.status === "completed");
      expect(finished.logs).toBe("done");

      // Each job was handed to the runners once.
      await eventually(async () => submitted.messages.length, (n) => n >= 3);
      for (const id of [queued.job_id, running.job_id, registering.job_id]) {
        expect(submitted.messages.filter((m) => m.data.job_id === id)).toHaveLength(1);
      }
      await submitted.stop();
    });
  });
});
