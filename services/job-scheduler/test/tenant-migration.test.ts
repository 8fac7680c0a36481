import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Migrator, sql, type Kysely } from "kysely";
import { RPC } from "@asgard/contracts";
import { migrateToLatest, type Database } from "@asgard/db";
import { putContentAddressed, type BlobStore } from "@asgard/storage";
import { updateJob, withLockedJob } from "../src/db/jobs.js";
import { appendLines, recordBatch } from "../src/db/logs.js";
import type { SchedulerDb } from "../src/db/schema.js";
import { migrations } from "../src/migrations/index.js";
import { insertJobBeforeTenants } from "./support/release-before-tenants.js";
import {
  collectSubmitted,
  createRequest,
  engines,
  eventually,
  listQuery,
  LOCAL_SCOPE,
  memberOf,
  rand,
  startTestEnv,
  suiteTitle,
  type TestEnv,
} from "./support/harness.js";

const TENANTS_MIGRATION = "2026-12-04-002-job-tenants";

/** The migrations of the release before tenants: everything up to the tenants migration. */
const beforeTenants = Object.fromEntries(Object.entries(migrations).filter(([name]) => name < TENANTS_MIGRATION));

const SCRIPT = "print('trained before tenants')\n";

describe(suiteTitle("job-scheduler: jobs stored before tenants"), () => {
  describe.each(engines)("on $name", (engine) => {
    let env: TestEnv;
    const ids = { queued: `old-queued-${rand()}`, running: `old-running-${rand()}`, keyed: `old-keyed-${rand()}` };
    const oldKey = `old-key-${rand()}`;
    const experiment = `before-tenants-${rand()}`;

    /** Fills the database as the release before tenants did: jobs, a claim, stored log lines. */
    async function fillAsTheLastRelease(database: Database<unknown>, blobs: BlobStore): Promise<void> {
      expect((await migrateToLatest(database.db, beforeTenants)).applied).toEqual(Object.keys(beforeTenants));
      const db = database.db as unknown as SchedulerDb;
      const script = await putContentAddressed(blobs, "scripts", SCRIPT);
      const now = new Date();
      for (const [job_id, key] of [[ids.queued, null], [ids.running, null], [ids.keyed, oldKey]] as const) {
        await insertJobBeforeTenants(database.db as Kysely<any>, {
          job_id,
          script_name: "old.py",
          script_sha256: script.sha256,
          script_bytes: script.size,
          experiment_name: experiment,
          model_name: "old-model",
          requirements: ["scikit-learn"],
          environment_vars: { ALPHA: "1" },
          tags: {},
          timeout_seconds: 300,
          idempotency_key: key,
          request_hash: "old-hash",
          created_at: now,
          deadline_at: new Date(now.getTime() + 3_600_000),
        });
      }
      // A runner had claimed one and sent a batch of output, as that release stored it.
      await withLockedJob(db, ids.running, async (trx) => {
        await updateJob(trx, ids.running, { attempt: 1, runner_id: "old-runner", status: "running", phase: "running", started_at: now, last_heartbeat_at: now }, now);
        await recordBatch(trx, { jobId: ids.running, attempt: 1, batch: 1, lineCount: 2, at: now });
        await appendLines(trx, ids.running, { attempt: 1, batch: 1 }, [
          { stream: "stdout", text: "epoch 1", at: now },
          { stream: "stdout", text: "epoch 2", at: now },
        ]);
      });
    }

    beforeAll(async () => {
      env = await startTestEnv(engine, {}, undefined, fillAsTheLastRelease);
    });
    afterAll(async () => {
      await env?.dispose();
    });

    const db = () => env.database.db as unknown as SchedulerDb;

    it("gives every job stored before the migration the default tenant", async () => {
      const rows = await db().selectFrom("jobs").select(["job_id", "tenant"]).where("experiment_name", "=", experiment).execute();
      expect(rows).toHaveLength(3);
      expect(rows.every((r) => r.tenant === "default")).toBe(true);
    });

    it("serves the old jobs to the default tenant: get, list, logs and script", async () => {
      const member = memberOf("default");
      const job = await env.bus.request(RPC.getJob, { job_id: ids.running, scope: member });
      expect(job).toMatchObject({ job_id: ids.running, tenant: "default", status: "running", attempt: 1, logs: "epoch 1\nepoch 2" });
      const list = await env.bus.request(RPC.listJobs, listQuery({ scope: member, experiment_name: experiment }));
      expect(list.jobs.map((j) => j.job_id).sort()).toEqual(Object.values(ids).sort());
      const logs = await env.bus.request(RPC.getJobLogs, { job_id: ids.running, scope: member, offset: 0, limit: 10 });
      expect(logs.lines.map((l) => l.text)).toEqual(["epoch 1", "epoch 2"]);
      const script = await env.bus.request(RPC.getJobScript, { job_id: ids.queued, scope: member });
      expect(Buffer.from(script.script_b64, "base64").toString("utf8")).toBe(SCRIPT);
    });

    it("keeps them out of other tenants' reach", async () => {
      await expect(env.bus.request(RPC.getJob, { job_id: ids.queued, scope: memberOf("team-a") })).rejects.toMatchObject({ code: "NOT_FOUND" });
      const list = await env.bus.request(RPC.listJobs, listQuery({ scope: memberOf("team-a"), experiment_name: experiment }));
      expect(list.jobs).toEqual([]);
    });

    it("publishes an old job that was never published, naming its tenant", async () => {
      const submitted = await collectSubmitted(env.bus);
      try {
        const found = await eventually(
          async () => submitted.messages.filter((m) => m.data.job_id === ids.queued),
          (m) => m.length > 0,
        );
        expect(found[0]!.data.tenant).toBe("default");
      } finally {
        await submitted.stop();
      }
    });

    it("keeps an old Idempotency-Key as the default tenant's, and lets another tenant use it afresh", async () => {
      const repeat = await env.bus.request(RPC.createJob, createRequest({ scope: LOCAL_SCOPE, idempotency_key: oldKey, request_hash: "old-hash" }));
      expect(repeat).toMatchObject({ existing: true, job: { job_id: ids.keyed } });
      const other = await env.bus.request(RPC.createJob, createRequest({ scope: memberOf("team-a"), idempotency_key: oldKey, request_hash: "old-hash" }));
      expect(other.existing).toBe(false);
      expect(other.job).toMatchObject({ tenant: "team-a" });
    });

    it("cancels old jobs: a queued one at once, a running one through its runner", async () => {
      const member = memberOf("default");
      expect(await env.bus.request(RPC.cancelJob, { job_id: ids.queued, scope: member })).toMatchObject({ status: "cancelled" });
      expect(await env.bus.request(RPC.cancelJob, { job_id: ids.running, scope: member })).toMatchObject({ status: "running", cancel_requested: true });
    });

    it("migrates back down, keeping one job per repeated key", async () => {
      // Two tenants now share `oldKey`; the schema before tenants holds it once.
      const migrator = new Migrator({ db: env.database.db as Kysely<any>, provider: { getMigrations: async () => migrations } });
      await env.scheduler.stop();
      // Down to the release before tenants: the last migration before the tenants one.
      const down = await migrator.migrateTo(Object.keys(beforeTenants).sort().at(-1) as string);
      expect(down.error).toBeUndefined();
      const holders = await sql<{ job_id: string }>`select job_id from jobs where idempotency_key = ${oldKey}`.execute(env.database.db);
      expect(holders.rows.map((r) => r.job_id)).toEqual([ids.keyed]);
      const up = await migrator.migrateToLatest();
      expect(up.error).toBeUndefined();
      await env.scheduler.start();
    });
  });
});
