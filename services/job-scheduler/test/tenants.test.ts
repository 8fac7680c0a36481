import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BusError } from "@asgard/bus";
import { RPC } from "@asgard/contracts";
import type { SchedulerDb } from "../src/db/schema.js";
import {
  claimGranted,
  collectSubmitted,
  createJob,
  createRequest,
  engines,
  eventually,
  getJob,
  listQuery,
  LOCAL_SCOPE,
  memberOf,
  publishRunCompleted,
  rand,
  startTestEnv,
  suiteTitle,
  type SubmittedCollector,
  type TestEnv,
} from "./support/harness.js";

const failure = (p: Promise<unknown>): Promise<BusError> =>
  p.then(
    () => {
      throw new Error("expected a refusal");
    },
    (e: unknown) => e as BusError,
  );

describe(suiteTitle("job-scheduler: tenants"), () => {
  describe.each(engines)("on $name", (engine) => {
    let env: TestEnv;
    let submitted: SubmittedCollector;
    const LIMIT = 3;
    const a = memberOf(`team-a-${rand()}`);
    const b = memberOf(`team-b-${rand()}`);
    const admin = { tenant: `ops-${rand()}`, admin: true };

    beforeAll(async () => {
      env = await startTestEnv(engine, { maxActiveJobsPerTenant: LIMIT });
      submitted = await collectSubmitted(env.bus);
    });
    afterAll(async () => {
      await submitted?.stop();
      await env?.dispose();
    });

    const db = () => env.database.db as unknown as SchedulerDb;
    /** Ends a job so it no longer counts against its tenant. */
    const cancel = (jobId: string) => env.bus.request(RPC.cancelJob, { job_id: jobId, scope: LOCAL_SCOPE });

    describe("scoped access", () => {
      let jobA: string;
      let jobB: string;
      const experiment = `shared-${rand()}`;

      beforeAll(async () => {
        jobA = (await createJob(env.bus, { scope: a, experiment_name: experiment })).job_id;
        jobB = (await createJob(env.bus, { scope: b, experiment_name: experiment })).job_id;
      });
      afterAll(async () => {
        await cancel(jobA);
        await cancel(jobB);
      });

      it("stores the creator's tenant and shows it on the job, its event and its claim", async () => {
        expect(await env.bus.request(RPC.getJob, { job_id: jobA, scope: a })).toMatchObject({ job_id: jobA, tenant: a.tenant });
        const [event] = await eventually(
          async () => submitted.messages.filter((m) => m.data.job_id === jobB),
          (found) => found.length > 0,
        );
        expect(event!.data.tenant).toBe(b.tenant);
        const claim = await env.bus.request(RPC.claimJob, { job_id: jobB, runner_id: "r-tenants", delivery: 1 });
        expect(claim).toMatchObject({ granted: true, tenant: b.tenant });
      });

      it("lists each tenant's own jobs only; an admin sees every tenant's and may filter by one", async () => {
        const ids = async (scope: typeof a, tenant?: string) =>
          (await env.bus.request(RPC.listJobs, listQuery({ scope, experiment_name: experiment, tenant }))).jobs.map((j) => j.job_id).sort();
        expect(await ids(a)).toEqual([jobA]);
        expect(await ids(b)).toEqual([jobB]);
        expect(await ids(memberOf("default"))).toEqual([]);
        expect(await ids(admin)).toEqual([jobA, jobB].sort());
        expect(await ids(admin, b.tenant)).toEqual([jobB]);
        expect(await ids(a, a.tenant)).toEqual([jobA]);
      });

      it("refuses a non-admin's list filter on another tenant, saying what to do", async () => {
        const err = await failure(env.bus.request(RPC.listJobs, listQuery({ scope: a, tenant: b.tenant })));
        expect(err).toMatchObject({ code: "FORBIDDEN", issues: [{ field: "tenant" }] });
        expect(err.message).toMatch(/lists only its jobs: leave out tenant=/);
      });

      it("answers another tenant's job on every endpoint exactly as a job that does not exist", async () => {
        const unknown = `nope-${rand()}`;
        const calls = (jobId: string) => [
          () => env.bus.request(RPC.getJob, { job_id: jobId, scope: a }),
          () => env.bus.request(RPC.getJobScript, { job_id: jobId, scope: a }),
          () => env.bus.request(RPC.getJobLogs, { job_id: jobId, scope: a, offset: 0, limit: 10 }),
          () => env.bus.request(RPC.cancelJob, { job_id: jobId, scope: a }),
        ];
        const others = calls(jobB);
        const missing = calls(unknown);
        for (const [i, call] of others.entries()) {
          const hidden = await failure(call());
          const absent = await failure(missing[i]!());
          expect({ code: hidden.code, message: hidden.message.replace(jobB, "<id>"), issues: hidden.issues }).toEqual({
            code: absent.code,
            message: absent.message.replace(unknown, "<id>"),
            issues: absent.issues,
          });
          expect(hidden.code).toBe("NOT_FOUND");
        }
        // The refused cancel changed nothing.
        expect(await getJob(env.bus, jobB)).toMatchObject({ cancel_requested: false });
      });

      it("lets an admin read and cancel any tenant's job", async () => {
        expect(await env.bus.request(RPC.getJobScript, { job_id: jobA, scope: admin })).toMatchObject({ job_id: jobA });
        const extra = await createJob(env.bus, { scope: b });
        expect(await env.bus.request(RPC.cancelJob, { job_id: extra.job_id, scope: admin })).toMatchObject({ status: "cancelled", tenant: b.tenant });
      });

      it("refuses a request without a scope: a missing tenant never means every tenant", async () => {
        const unscoped = { job_id: jobA } as unknown as { job_id: string; scope: typeof a };
        // The endpoint's schema, which both ends of the bus check, requires the scope.
        const err = await failure(env.bus.request(RPC.getJob, unscoped));
        expect(err).toMatchObject({ code: "VALIDATION_FAILED", issues: [expect.objectContaining({ field: "scope" })] });
      });
    });

    describe("Idempotency-Key per tenant", () => {
      it("makes one job per tenant for the same key, and a 409 names the caller's own job only", async () => {
        const key = `key-${rand()}`;
        const inB = await env.bus.request(RPC.createJob, createRequest({ scope: b, idempotency_key: key, request_hash: "h" }));
        const inA = await env.bus.request(RPC.createJob, createRequest({ scope: a, idempotency_key: key, request_hash: "h" }));
        expect(inA.existing).toBe(false);
        expect(inA.job.job_id).not.toBe(inB.job.job_id);
        const again = await env.bus.request(RPC.createJob, createRequest({ scope: a, idempotency_key: key, request_hash: "h" }));
        expect(again).toMatchObject({ existing: true, job: { job_id: inA.job.job_id, tenant: a.tenant } });
        const conflict = await failure(env.bus.request(RPC.createJob, createRequest({ scope: a, idempotency_key: key, request_hash: "other" })));
        expect(conflict.code).toBe("CONFLICT");
        expect(conflict.message).toContain(inA.job.job_id);
        expect(conflict.message).not.toContain(inB.job.job_id);
        await cancel(inA.job.job_id);
        await cancel(inB.job.job_id);
      });

      it("lets a key older than 24 h make a new job, and leaves the old job as it was", async () => {
        const key = `old-${rand()}`;
        const first = await env.bus.request(RPC.createJob, createRequest({ scope: a, idempotency_key: key, request_hash: "h" }));
        await cancel(first.job.job_id);
        // The first job was made 25 hours ago.
        const aged = new Date(Date.now() - 25 * 3_600_000);
        await db().updateTable("jobs").set({ created_at: aged }).where("job_id", "=", first.job.job_id).execute();
        // Even a different request under the expired key is a new job, not a conflict.
        const second = await env.bus.request(RPC.createJob, createRequest({ scope: a, idempotency_key: key, request_hash: "changed" }));
        expect(second.existing).toBe(false);
        expect(second.job.job_id).not.toBe(first.job.job_id);
        const repeat = await env.bus.request(RPC.createJob, createRequest({ scope: a, idempotency_key: key, request_hash: "changed" }));
        expect(repeat).toMatchObject({ existing: true, job: { job_id: second.job.job_id } });
        expect(await env.bus.request(RPC.getJob, { job_id: first.job.job_id, scope: a })).toMatchObject({ status: "cancelled" });
        await cancel(second.job.job_id);
      });

      it("resolves concurrent creates with one expired key to a single new job", async () => {
        const key = `race-old-${rand()}`;
        const first = await env.bus.request(RPC.createJob, createRequest({ scope: a, idempotency_key: key, request_hash: "h" }));
        await cancel(first.job.job_id);
        await db().updateTable("jobs").set({ created_at: new Date(Date.now() - 25 * 3_600_000) }).where("job_id", "=", first.job.job_id).execute();
        const answers = await Promise.all(
          Array.from({ length: 5 }, () => env.bus.request(RPC.createJob, createRequest({ scope: a, idempotency_key: key, request_hash: "h" }))),
        );
        const ids = new Set(answers.map((x) => x.job.job_id));
        expect(ids.size).toBe(1);
        expect(ids.has(first.job.job_id)).toBe(false);
        expect(answers.filter((x) => !x.existing)).toHaveLength(1);
        await cancel([...ids][0]!);
      });
    });

    describe("queued + running jobs per tenant", () => {
      it("admits exactly the limit from a concurrent burst, refuses the rest with a retry-after, and frees up as jobs end", async () => {
        const t = memberOf(`burst-${rand()}`);
        const results = await Promise.allSettled(Array.from({ length: 10 }, () => env.bus.request(RPC.createJob, createRequest({ scope: t }))));
        const admitted = results.flatMap((r) => (r.status === "fulfilled" ? [r.value.job] : []));
        const refused = results.flatMap((r) => (r.status === "rejected" ? [r.reason as BusError] : []));
        expect(admitted).toHaveLength(LIMIT);
        expect(refused).toHaveLength(10 - LIMIT);
        for (const err of refused) {
          expect(err).toMatchObject({ code: "LIMIT_EXCEEDED", retryAfterSeconds: 30 });
          expect(err.message).toBe(
            `tenant "${t.tenant}" has ${LIMIT} queued or running jobs, the most it may have at once (MAX_ACTIVE_JOBS_PER_TENANT = ${LIMIT}): ` +
              "wait until some of them end, or cancel those you no longer need (DELETE /mlops/training/jobs/{job_id}), then submit again",
          );
        }
        const stored = await env.bus.request(RPC.listJobs, listQuery({ scope: t }));
        expect(stored.jobs).toHaveLength(LIMIT);

        // Another tenant is not held up by this one.
        const elsewhere = await createJob(env.bus, { scope: memberOf(`calm-${rand()}`) });
        await cancel(elsewhere.job_id);

        // A running job counts as well; one that ends (cancelled, or run to its end) frees its place.
        const [first, second] = admitted;
        const attempt = await claimGranted(env.bus, second!.job_id);
        await expect(env.bus.request(RPC.createJob, createRequest({ scope: t }))).rejects.toMatchObject({ code: "LIMIT_EXCEEDED" });
        await cancel(first!.job_id);
        const third = await env.bus.request(RPC.createJob, createRequest({ scope: t }));
        expect(third.job.tenant).toBe(t.tenant);
        await expect(env.bus.request(RPC.createJob, createRequest({ scope: t }))).rejects.toMatchObject({ code: "LIMIT_EXCEEDED" });
        await publishRunCompleted(env.bus, second!.job_id, attempt, { outcome: "failed", error_type: "script_error", error: "boom", exit_code: 1 });
        await eventually(() => getJob(env.bus, second!.job_id), (j) => j.status === "failed");
        const fourth = await env.bus.request(RPC.createJob, createRequest({ scope: t }));
        expect(fourth.existing).toBe(false);
        for (const job of [admitted[2]!, third.job, fourth.job]) await cancel(job.job_id);
      });

      it("answers a repeated Idempotency-Key with its job even at the limit", async () => {
        const t = memberOf(`full-${rand()}`);
        const keyed = await env.bus.request(RPC.createJob, createRequest({ scope: t, idempotency_key: "k", request_hash: "h" }));
        for (let i = 1; i < LIMIT; i++) await createJob(env.bus, { scope: t });
        await expect(env.bus.request(RPC.createJob, createRequest({ scope: t }))).rejects.toMatchObject({ code: "LIMIT_EXCEEDED" });
        const repeat = await env.bus.request(RPC.createJob, createRequest({ scope: t, idempotency_key: "k", request_hash: "h" }));
        expect(repeat).toMatchObject({ existing: true, job: { job_id: keyed.job.job_id } });
      });

      it("counts refusals in its metrics", async () => {
        const text = await env.metrics.metrics();
        expect(text).toMatch(/asgard_scheduler_jobs_refused_total\{reason="tenant_limit"\} [1-9]/);
      });

      it("admits every job with the limit off (0), and still settles a raced Idempotency-Key to one job", async () => {
        await env.restart({ maxActiveJobsPerTenant: 0 });
        try {
          const t = memberOf(`unbounded-${rand()}`);
          const made = await Promise.all(Array.from({ length: LIMIT + 3 }, () => env.bus.request(RPC.createJob, createRequest({ scope: t }))));
          expect(made.every((m) => !m.existing)).toBe(true);
          const answers = await Promise.all(
            Array.from({ length: 6 }, () => env.bus.request(RPC.createJob, createRequest({ scope: t, idempotency_key: "same", request_hash: "h" }))),
          );
          expect(new Set(answers.map((x) => x.job.job_id)).size).toBe(1);
          expect(answers.filter((x) => !x.existing)).toHaveLength(1);
        } finally {
          await env.restart({ maxActiveJobsPerTenant: LIMIT });
        }
      });
    });
  });
});
