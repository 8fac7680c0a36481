import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isUniqueViolation, migrateToLatest, type Database } from "@asgard/db";
import {
  findJob,
  IDEMPOTENCY_CONSTRAINT,
  insertJob,
  insertJobsSkippingTakenKeys,
  listJobs,
  markPublished,
  recordHeartbeat,
  updateJob,
  withLockedJob,
  type NewJob,
} from "../src/db/jobs.js";
import { appendLines, batchesComplete, readLogPage, recordBatch } from "../src/db/logs.js";
import type { SchedulerDb } from "../src/db/schema.js";
import { migrations } from "../src/migrations/index.js";
import { engines, rand, suiteTitle } from "./support/harness.js";

function newJob(overrides: Partial<NewJob> = {}): NewJob {
  const now = new Date();
  return {
    job_id: `job-${rand()}`,
    tenant: "default",
    script_name: "s.py",
    script_sha256: "0".repeat(64),
    script_bytes: 1,
    experiment_name: `exp-${rand()}`,
    model_name: "m",
    requirements: ["numpy==2.1.*", "pandas>=2"],
    environment_vars: { A: "1" },
    tags: { "k.with.dots": "v" },
    timeout_seconds: 60,
    idempotency_key: null,
    request_hash: "h",
    created_at: now,
    deadline_at: now,
    ...overrides,
  };
}

