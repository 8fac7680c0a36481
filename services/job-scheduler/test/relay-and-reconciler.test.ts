import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RPC, STREAMS } from "@asgard/contracts";
import { putContentAddressed } from "@asgard/storage";
import { findJob, insertJob } from "../src/db/jobs.js";
import type { SchedulerDb } from "../src/db/schema.js";
import {
  claimGranted,
  collectSubmitted,
  createJob,
  engines,
  eventually,
  getJob,
  heartbeat,
  LOCAL_SCOPE,
  publishLog,
  publishRunCompleted,
  startTestEnv,
  storedJob,
  suiteTitle,
  type TestEnv,
} from "./support/harness.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe(suiteTitle("job-scheduler: outbox relay and reconciler"), () => {
  describe.each(engines)("on $name", (engine) => {
    let env: TestEnv;
    const db = () => env.database.db as unknown as SchedulerDb;

    beforeAll(async () => {
      env = await startTestEnv(engine);
    });
    afterAll(async () => {
      await env?.dispose();
    });

    it("answers a create whose publish failed, then the relay publishes it once the stream is back", async () => {
      await env.bus.deleteStream(STREAMS.training.name);
      const job = await createJob(env.bus);
      expect(job.status).toBe("queued");
      expect((await findJob(db(), job.job_id))?.published_at).toBeNull();

      await env.bus.ensureStream(STREAMS.training);
      const submitted = await collectSubmitted(env.bus);
      try {
        const got = await eventually(async () => submitted.messages.filter((m) => m.data.job_id === job.job_id), (m) => m.length > 0);
        expect(got[0]!.headers["Nats-Msg-Id"]).toBe(job.job_id);
        const row = await eventually(() => findJob(db(), job.job_id), (r) => r?.published_at != null);
        expect(row?.status).toBe("queued");
        // Marked: later passes leave it alone, so no second message.
        await createJob(env.bus);
        await eventually(async () => submitted.messages.length, (n) => n >= 2);
        expect(submitted.messages.filter((m) => m.data.job_id === job.job_id)).toHaveLength(1);
      } finally {
        await submitted.stop();
      }
    });

    it("publishes a job stored by a scheduler that stopped before publishing it", async () => {
      await env.scheduler.stop();
      const script = await putContentAddressed(env.blobs, "scripts", "print('outbox')\n");
      const jobId = randomUUID();
      await insertJob(db(), storedJob(script, { job_id: jobId }));
      const submitted = await collectSubmitted(env.bus);
      try {
        await env.restart();
        const got = await eventually(async () => submitted.messages.filter((m) => m.data.job_id === jobId), (m) => m.length > 0);
        expect(got[0]!.data).toMatchObject({ job_id: jobId, script_sha256: script.sha256, script_name: "outbox.py" });
        await eventually(() => findJob(db(), jobId), (r) => r?.published_at != null);
      } finally {
        await submitted.stop();
      }
    });

    it("skips stored jobs whose training.submitted is invalid, leaving them queued, and publishes the jobs behind a page of them", async () => {
      await env.scheduler.stop();
      const script = await putContentAddressed(env.blobs, "scripts", "print('outbox')\n");
      const now = new Date();
      // Rows written by an older release can break a rule that came later; 0 s is no valid timeout.
      const invalid = Array.from({ length: 101 }, (_, i) => storedJob(script, { timeout_seconds: 0, created_at: new Date(now.getTime() - 10_000 + i) }));
      const valid = storedJob(script, { created_at: now });
      for (const row of invalid) await insertJob(db(), row);
      await insertJob(db(), valid);
      const submitted = await collectSubmitted(env.bus);
      try {
        await env.restart();
        await eventually(async () => submitted.messages.filter((m) => m.data.job_id === valid.job_id), (m) => m.length > 0);
        const ids = new Set<string>(invalid.map((row) => row.job_id));
        expect(submitted.messages.filter((m) => ids.has(m.data.job_id))).toHaveLength(0);
        for (const row of [invalid[0]!, invalid[100]!]) {
          expect(await findJob(db(), row.job_id)).toMatchObject({ status: "queued", published_at: null });
        }
      } finally {
        await submitted.stop();
        // Out of the way of the next tests, whose queued deadlines would otherwise end them.
        await db().deleteFrom("jobs").where("job_id", "in", [...invalid.map((row) => row.job_id)]).execute();
      }
    });

    it("fails a job that no runner claims within the queued deadline", async () => {
      await env.restart({ queuedMs: 300 });
      const job = await createJob(env.bus);
      const done = await eventually(() => getJob(env.bus, job.job_id), (j) => j.status !== "queued");
      expect(done).toMatchObject({ status: "failed", error_type: "timeout", error: "not claimed by a runner within 300 ms", phase: null });
      await env.restart({});
    });

    it("fails a job whose environment is not built within its deadline", async () => {
      await env.restart({ envBuildMs: 300 });
      const job = await createJob(env.bus);
      await claimGranted(env.bus, job.job_id);
      const done = await eventually(() => getJob(env.bus, job.job_id), (j) => j.status !== "running");
      expect(done).toMatchObject({ status: "failed", error_type: "env_build", error: "the environment was not built within 300 ms" });
      await env.restart({});
    });

    it("fails a script that runs past its timeout and the grace", async () => {
      await env.restart({ runningGraceMs: 200 });
      const job = await createJob(env.bus, { timeout: 1 });
      const attempt = await claimGranted(env.bus, job.job_id);
      await env.bus.request(RPC.reportProgress, { job_id: job.job_id, attempt, runner_id: "runner-a", phase: "running" });
      // Its runner is still heard from past the deadline: the script overran and was not stopped.
      const done = await eventually(
        async () => {
          heartbeat(env.bus, "runner-a", [{ job_id: job.job_id, attempt }]);
          return getJob(env.bus, job.job_id);
        },
        (j) => j.status !== "running",
      );
      expect(done).toMatchObject({
        status: "failed",
        error_type: "timeout",
        error: "the script ran longer than its timeout of 1 s (plus 200 ms of grace)",
      });
      await env.restart({});
    });

    it("keeps a job alive while its runner sends heartbeats, and queues it again once they stop", async () => {
      await env.restart({ heartbeatMs: 3_000 });
      const alive = await createJob(env.bus);
      const fenced = await createJob(env.bus);
      await claimGranted(env.bus, alive.job_id, "runner-a");
      await claimGranted(env.bus, fenced.job_id, "runner-b");
      await claimGranted(env.bus, fenced.job_id, "runner-c");
      // Beats for two heartbeat deadlines; the fenced job only gets beats of its old attempt.
      for (let i = 0; i < 40; i++) {
        heartbeat(env.bus, "runner-a", [{ job_id: alive.job_id, attempt: 1 }]);
        heartbeat(env.bus, "runner-b", [{ job_id: fenced.job_id, attempt: 1 }]);
        await sleep(150);
      }
      expect(await getJob(env.bus, alive.job_id)).toMatchObject({ status: "running", phase: "building_env" });
      // Attempt 1 was lost when the job was claimed again; attempt 2's runner (runner-c) went silent.
      const fencedEnd = await eventually(() => getJob(env.bus, fenced.job_id), (j) => j.status !== "running");
      expect(fencedEnd).toMatchObject({ status: "queued", attempt: 2, error: null });
      expect(fencedEnd.logs).toContain("[asgard] attempt 2 lost: runner runner-c sent no heartbeat for 3 s; the job is queued again (attempt 3 of at most 3)");
      const lost = await eventually(() => getJob(env.bus, alive.job_id), (j) => j.status !== "running");
      expect(lost).toMatchObject({ status: "queued", attempt: 1 });
      expect(lost.logs).toContain("[asgard] attempt 1 lost: runner runner-a sent no heartbeat for 3 s");
      await env.restart({});
    });

    it("ends a cancel-requested job whose runner went silent as cancelled", async () => {
      await env.restart({ heartbeatMs: 1_000 });
      const job = await createJob(env.bus);
      await claimGranted(env.bus, job.job_id);
      await env.bus.request(RPC.cancelJob, { job_id: job.job_id, scope: LOCAL_SCOPE });
      const done = await eventually(() => getJob(env.bus, job.job_id), (j) => j.status !== "running");
      expect(done).toMatchObject({ status: "cancelled", error: null, error_type: null });
      await env.restart({});
    });

    it("completes a registering job with registration_error when the registry does not answer", async () => {
      await env.restart({ registrationMs: 300 });
      const job = await createJob(env.bus);
      const attempt = await claimGranted(env.bus, job.job_id);
      await publishRunCompleted(env.bus, job.job_id, attempt, { logged_model_uri: "models:/m-1" });
      const done = await eventually(() => getJob(env.bus, job.job_id), (j) => j.status !== "running");
      expect(done).toMatchObject({
        status: "completed",
        model_version: null,
        registration_error: "the registry did not answer within 300 ms",
        error: null,
      });
      await env.restart({});
    });

    it("ends a job whose last log batches never arrive, saying so in its log", async () => {
      await env.restart({ pendingOutcomeMs: 300 });
      const job = await createJob(env.bus);
      const attempt = await claimGranted(env.bus, job.job_id);
      await publishLog(env.bus, job.job_id, attempt, 1, ["only line"]);
      await eventually(() => getJob(env.bus, job.job_id), (j) => j.logs === "only line");
      await publishRunCompleted(env.bus, job.job_id, attempt, { outcome: "failed", exit_code: 1, last_log_batch: 2 });
      const done = await eventually(() => getJob(env.bus, job.job_id), (j) => j.status !== "running");
      expect(done).toMatchObject({ status: "failed", exit_code: 1 });
      expect(done.logs).toBe("only line\n[some log lines of attempt 1 never arrived]");
      await env.restart({});
    });
  });
});
