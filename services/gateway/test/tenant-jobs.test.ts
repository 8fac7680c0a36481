import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorBodySchema, JobListResponseSchema, JobSchema, type CreateKeyResponse, type Job } from "@asgard/contracts";
import type { Database } from "@asgard/db";
import { b64, validBody } from "./bodies.js";
import { RunnerRole } from "./runner-role.js";
import { startTrainingStack, type TrainingStack } from "./stack.js";

const LOCAL = { host: "localhost:8000" };
const bearer = (key: string) => ({ ...LOCAL, authorization: `Bearer ${key}` });
const rand = () => Math.random().toString(36).slice(2, 10);

/** A gateway with API keys on: the first admin key made from loopback, then one key per tenant. */
async function keysFor(app: FastifyInstance, tenants: string[]): Promise<{ admin: string; keys: Record<string, string> }> {
  const create = async (headers: Record<string, string>, body: object): Promise<CreateKeyResponse> => {
    const res = await app.inject({ method: "POST", url: "/mlops/keys", headers: { ...headers, "content-type": "application/json" }, payload: JSON.stringify(body) });
    expect(res.statusCode, res.body).toBe(201);
    return res.json<CreateKeyResponse>();
  };
  const admin = (await create(LOCAL, { name: "admin", scopes: ["admin"] })).key;
  const keys: Record<string, string> = {};
  for (const tenant of tenants) {
    keys[tenant] = (await create(bearer(admin), { name: `${tenant} ci`, scopes: ["jobs:submit", "jobs:read"], tenant })).key;
  }
  return { admin, keys };
}

/** The body with the job id taken out, to compare a hidden job's answer with a missing one's. */
const anonymous = (res: LightMyRequestResponse, id: string) => ({
  status: res.statusCode,
  body: JSON.parse(res.body.split(id).join("<id>")) as unknown,
});

