import { createHash } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorBodySchema, JobListResponseSchema, JobSchema, type Job } from "@asgard/contracts";
import { b64, validBody } from "./bodies.js";
import { RunnerRole } from "./runner-role.js";
import { startTrainingStack, type TrainingStack } from "./stack.js";

describe("training job routes (real NATS and job-scheduler)", () => {
  let stack: TrainingStack;
  let app: FastifyInstance;
  let runner: RunnerRole;
  const experiment = `jobs-${Date.now()}`;

  async function upload(overrides: Record<string, unknown> = {}): Promise<Job> {
    const res = await app.inject({
      method: "POST",
      url: "/mlops/training/upload",
      payload: validBody({ experiment_name: experiment, ...overrides }),
    });
    expect(res.statusCode, res.body).toBe(202);
    return JobSchema.parse(res.json());
  }

  beforeAll(async () => {
    stack = await startTrainingStack("gw-jobs");
    app = stack.gateway.app;
    runner = new RunnerRole(stack.runnerBus);
  });
  afterAll(async () => {
    await stack?.close();
  });

  describe("GET /mlops/training/jobs/{job_id}", () => {
    it.each([
      ["an unknown id", "0123456789abcdef"],
      ["a malformed id", "not a job id"],
      ["an id with dots and stars", "a.b.*.>"],
      ["a very long id", "x".repeat(500)],
      ["an encoded slash", "a%2Fb"],
    ])("answers 404 JSON for %s", async (_what, id) => {
      const res = await app.inject(`/mlops/training/jobs/${encodeURIComponent(id)}`);
      expect(res.statusCode, res.body).toBe(404);
      expect(ErrorBodySchema.parse(res.json()).error).toBe("NOT_FOUND");
    });

    it("answers the job with its original fields and extensions", async () => {
      const job = await upload({ tags: { version: "1.0" }, requirements: ["scikit-learn"] });
      const res = await app.inject(`/mlops/training/jobs/${job.job_id}`);
      expect(res.statusCode).toBe(200);
      expect(JobSchema.parse(res.json())).toMatchObject({
        job_id: job.job_id,
        status: "queued",
        logs: "",
        duration_seconds: null,
        attempt: 0,
        cancel_requested: false,
        tags: { version: "1.0" },
        requirements: ["scikit-learn"],
      });
    });
  });

  describe("GET /mlops/training/jobs", () => {
    it("lists jobs newest first, filtered by experiment and status, page by page", async () => {
      const own = `list-${Date.now()}`;
      const made: Job[] = [];
      for (let i = 0; i < 5; i++) made.push(await upload({ experiment_name: own }));
      const seen: string[] = [];
      let token: string | null = null;
      do {
        const query: string = `experiment_name=${encodeURIComponent(own)}&limit=2${token ? `&page_token=${encodeURIComponent(token)}` : ""}`;
        const res = await app.inject(`/mlops/training/jobs?${query}`);
        expect(res.statusCode, res.body).toBe(200);
        const page = JobListResponseSchema.parse(res.json());
        expect(page.jobs.length).toBeLessThanOrEqual(2);
        for (const j of page.jobs) expect(j).not.toHaveProperty("logs");
        seen.push(...page.jobs.map((j) => j.job_id));
        token = page.next_page_token;
      } while (token);
      expect(seen).toEqual(made.map((j) => j.job_id).reverse());

      const cancelled = made[0]!;
      expect((await app.inject({ method: "DELETE", url: `/mlops/training/jobs/${cancelled.job_id}` })).statusCode).toBe(200);
      const onlyCancelled = JobListResponseSchema.parse(
        (await app.inject(`/mlops/training/jobs?experiment_name=${encodeURIComponent(own)}&status=cancelled`)).json(),
      );
      expect(onlyCancelled.jobs.map((j) => j.job_id)).toEqual([cancelled.job_id]);
      const queued = JobListResponseSchema.parse((await app.inject(`/mlops/training/jobs?experiment_name=${encodeURIComponent(own)}&status=queued`)).json());
      expect(queued.jobs).toHaveLength(4);
    });

    it("lists without any query", async () => {
      const res = await app.inject("/mlops/training/jobs");
      expect(res.statusCode).toBe(200);
      expect(JobListResponseSchema.parse(res.json()).jobs.length).toBeGreaterThan(0);
    });

    it.each([
      ["an unknown parameter", "owner=me", "owner"],
      ["an unknown status", "status=done", "status"],
      ["limit 0", "limit=0", "limit"],
      ["limit above the maximum", "limit=1000", "limit"],
      ["a non-numeric limit", "limit=ten", "limit"],
    ])("answers 422 for %s, naming it", async (_what, query, field) => {
      const res = await app.inject(`/mlops/training/jobs?${query}`);
      expect(res.statusCode, res.body).toBe(422);
      const body = ErrorBodySchema.parse(res.json());
      expect(body.issues?.map((i) => i.field)).toContain(field);
    });
  });

  describe("DELETE /mlops/training/jobs/{job_id}", () => {
    it("cancels a queued job at once (200), and a second cancel is a 409", async () => {
      const job = await upload();
      const res = await app.inject({ method: "DELETE", url: `/mlops/training/jobs/${job.job_id}` });
      expect(res.statusCode, res.body).toBe(200);
      expect(JobSchema.parse(res.json())).toMatchObject({ job_id: job.job_id, status: "cancelled" });
      const again = await app.inject({ method: "DELETE", url: `/mlops/training/jobs/${job.job_id}` });
      expect(again.statusCode, again.body).toBe(409);
      expect(ErrorBodySchema.parse(again.json()).error).toBe("CONFLICT");
      expect((await app.inject(`/mlops/training/jobs/${job.job_id}`)).json().status).toBe("cancelled");
    });

    it("asks the runner to stop a running job (202, cancel_requested)", async () => {
      const job = await upload();
      await runner.claim(job.job_id);
      const res = await app.inject({ method: "DELETE", url: `/mlops/training/jobs/${job.job_id}` });
      expect(res.statusCode, res.body).toBe(202);
      expect(JobSchema.parse(res.json())).toMatchObject({ status: "running", cancel_requested: true });
    });

    it("answers 409 for a completed job and 404 for an unknown one", async () => {
      const job = await upload();
      const attempt = await runner.claim(job.job_id);
      await runner.log(job.job_id, attempt, ["done"]);
      await runner.complete(job.job_id, attempt);
      await expect.poll(async () => (await app.inject(`/mlops/training/jobs/${job.job_id}`)).json().status, { timeout: 15_000 }).toBe("completed");
      const res = await app.inject({ method: "DELETE", url: `/mlops/training/jobs/${job.job_id}` });
      expect(res.statusCode, res.body).toBe(409);
      const missing = await app.inject({ method: "DELETE", url: "/mlops/training/jobs/nope" });
      expect(missing.statusCode).toBe(404);
    });
  });

  describe("GET /mlops/training/jobs/{job_id}/script", () => {
    it("returns the exact script bytes, non-ASCII included, with its name and sha256", async () => {
      const script = "# coding: utf-8\n\ufeffprint('h\u00e9llo w\u00f6rld \u2603 \ud83d\ude80')\r\nx = '\\t'\t# tab\n";
      const job = await upload({ script_name: "entra\u00eener.py", script_content: b64(script) });
      const res = await app.inject(`/mlops/training/jobs/${job.job_id}/script`);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.headers["content-type"]).toBe("text/x-python; charset=utf-8");
      expect(res.rawPayload.equals(Buffer.from(script, "utf8"))).toBe(true);
      expect(res.headers["x-script-sha256"]).toBe(createHash("sha256").update(script, "utf8").digest("hex"));
      expect(res.headers["content-disposition"]).toBe("inline; filename=\"entra_ner.py\"; filename*=UTF-8''entra%C3%AEner.py");
    });

    it("names a plain file in Content-Disposition and answers 404 for an unknown job", async () => {
      const job = await upload({ script_name: "train" });
      const res = await app.inject(`/mlops/training/jobs/${job.job_id}/script`);
      expect(res.headers["content-disposition"]).toBe('inline; filename="train"');
      expect((await app.inject("/mlops/training/jobs/nope/script")).statusCode).toBe(404);
    });
  });

  describe("method handling", () => {
    it.each([
      ["POST", "/mlops/training/jobs/abc", "DELETE, GET, HEAD"],
      ["PUT", "/mlops/training/jobs/abc", "DELETE, GET, HEAD"],
      ["DELETE", "/mlops/training/jobs", "GET, HEAD"],
      ["POST", "/mlops/training/jobs/abc/logs", "GET"],
      ["DELETE", "/mlops/training/jobs/abc/script", "GET, HEAD"],
    ] as const)("answers %s %s with 405 and Allow", async (method, url, allow) => {
      const res = await app.inject({ method, url });
      expect(res.statusCode, res.body).toBe(405);
      expect(res.headers.allow).toBe(allow);
      expect(ErrorBodySchema.parse(res.json()).message).toMatch(/is not allowed/);
    });

    it("answers HEAD on the log stream with 405 (a HEAD would start a stream nobody reads)", async () => {
      const res = await app.inject({ method: "HEAD", url: "/mlops/training/jobs/abc/logs" });
      expect(res.statusCode).toBe(405);
      expect(res.headers.allow).toBe("GET");
    });

    it("answers JSON 404 for a path under jobs that does not exist", async () => {
      const res = await app.inject("/mlops/training/jobs/abc/nothing");
      expect(res.statusCode).toBe(404);
      expect(ErrorBodySchema.parse(res.json()).error).toBe("NOT_FOUND");
    });
  });
});
