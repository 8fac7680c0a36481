import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { connectBus, type Bus } from "@asgard/bus";
import type { CreateKeyResponse } from "@asgard/contracts";
import { migrateToLatest, openDatabase, type Database } from "@asgard/db";
import { startNatsServer, type NatsServer } from "@asgard/infra";
import { createScheduler, migrations, type Scheduler } from "@asgard/job-scheduler";
import { createFsBlobStore } from "@asgard/storage";
import { createLogger, createMetricsRegistry } from "@asgard/telemetry";
import { createScratchDatabase } from "@asgard/test-support";
import { SEED_SCRIPT } from "@asgard/test-support";
import { b64 } from "./bodies.js";
import { bearer, createKey, eventually, keyedReplica, LOCAL, type KeyedReplica } from "./keyed-gateway.js";
import { RunnerRole } from "./runner-role.js";

/**
 * A submission with an API key and a secret in `environment_vars`, through the gateway and
 * the real job-scheduler, both logging everything they can (level trace, their NATS
 * connections included): neither the key nor the value may appear anywhere in their output.
 */
describe("keys and environment_vars values never reach the logs (gateway and job-scheduler at level trace)", () => {
  const infra = inject("infra");
  const output: string[] = [];
  const capture = (service: string) => createLogger(service, "trace", { write: (line) => void output.push(line) });
  const SECRET = `s3cr3t-${randomBytes(12).toString("hex")}`;
  let dir: string;
  let nats: NatsServer;
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>> | null = null;
  let database: Database<unknown>;
  let schedulerBus: Bus;
  let runnerBus: Bus;
  let scheduler: Scheduler;
  let gateway: KeyedReplica;
  let admin: CreateKeyResponse;
  let submitter: CreateKeyResponse;

  beforeAll(async () => {
    dir = await mkdtemp(join(infra.workDir, "gw-secrets-"));
    nats = await startNatsServer({ storeDir: join(dir, "nats") });
    scratch = infra.databaseUrl ? await createScratchDatabase(infra.postgresAdminUrl ?? infra.databaseUrl, "gateway_secrets") : null;
    database = await openDatabase<unknown>(scratch ? { url: scratch.url } : {});
    await migrateToLatest(database.db, migrations);
    const logger = capture("job-scheduler");
    schedulerBus = await connectBus({ servers: nats.url, name: "secrets-scheduler", logger });
    scheduler = createScheduler({ bus: schedulerBus, database, blobs: createFsBlobStore({ root: join(dir, "blobs") }), logger, metrics: createMetricsRegistry("secrets-scheduler") });
    await scheduler.start();
    runnerBus = await connectBus({ servers: nats.url, name: "secrets-runner", logger: createLogger("runner", "silent") });
    gateway = await keyedReplica(nats.url, "secrets-gateway", { logger: capture("gateway") });
  });

  afterAll(async () => {
    await gateway?.close();
    await scheduler?.stop();
    await runnerBus?.close();
    await schedulerBus?.close();
    await database?.close();
    await scratch?.drop();
    await nats?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("submits, reads, follows, runs and cancels jobs with keys and a secret environment variable, and logs neither", async () => {
    admin = await createKey(gateway.app, null, { name: "admin", scopes: ["admin"] });
    submitter = await createKey(gateway.app, admin.key, { name: "ci", scopes: ["jobs:submit", "jobs:read"] });
    const body = (n: number) =>
      JSON.stringify({
        script_name: `train_${n}.py`,
        script_content: b64(SEED_SCRIPT),
        experiment_name: "secrets",
        model_name: "secret-model",
        requirements: ["scikit-learn"],
        environment_vars: { DB_PASSWORD: SECRET, API_TOKEN: SECRET },
      });
    const basic = `Basic ${Buffer.from(`ci:${submitter.key}`).toString("base64")}`;
    const ways = [bearer(submitter.key), { ...LOCAL, "x-api-key": submitter.key }, { ...LOCAL, authorization: basic }];
    const jobs: string[] = [];
    for (const [n, headers] of ways.entries()) {
      const res = await gateway.app.inject({ method: "POST", url: "/mlops/training/upload", headers: { ...headers, "content-type": "application/json", "idempotency-key": `secret-${n}` }, payload: body(n) });
      expect(res.statusCode, res.body).toBe(202);
      jobs.push(res.json<{ job_id: string }>().job_id);
    }
    // Refused submissions carry the secret too: a bad name beside it, and a wrong key.
    const refused = await gateway.app.inject({
      method: "POST",
      url: "/mlops/training/upload",
      headers: { ...bearer(submitter.key), "content-type": "application/json" },
      payload: JSON.stringify({ ...JSON.parse(body(9)), environment_vars: { "bad name": SECRET, PATH: SECRET } }),
    });
    expect(refused.statusCode).toBe(422);
    expect((await gateway.app.inject({ method: "POST", url: "/mlops/training/upload", headers: { ...bearer(`${submitter.key.slice(0, -4)}AAAA`), "content-type": "application/json" }, payload: body(9) })).statusCode).toBe(401);

    // One job runs (the test plays its runner: the claim answer carries the variables), one is cancelled.
    const runner = new RunnerRole(runnerBus);
    const attempt = await runner.claim(jobs[0]!);
    await runner.log(jobs[0]!, attempt, ["training…"]);
    await runner.complete(jobs[0]!, attempt);
    await eventually(async () => (await gateway.app.inject({ url: `/mlops/training/jobs/${jobs[0]}`, headers: bearer(submitter.key) })).json<{ status: string }>().status === "completed");
    expect((await gateway.app.inject({ method: "DELETE", url: `/mlops/training/jobs/${jobs[1]}`, headers: bearer(submitter.key) })).statusCode).toBeLessThan(300);
    for (const url of ["/mlops/training/jobs", `/mlops/training/jobs/${jobs[2]}/script`, `/mlops/training/jobs/${jobs[0]}/logs`]) {
      expect((await gateway.app.inject({ url, headers: bearer(submitter.key) })).statusCode, url).toBe(200);
    }
    expect((await gateway.app.inject({ method: "DELETE", url: `/mlops/keys/${submitter.id}`, headers: bearer(admin.key) })).statusCode).toBe(200);

    const text = output.join("");
    // The services did log this work (so the check below looks at something).
    expect(text).toContain(jobs[0]);
    expect(text).toContain('"audit":"job.submitted"');
    expect(text).toContain(submitter.id);
    expect(output.length).toBeGreaterThan(10);
    for (const secret of [SECRET, admin.key, submitter.key, submitter.key.split("_")[2]!, b64(SECRET)]) {
      expect(text.includes(secret), `a log line carries ${secret.slice(0, 10)}…`).toBe(false);
    }
  });
});
