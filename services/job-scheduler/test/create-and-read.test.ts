import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RemoteError } from "@asgard/bus";
import { RPC } from "@asgard/contracts";
import { createHash } from "node:crypto";
import {
  b64,
  collectSubmitted,
  createJob,
  createRequest,
  engines,
  eventually,
  getJob,
  listQuery,
  LOCAL_SCOPE,
  rand,
  startTestEnv,
  type SubmittedCollector,
  suiteTitle,
  type TestEnv,
} from "./support/harness.js";

describe(suiteTitle("job-scheduler: creating and reading jobs"), () => {
  describe.each(engines)("on $name", (engine) => {
    let env: TestEnv;
    let submitted: SubmittedCollector;

    beforeAll(async () => {
      env = await startTestEnv(engine);
      submitted = await collectSubmitted(env.bus);
    });
    afterAll(async () => {
      await submitted?.stop();
      await env?.dispose();
    });

    it("creates a queued job, finds it right after, and publishes training.submitted once with the job id as msg id", async () => {
      const script = `import mlflow\nprint("${rand()}")\n`;
      const req = createRequest({ script_b64: b64(script) });
      const { job, existing } = await env.bus.request(RPC.createJob, req);
      expect(existing).toBe(false);
      expect(job).toMatchObject({
        status: "queued",
        phase: "queued",
        attempt: 0,
        run_id: null,
        model_version: null,
        error: null,
        started_at: null,
        completed_at: null,
        duration_seconds: null,
        logs: "",
        script_name: req.script_name,
        experiment_name: req.experiment_name,
        model_name: req.model_name,
        requirements: req.requirements,
        tags: req.tags,
        timeout: req.timeout,
        cancel_requested: false,
        logs_truncated: false,
      });
      expect(job).not.toHaveProperty("environment_vars");

      const read = await getJob(env.bus, job.job_id);
      expect(read).toEqual(job);

      const sha256 = createHash("sha256").update(script).digest("hex");
      const message = await eventually(
        async () => submitted.messages.filter((m) => m.data.job_id === job.job_id),
        (found) => found.length > 0,
      );
      expect(message).toHaveLength(1);
      expect(message[0]!.headers["Nats-Msg-Id"]).toBe(job.job_id);
      expect(message[0]!.data).toMatchObject({
        event_id: job.job_id,
        job_id: job.job_id,
        script_sha256: sha256,
        requirements: req.requirements,
        timeout_seconds: req.timeout,
        experiment_name: req.experiment_name,
      });

      const stored = await env.bus.request(RPC.getJobScript, { job_id: job.job_id, scope: LOCAL_SCOPE });
      expect(stored).toEqual({ job_id: job.job_id, script_name: "train.py", script_b64: b64(script), sha256, bytes: Buffer.byteLength(script) });
      expect(await env.blobs.has(`scripts/${sha256}`)).toBe(true);
    });

    it("answers an unknown job with NOT_FOUND on every read endpoint", async () => {
      const id = `nope-${rand()}`;
      for (const call of [
        () => env.bus.request(RPC.getJob, { job_id: id, scope: LOCAL_SCOPE }),
        () => env.bus.request(RPC.getJobScript, { job_id: id, scope: LOCAL_SCOPE }),
        () => env.bus.request(RPC.getJobLogs, { job_id: id, scope: LOCAL_SCOPE, offset: 0, limit: 10 }),
        () => env.bus.request(RPC.cancelJob, { job_id: id, scope: LOCAL_SCOPE }),
      ]) {
        await expect(call()).rejects.toMatchObject({ code: "NOT_FOUND", message: `job ${id} does not exist` });
      }
    });

    it("refuses a script that is not strict base64", async () => {
      const failure = await env.bus.request(RPC.createJob, createRequest({ script_b64: "cHJpbnQ=x" })).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(RemoteError);
      expect(failure).toMatchObject({ code: "VALIDATION_FAILED", issues: [{ field: "script_b64" }] });
    });

    it("returns the same job for a repeated idempotency key and body, and a conflict for a different body", async () => {
      const key = `key-${rand()}`;
      const req = createRequest({ idempotency_key: key, request_hash: "h1" });
      const first = await env.bus.request(RPC.createJob, req);
      const again = await env.bus.request(RPC.createJob, req);
      expect(again.existing).toBe(true);
      expect(again.job.job_id).toBe(first.job.job_id);

      const different = await env.bus
        .request(RPC.createJob, { ...req, request_hash: "h2" })
        .catch((e: unknown) => e);
      expect(different).toMatchObject({ code: "CONFLICT" });
      expect((different as Error).message).toMatch(new RegExp(`Idempotency-Key "${key}" was used with a different request`));
      // Only one job and one event for the key.
      const list = await env.bus.request(RPC.listJobs, listQuery({ experiment_name: req.experiment_name, limit: 10 }));
      expect(list.jobs.map((j) => j.job_id)).toEqual([first.job.job_id]);
    });

    it("resolves concurrent creates with one key to a single job", async () => {
      const key = `race-${rand()}`;
      const req = createRequest({ idempotency_key: key, request_hash: "same" });
      const answers = await Promise.all(Array.from({ length: 6 }, () => env.bus.request(RPC.createJob, req)));
      const ids = new Set(answers.map((a) => a.job.job_id));
      expect(ids.size).toBe(1);
      expect(answers.filter((a) => !a.existing)).toHaveLength(1);
      const list = await env.bus.request(RPC.listJobs, listQuery({ experiment_name: req.experiment_name, limit: 10 }));
      expect(list.jobs).toHaveLength(1);
    });

    it("lists newest first with status and experiment filters and keyset page tokens", async () => {
      const experiment = `list-${rand()}`;
      const created: string[] = [];
      for (let i = 0; i < 5; i++) created.push((await createJob(env.bus, { experiment_name: experiment })).job_id);
      await createJob(env.bus, { experiment_name: `other-${rand()}` });
      const cancelled = created[1]!;
      await env.bus.request(RPC.cancelJob, { job_id: cancelled, scope: LOCAL_SCOPE });

      const seen: Array<{ job_id: string; created_at: string }> = [];
      let token: string | undefined;
      let pages = 0;
      do {
        const page = await env.bus.request(RPC.listJobs, listQuery({ experiment_name: experiment, limit: 2, page_token: token }));
        expect(page.jobs.length).toBeLessThanOrEqual(2);
        for (const j of page.jobs) expect(j).not.toHaveProperty("logs");
        seen.push(...page.jobs);
        token = page.next_page_token ?? undefined;
        pages++;
      } while (token);
      expect(pages).toBe(3);
      expect(new Set(seen.map((j) => j.job_id))).toEqual(new Set(created));
      expect(seen).toHaveLength(created.length);
      // Newest first; jobs created in the same millisecond are ordered by id.
      const key = (j: { job_id: string; created_at: string }) => `${j.created_at} ${j.job_id}`;
      expect(seen.map(key)).toEqual(seen.map(key).sort().reverse());

      const onlyCancelled = await env.bus.request(RPC.listJobs, listQuery({ experiment_name: experiment, status: "cancelled", limit: 50 }));
      expect(onlyCancelled.jobs.map((j) => j.job_id)).toEqual([cancelled]);
      expect(onlyCancelled.next_page_token).toBeNull();

      const queued = await env.bus.request(RPC.listJobs, listQuery({ status: "queued", limit: 200 }));
      expect(queued.jobs.every((j) => j.status === "queued")).toBe(true);
      const all = await env.bus.request(RPC.listJobs, listQuery({ limit: 200 }));
      const times = all.jobs.map((j) => j.created_at);
      expect([...times].sort().reverse()).toEqual(times);
    });

    it("refuses a page token it did not make, naming page_token", async () => {
      for (const bad of ["garbage!", b64("{}"), Buffer.from(JSON.stringify({ v: 1, c: "yesterday", j: "x" })).toString("base64url")]) {
        const failure = await env.bus.request(RPC.listJobs, listQuery({ limit: 5, page_token: bad })).catch((e: unknown) => e);
        expect(failure).toMatchObject({ code: "VALIDATION_FAILED", issues: [{ field: "page_token" }] });
      }
    });
  });
});
