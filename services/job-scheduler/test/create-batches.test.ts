import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RPC } from "@asgard/contracts";
import { admitBatch, type Admission, type AdmissionContext } from "../src/admission.js";
import type { ItemOutcome } from "../src/batcher.js";
import { resolveConfig } from "../src/config.js";
import { findJob, type NewJob } from "../src/db/jobs.js";
import type { SchedulerDb } from "../src/db/schema.js";
import {
  collectSubmitted,
  createRequest,
  engines,
  eventually,
  logger,
  memberOf,
  rand,
  startTestEnv,
  storedJob,
  suiteTitle,
  type SubmittedCollector,
  type TestEnv,
} from "./support/harness.js";

/** Long enough that a burst of requests lands in shared batches even on a loaded machine. */
const WAIT_MS = 25;
const LIMIT = 5;

describe(suiteTitle("job-scheduler: creates stored in batches"), () => {
  describe.each(engines)("on $name", (engine) => {
    let env: TestEnv;
    let submitted: SubmittedCollector;
    const db = () => env.database.db as unknown as SchedulerDb;
    const admissions = (): AdmissionContext => ({
      db: db(),
      config: resolveConfig({ maxActiveJobsPerTenant: LIMIT }),
      logger,
      now: () => new Date(),
    });

    beforeAll(async () => {
      env = await startTestEnv(engine, { createBatchWaitMs: WAIT_MS, createBatchRows: 32, maxActiveJobsPerTenant: 0 });
      submitted = await collectSubmitted(env.bus);
    });
    afterAll(async () => {
      await submitted?.stop();
      await env?.dispose();
    });

    const newJob = (fields: Partial<NewJob> = {}): NewJob =>
      storedJob({ sha256: "0".repeat(64), size: 10 }, { tenant: `batch-${rand()}`, script_name: "train.py", experiment_name: `batch-${rand()}`, model_name: "m", ...fields });
    const created = (outcome: ItemOutcome<Admission> | undefined) => (outcome?.ok && outcome.value.kind === "created" ? outcome.value.row : undefined);

    it("stores every one of a burst of concurrent creates exactly once and publishes each once", async () => {
      const experiment = `burst-${rand()}`;
      const answers = await Promise.all(
        Array.from({ length: 120 }, () => env.bus.request(RPC.createJob, createRequest({ experiment_name: experiment }))),
      );
      const ids = answers.map((a) => a.job.job_id);
      expect(new Set(ids).size).toBe(120);
      expect(answers.every((a) => !a.existing && a.job.status === "queued")).toBe(true);
      // Every answer names a committed row.
      const rows = await db().selectFrom("jobs").select("job_id").where("experiment_name", "=", experiment).execute();
      expect(rows.map((r) => r.job_id).sort()).toEqual([...ids].sort());
      const messages = await eventually(
        async () => submitted.messages.filter((m) => m.data.experiment_name === experiment),
        (found) => found.length >= 120,
      );
      expect(new Set(messages.map((m) => m.data.job_id)).size).toBe(120);
      expect(messages).toHaveLength(120);
      // The outbox marks arrive with their batches: the relay has nothing left to publish again.
      await eventually(
        () => db().selectFrom("jobs").select("job_id").where("experiment_name", "=", experiment).where("published_at", "is", null).execute(),
        (left) => left.length === 0,
      );
    });

    it("answers repeated keys within one burst with one job, next to new jobs with keys of their own", async () => {
      const tenant = memberOf(`burst-${rand()}`);
      const shared = `shared-${rand()}`;
      const requests = Array.from({ length: 30 }, (_, i) =>
        createRequest({ scope: tenant, idempotency_key: i % 3 === 0 ? shared : `own-${i}-${rand()}`, request_hash: i % 3 === 0 ? "same" : `h-${i}` }),
      );
      const answers = await Promise.all(requests.map((r) => env.bus.request(RPC.createJob, r)));
      const sharedAnswers = answers.filter((_, i) => i % 3 === 0);
      expect(new Set(sharedAnswers.map((a) => a.job.job_id)).size).toBe(1);
      expect(sharedAnswers.filter((a) => !a.existing)).toHaveLength(1);
      const own = answers.filter((_, i) => i % 3 !== 0);
      expect(own.every((a) => !a.existing)).toBe(true);
      expect(new Set(own.map((a) => a.job.job_id)).size).toBe(20);
      const stored = await db().selectFrom("jobs").select("job_id").where("tenant", "=", tenant.tenant).execute();
      expect(stored).toHaveLength(21);
    });

    it("stores a batch's other jobs when one of them repeats a key already taken", async () => {
      const key = `taken-${rand()}`;
      const tenant = `keys-${rand()}`;
      const holder = newJob({ tenant, idempotency_key: key, request_hash: "first" });
      const [first] = await admitBatch(admissions(), [holder, newJob({ tenant })]);
      expect(created(first)?.job_id).toBe(holder.job_id);

      const batch = [newJob({ tenant }), newJob({ tenant, idempotency_key: key, request_hash: "second" }), newJob({ tenant }), newJob({ tenant, idempotency_key: key })];
      const outcomes = await admitBatch(admissions(), batch);
      expect(created(outcomes[0])?.job_id).toBe(batch[0]!.job_id);
      expect(created(outcomes[2])?.job_id).toBe(batch[2]!.job_id);
      // The key's holder answers both repeats; the caller compares the request hash.
      for (const i of [1, 3]) expect(outcomes[i]).toMatchObject({ ok: true, value: { kind: "existing", row: { job_id: holder.job_id } } });
      expect(await findJob(db(), batch[1]!.job_id)).toBeUndefined();
      expect(await findJob(db(), batch[3]!.job_id)).toBeUndefined();
    });

    it("fails only the job that breaks the batch's transaction; its neighbours are stored", async () => {
      const existing = newJob();
      await admitBatch(admissions(), [existing]);
      // Same primary key as a stored job: the INSERT of the whole batch fails.
      const batch = [newJob(), newJob({ job_id: existing.job_id }), newJob()];
      const outcomes = await admitBatch(admissions(), batch);
      expect(created(outcomes[0])?.job_id).toBe(batch[0]!.job_id);
      expect(outcomes[1]!.ok).toBe(false);
      expect(created(outcomes[2])?.job_id).toBe(batch[2]!.job_id);
      expect((await findJob(db(), existing.job_id))?.experiment_name).toBe(existing.experiment_name);
    });

    it("answers a job its failed batch had stored anyway (a lost COMMIT answer) as created, once", async () => {
      // The batch that carried `lost` committed, but its caller heard an error; its retry finds the row.
      const lost = newJob();
      await admitBatch(admissions(), [lost]);
      const other = newJob();
      const clash = newJob({ job_id: other.job_id });
      await admitBatch(admissions(), [other]);
      const outcomes = await admitBatch(admissions(), [lost, clash, newJob()]);
      expect(created(outcomes[0])?.job_id).toBe(lost.job_id);
      expect(outcomes[1]!.ok).toBe(false);
      expect(outcomes[2]!.ok).toBe(true);
      expect((await findJob(db(), lost.job_id))?.experiment_name).toBe(lost.experiment_name);
    });

    it("applies the tenant's bound of live jobs within a batch, in arrival order", async () => {
      const tenant = `bound-${rand()}`;
      const batch = Array.from({ length: LIMIT + 3 }, () => newJob({ tenant }));
      const outcomes = await admitBatch(admissions(), batch);
      const kinds = outcomes.map((o) => (o.ok ? o.value.kind : "failed"));
      expect(kinds).toEqual([...Array<string>(LIMIT).fill("created"), ...Array<string>(3).fill("refused")]);
      expect(outcomes[LIMIT]).toMatchObject({ ok: true, value: { kind: "refused", active: LIMIT } });
      // Other tenants in the same batch are not held back.
      const other = await admitBatch(admissions(), [newJob({ tenant }), newJob({ tenant: `other-${rand()}` })]);
      expect(other.map((o) => (o.ok ? o.value.kind : "failed"))).toEqual(["refused", "created"]);
    });
  });
});