describe("training jobs per tenant through the gateway (real NATS, job-scheduler, API keys)", () => {
  let stack: TrainingStack;
  let app: FastifyInstance;
  let admin: string;
  let keyA: string;
  let keyB: string;
  const experiment = `tenants-${rand()}`;

  async function upload(key: string, overrides: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
    return app.inject({
      method: "POST",
      url: "/mlops/training/upload",
      headers: { ...bearer(key), "content-type": "application/json", ...headers },
      payload: validBody({ experiment_name: experiment, ...overrides }),
    });
  }

  async function accepted(key: string, overrides: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<Job> {
    const res = await upload(key, overrides, headers);
    expect(res.statusCode, res.body).toBe(202);
    return JobSchema.parse(res.json());
  }

  const list = async (key: string, query = `experiment_name=${experiment}`) => {
    const res = await app.inject({ url: `/mlops/training/jobs?${query}`, headers: bearer(key) });
    expect(res.statusCode, res.body).toBe(200);
    return JobListResponseSchema.parse(res.json()).jobs.map((j) => j.job_id).sort();
  };

  beforeAll(async () => {
    stack = await startTrainingStack("gw-tenants", undefined, { apiKeys: true });
    app = stack.gateway.app;
    ({ admin, keys: { "team-a": keyA = "", "team-b": keyB = "" } } = await keysFor(app, ["team-a", "team-b"]));
  });
  afterAll(async () => {
    await stack?.close();
  });

  describe("two tenants' keys", () => {
    let jobA: Job;
    let jobB: Job;

    beforeAll(async () => {
      jobA = await accepted(keyA, { script_content: b64("print('a')\n") });
      jobB = await accepted(keyB, { script_content: b64("print('b')\n") });
    });

    it("tag each job with the submitting key's tenant", () => {
      expect(jobA.tenant).toBe("team-a");
      expect(jobB.tenant).toBe("team-b");
    });

    it("list only their own tenant's jobs; the admin key lists both and filters by tenant", async () => {
      expect(await list(keyA)).toEqual([jobA.job_id]);
      expect(await list(keyB)).toEqual([jobB.job_id]);
      expect(await list(admin)).toEqual([jobA.job_id, jobB.job_id].sort());
      expect(await list(admin, `experiment_name=${experiment}&tenant=team-b`)).toEqual([jobB.job_id]);
    });

    it("are refused a list filter on another tenant (403), and a malformed tenant is a 422", async () => {
      const other = await app.inject({ url: "/mlops/training/jobs?tenant=team-b", headers: bearer(keyA) });
      expect(other.statusCode).toBe(403);
      expect(ErrorBodySchema.parse(other.json()).message).toContain('tenant "team-a"');
      const bad = await app.inject({ url: "/mlops/training/jobs?tenant=Team%20B", headers: bearer(admin) });
      expect(bad.statusCode).toBe(422);
      expect(ErrorBodySchema.parse(bad.json()).issues?.map((i) => i.field)).toContain("tenant");
    });

    it("get 404 for the other tenant's job on get, logs, script and cancel — the very answer an unknown id gets", async () => {
      const unknown = "0123456789abcdef0123456789abcdef";
      const routes = (id: string) => [
        { method: "GET" as const, url: `/mlops/training/jobs/${id}` },
        { method: "GET" as const, url: `/mlops/training/jobs/${id}/logs` },
        { method: "GET" as const, url: `/mlops/training/jobs/${id}/script` },
        { method: "DELETE" as const, url: `/mlops/training/jobs/${id}` },
      ];
      const missing = routes(unknown);
      for (const [i, route] of routes(jobB.job_id).entries()) {
        const hidden = await app.inject({ ...route, headers: bearer(keyA) });
        const absent = await app.inject({ ...missing[i]!, headers: bearer(keyA) });
        expect(hidden.statusCode, `${route.method} ${route.url}`).toBe(404);
        expect(anonymous(hidden, jobB.job_id), `${route.method} ${route.url}`).toEqual(anonymous(absent, unknown));
        expect(hidden.headers["content-type"]).toEqual(absent.headers["content-type"]);
      }
      // The refused cancel changed nothing.
      const seen = await app.inject({ url: `/mlops/training/jobs/${jobB.job_id}`, headers: bearer(keyB) });
      expect(JobSchema.parse(seen.json())).toMatchObject({ status: "queued", cancel_requested: false });
    });

    it("read their own job's script and logs; the admin key reads and cancels any tenant's job", async () => {
      const script = await app.inject({ url: `/mlops/training/jobs/${jobA.job_id}/script`, headers: bearer(keyA) });
      expect(script.statusCode).toBe(200);
      expect(script.body).toBe("print('a')\n");
      const theirs = await app.inject({ url: `/mlops/training/jobs/${jobB.job_id}/script`, headers: bearer(admin) });
      expect(theirs.body).toBe("print('b')\n");
      const cancelled = await app.inject({ method: "DELETE", url: `/mlops/training/jobs/${jobB.job_id}`, headers: bearer(admin) });
      expect(cancelled.statusCode).toBe(200);
      expect(JobSchema.parse(cancelled.json())).toMatchObject({ status: "cancelled", tenant: "team-b" });
      // A finished job's log stream ends at once, for its own tenant.
      const logs = await app.inject({ url: `/mlops/training/jobs/${jobB.job_id}/logs`, headers: bearer(keyB) });
      expect(logs.statusCode).toBe(200);
      expect(logs.body).toContain("event: end");
    });

    it("put an admin's upload in the tenant its X-Asgard-Tenant header names", async () => {
      const job = await accepted(admin, {}, { "x-asgard-tenant": "team-a" });
      expect(job.tenant).toBe("team-a");
      expect(await list(keyA)).toContain(job.job_id);
    });
  });

  describe("Idempotency-Key", () => {
    it("names one job per tenant, and a 409 names only the caller's own job", async () => {
      const key = `idem-${rand()}`;
      const inB = await accepted(keyB, {}, { "idempotency-key": key });
      const inA = await accepted(keyA, {}, { "idempotency-key": key });
      expect(inA.job_id).not.toBe(inB.job_id);
      const repeat = await upload(keyA, {}, { "idempotency-key": key });
      expect(repeat.statusCode).toBe(202);
      expect(repeat.headers["idempotent-replayed"]).toBe("true");
      expect(JobSchema.parse(repeat.json()).job_id).toBe(inA.job_id);
      const conflict = await upload(keyA, { model_name: "another-model" }, { "idempotency-key": key });
      expect(conflict.statusCode).toBe(409);
      expect(conflict.body).toContain(inA.job_id);
      expect(conflict.body).not.toContain(inB.job_id);
    });

    it("makes a new job once the key is older than 24 hours", async () => {
      const key = `aged-${rand()}`;
      const first = await accepted(keyA, {}, { "idempotency-key": key });
      // The first job was made 25 hours ago.
      const { db } = stack.database as Database<any>;
      await db.updateTable("jobs").set({ created_at: new Date(Date.now() - 25 * 3_600_000) }).where("job_id", "=", first.job_id).execute();
      const res = await upload(keyA, {}, { "idempotency-key": key });
      expect(res.statusCode).toBe(202);
      expect(res.headers["idempotent-replayed"]).toBeUndefined();
      expect(JobSchema.parse(res.json()).job_id).not.toBe(first.job_id);
    });
  });
});

describe("queued + running jobs per tenant through the gateway (real NATS, job-scheduler, API keys)", () => {
  const LIMIT = 3;
  let stack: TrainingStack;
  let app: FastifyInstance;
  let runner: RunnerRole;
  let keyA: string;
  let keyB: string;

  const upload = (key: string) =>
    app.inject({ method: "POST", url: "/mlops/training/upload", headers: { ...bearer(key), "content-type": "application/json" }, payload: validBody() });

  beforeAll(async () => {
    stack = await startTrainingStack("gw-tenant-limit", undefined, { apiKeys: true, scheduler: { maxActiveJobsPerTenant: LIMIT } });
    app = stack.gateway.app;
    runner = new RunnerRole(stack.runnerBus);
    ({ keys: { "team-a": keyA = "", "team-b": keyB = "" } } = await keysFor(app, ["team-a", "team-b"]));
  });
  afterAll(async () => {
    await stack?.close();
  });

  it("answers a concurrent burst past the limit with 429s carrying Retry-After, and frees up as jobs end", async () => {
    const burst = await Promise.all(Array.from({ length: 8 }, () => upload(keyA)));
    const admitted = burst.filter((r) => r.statusCode === 202).map((r) => JobSchema.parse(r.json()));
    const refused = burst.filter((r) => r.statusCode === 429);
    expect(admitted).toHaveLength(LIMIT);
    expect(refused).toHaveLength(8 - LIMIT);
    for (const res of refused) {
      expect(res.headers["retry-after"]).toBe("30");
      const body = ErrorBodySchema.parse(res.json());
      expect(body).toMatchObject({ error: "LIMIT_EXCEEDED", retry_after_seconds: 30 });
      expect(body.message).toContain(`tenant "team-a" has ${LIMIT} queued or running jobs`);
      expect(body.message).toContain(`MAX_ACTIVE_JOBS_PER_TENANT = ${LIMIT}`);
      expect(body.message).toContain("cancel those you no longer need");
    }
    // The other tenant is not held up.
    expect((await upload(keyB)).statusCode).toBe(202);

    // A job run to its end frees a place.
    const [done, cancelled] = admitted;
    const attempt = await runner.claim(done!.job_id);
    await runner.complete(done!.job_id, attempt, { outcome: "failed", error_type: "script_error", error: "boom", exit_code: 1 });
    let next: LightMyRequestResponse | undefined;
    for (let i = 0; i < 100 && next?.statusCode !== 202; i++) {
      next = await upload(keyA);
      if (next.statusCode !== 202) await new Promise((r) => setTimeout(r, 50));
    }
    expect(next?.statusCode, next?.body).toBe(202);
    expect((await upload(keyA)).statusCode).toBe(429);
    // So does a cancelled one.
    expect((await app.inject({ method: "DELETE", url: `/mlops/training/jobs/${cancelled!.job_id}`, headers: bearer(keyA) })).statusCode).toBe(200);
    expect((await upload(keyA)).statusCode).toBe(202);
  });
});