describe(suiteTitle("job-scheduler repositories"), () => {
  describe.each(engines)("on $name", (engine) => {
    let database: Database<unknown>;
    let dispose: () => Promise<void>;
    let db: SchedulerDb;

    beforeAll(async () => {
      ({ database, dispose } = await engine.open());
      expect((await migrateToLatest(database.db, migrations)).applied).toEqual(Object.keys(migrations));
      db = database.db as unknown as SchedulerDb;
    });
    afterAll(async () => {
      await dispose?.();
    });

    it("stores jsonb fields as JSON and reads them back as values", async () => {
      const job = newJob();
      const row = await insertJob(db, job);
      expect(row).toMatchObject({
        status: "queued",
        phase: "queued",
        attempt: 0,
        requirements: job.requirements,
        environment_vars: job.environment_vars,
        tags: job.tags,
        published_at: null,
        log_bytes: "0",
        log_lines: 0,
        cancel_requested: false,
      });
      expect((await findJob(db, job.job_id))?.created_at).toEqual(job.created_at);
    });

    it("reports a taken idempotency key as a violation of its named constraint", async () => {
      const key = `k-${rand()}`;
      await insertJob(db, newJob({ idempotency_key: key }));
      const err = await insertJob(db, newJob({ idempotency_key: key })).catch((e: unknown) => e);
      expect(isUniqueViolation(err, IDEMPOTENCY_CONSTRAINT)).toBe(true);
      // Jobs without a key never collide.
      await insertJob(db, newJob());
      await insertJob(db, newJob());
    });

    it("pages through jobs created in the same millisecond without skipping or repeating", async () => {
      const experiment = `tie-${rand()}`;
      const at = new Date();
      const ids = ["a", "b", "c"].map((s) => `${s}-${rand()}`);
      for (const id of ids) await insertJob(db, newJob({ job_id: id, experiment_name: experiment, created_at: at }));
      const seen: string[] = [];
      let after: { createdAt: Date; jobId: string } | null = null;
      for (let i = 0; i < 4; i++) {
        const page = await listJobs(db, { scope: { tenant: "default", admin: true }, experimentName: experiment, after, limit: 1 });
        if (page.length === 0) break;
        seen.push(page[0]!.job_id);
        after = { createdAt: page[0]!.created_at, jobId: page[0]!.job_id };
      }
      expect(seen).toEqual([...ids].sort().reverse());
    });

    it("numbers appended lines on from the job's count and records each batch once", async () => {
      const job = await insertJob(db, newJob());
      await withLockedJob(db, job.job_id, async (trx) => {
        expect(await recordBatch(trx, { jobId: job.job_id, attempt: 1, batch: 1, lineCount: 2, at: new Date() })).toBe("fresh");
        expect(await recordBatch(trx, { jobId: job.job_id, attempt: 1, batch: 1, lineCount: 2, at: new Date() })).toBe("duplicate");
        // In order only (attempt 2): batch 2 waits for 1, and only the attempt's own batch 1 counts.
        expect(await recordBatch(trx, { jobId: job.job_id, attempt: 2, batch: 2, lineCount: 1, at: new Date() }, 1)).toBe("early");
        expect(await recordBatch(trx, { jobId: job.job_id, attempt: 2, batch: 1, lineCount: 1, at: new Date() })).toBe("fresh");
        expect(await recordBatch(trx, { jobId: job.job_id, attempt: 2, batch: 2, lineCount: 1, at: new Date() }, 1)).toBe("fresh");
        expect(await recordBatch(trx, { jobId: job.job_id, attempt: 2, batch: 2, lineCount: 1, at: new Date() }, 1)).toBe("duplicate");
        await appendLines(trx, job.job_id, { attempt: 1, batch: 1 }, [
          { stream: "stdout", text: "a", at: new Date() },
          { stream: "stderr", text: "b", at: new Date() },
        ]);
        await appendLines(trx, job.job_id, { attempt: 1, batch: 0 }, [{ stream: "system", text: "c", at: new Date() }]);
        expect(await batchesComplete(trx, job.job_id, 1, 1)).toBe(true);
        expect(await batchesComplete(trx, job.job_id, 1, 2)).toBe(false);
        expect(await batchesComplete(trx, job.job_id, 2, 0)).toBe(true);
      });
      const lines = await readLogPage(db, job.job_id, 0, 10);
      expect(lines.map((l) => [l.line_no, l.stream, l.text])).toEqual([
        [0, "stdout", "a"],
        [1, "stderr", "b"],
        [2, "system", "c"],
      ]);
      expect((await findJob(db, job.job_id))?.log_lines).toBe(3);
    });

    it("marks a job published only for the attempt its message was for", async () => {
      const row = await insertJob(db, newJob());
      await withLockedJob(db, row.job_id, (trx) => updateJob(trx, row.job_id, { attempt: 1 }, new Date()));
      await markPublished(db, [{ jobId: row.job_id, attempt: 0 }], new Date());
      expect((await findJob(db, row.job_id))?.published_at).toBeNull();
      const at = new Date();
      await markPublished(db, [{ jobId: row.job_id, attempt: 1 }], at);
      expect((await findJob(db, row.job_id))?.published_at?.getTime()).toBe(at.getTime());
    });

    it("stores a batch in any key order and returns every row it stored", async () => {
      const keys = ["k-b", "k-a", null, "k-c"];
      const jobs = keys.map((idempotency_key) => newJob({ idempotency_key: idempotency_key && `${idempotency_key}-${rand()}` }));
      const rows = await db.transaction().execute((trx) => insertJobsSkippingTakenKeys(trx, jobs));
      expect(rows.map((r) => r.job_id).sort()).toEqual(jobs.map((j) => j.job_id).sort());
    });

    it("records heartbeats for the running attempt only, never moving them back", async () => {
      const job = await insertJob(db, newJob());
      const t1 = new Date(Date.now() + 1_000);
      await withLockedJob(db, job.job_id, (trx) =>
        updateJob(trx, job.job_id, { status: "running", phase: "running", attempt: 2, last_heartbeat_at: t1 }, new Date()),
      );
      expect(await recordHeartbeat(db, job.job_id, 1, new Date(t1.getTime() + 1))).toBe(false);
      expect(await recordHeartbeat(db, job.job_id, 2, new Date(t1.getTime() - 1))).toBe(false);
      expect(await recordHeartbeat(db, job.job_id, 2, new Date(t1.getTime() + 5))).toBe(true);
      expect((await findJob(db, job.job_id))?.last_heartbeat_at).toEqual(new Date(t1.getTime() + 5));
    });

    it("keeps JSON null apart from SQL NULL in the outcome column", async () => {
      const job = await insertJob(db, newJob());
      await withLockedJob(db, job.job_id, (trx) =>
        updateJob(trx, job.job_id, { pending_outcome: null, early_registration: null }, new Date()),
      );
      const row = await db
        .selectFrom("jobs")
        .select((eb) => [eb("pending_outcome", "is", null).as("is_null")])
        .where("job_id", "=", job.job_id)
        .executeTakeFirstOrThrow();
      expect(row.is_null).toBe(true);
    });
  });
});
