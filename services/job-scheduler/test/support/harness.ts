import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { inject } from "vitest";
import { connectBus, type Bus, type ConsumedMessage, type Consumption } from "@asgard/bus";
import {
  DEFAULT_TENANT,
  CONSUMERS,
  EVENTS,
  jobLogSubject,
  RPC,
  SIGNALS,
  type JobLog,
  type JobScope,
  type RpcRequest,
  type RunCompleted,
  type TrainingSubmitted,
} from "@asgard/contracts";
import { migrateToLatest, openDatabase, type Database } from "@asgard/db";
import { startNatsServer, type NatsServer } from "@asgard/infra";
import { createFsBlobStore, type BlobStore } from "@asgard/storage";
import { createLogger, Registry } from "@asgard/telemetry";
import { createScratchDatabase } from "@asgard/test-support";
import type { NewJob } from "../../src/db/jobs.js";
import { migrations } from "../../src/migrations/index.js";
import { createScheduler, type Scheduler } from "../../src/scheduler.js";
import type { SchedulerConfig } from "../../src/config.js";

export const logger = createLogger("job-scheduler-test", process.env.TEST_LOG_LEVEL ?? "silent");

const infra = inject("infra");

/** One database engine the suites run on. */
export interface Engine {
  name: string;
  open(): Promise<{ database: Database<unknown>; dispose(): Promise<void> }>;
}

/** PostgreSQL (a fresh database per suite) when the run has one, and always the embedded PGlite. */
export const engines: Engine[] = [
  ...(infra.databaseUrl
    ? [
        {
          name: "postgres",
          async open() {
            const scratch = await createScratchDatabase(infra.databaseUrl!, "asgard_scheduler_test");
            const database = await openDatabase<unknown>({ url: scratch.url, poolMax: 5 });
            return {
              database,
              async dispose() {
                await database.close();
                await scratch.drop();
              },
            };
          },
        },
      ]
    : []),
  {
    name: "embedded",
    async open() {
      const database = await openDatabase<unknown>({});
      return { database, dispose: () => database.close() };
    },
  },
];

/** Suite title that says when PostgreSQL was not part of the run. */
export const suiteTitle = (what: string): string =>
  infra.databaseUrl ? what : `${what} — embedded only (DATABASE_URL not set, PostgreSQL not tested)`;

/** Settings for tests: loops fast, deadlines long unless a test shortens them. */
export const TEST_CONFIG: Partial<SchedulerConfig> = {
  relayIntervalMs: 200,
  reconcileIntervalMs: 200,
  startupGraceMs: 0,
  publishTimeoutMs: 2_000,
};

/** A private NATS, a migrated database, a blob folder and a running scheduler. */
export interface TestEnv {
  nats: NatsServer;
  bus: Bus;
  database: Database<unknown>;
  blobs: BlobStore;
  scheduler: Scheduler;
  /** Metrics registry of the running scheduler. */
  metrics: Registry;
  /** Stops the running scheduler and starts a new one (same NATS, database, blobs). */
  restart(config?: Partial<SchedulerConfig>): Promise<void>;
  /** Stops nats-server, runs `whileDown`, and starts it again on the same port and store (a NATS outage). */
  natsOutage(whileDown: () => Promise<void>): Promise<void>;
  dispose(): Promise<void>;
}

export async function startTestEnv(
  engine: Engine,
  config: Partial<SchedulerConfig> = {},
  blobStore?: BlobStore,
  /** Runs on the fresh database and blob store before the migrations bring it to the latest schema. */
  beforeMigrations?: (database: Database<unknown>, blobs: BlobStore) => Promise<void>,
): Promise<TestEnv> {
  const dir = await mkdtemp(join(infra.workDir, "scheduler-"));
  // Catalog subjects and streams are fixed names: each suite needs a NATS of its own.
  const storeDir = join(dir, "nats");
  const nats = await startNatsServer({ storeDir });
  const bus = await connectBus({ servers: nats.url, name: "scheduler-test", logger });
  const { database, dispose: disposeDb } = await engine.open();
  const blobs = blobStore ?? createFsBlobStore({ root: join(dir, "blobs") });
  await beforeMigrations?.(database, blobs);
  await migrateToLatest(database.db, migrations);
  const make = (cfg: Partial<SchedulerConfig>) => {
    const metrics = new Registry();
    return { metrics, scheduler: createScheduler({ bus, database, blobs, logger, metrics, config: { ...TEST_CONFIG, ...cfg } }) };
  };
  const first = make(config);
  const env: TestEnv = {
    nats,
    bus,
    database,
    blobs,
    scheduler: first.scheduler,
    metrics: first.metrics,
    async restart(next = config) {
      await env.scheduler.stop();
      const made = make(next);
      env.scheduler = made.scheduler;
      env.metrics = made.metrics;
      await env.scheduler.start();
    },
    async natsOutage(whileDown) {
      await env.nats.stop();
      await whileDown();
      env.nats = await startNatsServer({ storeDir, port: env.nats.port });
    },
    async dispose() {
      await env.scheduler.stop();
      await bus.close();
      await disposeDb();
      await env.nats.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  await env.scheduler.start();
  return env;
}

// ---- Driving the scheduler as the gateway and the runners do -----------------------------

export const rand = (): string => randomBytes(4).toString("hex");

export const b64 = (text: string): string => Buffer.from(text, "utf8").toString("base64");

/** The scope the gateway sends in local mode: the default tenant, with admin's reach. */
export const LOCAL_SCOPE: JobScope = { tenant: DEFAULT_TENANT, admin: true };

/** The scope of a non-admin key of `tenant`. */
export const memberOf = (tenant: string): JobScope => ({ tenant, admin: false });

/** A valid create request; `overrides` on top. */
export function createRequest(overrides: Partial<RpcRequest<typeof RPC.createJob>> = {}): RpcRequest<typeof RPC.createJob> {
  return {
    scope: LOCAL_SCOPE,
    script_name: "train.py",
    script_b64: b64(`print("hello ${rand()}")\n`),
    experiment_name: `exp-${rand()}`,
    model_name: `model-${rand()}`,
    requirements: ["scikit-learn"],
    environment_vars: { ALPHA: "0.5" },
    timeout: 300,
    tags: { team: "test" },
    idempotency_key: null,
    request_hash: `hash-${rand()}`,
    ...overrides,
  };
}

/**
 * A queued job's row as a scheduler stores it, for tests that write rows directly (as a
 * scheduler that stopped before publishing, or an older release, left them).
 */
export function storedJob(script: { sha256: string; size: number }, overrides: Partial<NewJob> = {}): NewJob {
  const now = new Date();
  return {
    job_id: randomUUID(),
    tenant: "default",
    script_name: "outbox.py",
    script_sha256: script.sha256,
    script_bytes: script.size,
    experiment_name: "outbox",
    model_name: "outbox-model",
    requirements: [],
    environment_vars: {},
    tags: {},
    timeout_seconds: 60,
    idempotency_key: null,
    request_hash: "h",
    created_at: now,
    deadline_at: new Date(now.getTime() + 3_600_000),
    ...overrides,
  };
}

export async function createJob(bus: Bus, overrides: Partial<RpcRequest<typeof RPC.createJob>> = {}) {
  return (await bus.request(RPC.createJob, createRequest(overrides))).job;
}

export const getJob = (bus: Bus, jobId: string) => bus.request(RPC.getJob, { job_id: jobId, scope: LOCAL_SCOPE });

export async function claim(bus: Bus, jobId: string, runnerId = "runner-a", delivery = 1, seq?: number) {
  return bus.request(RPC.claimJob, { job_id: jobId, runner_id: runnerId, delivery, ...(seq !== undefined ? { seq } : {}) });
}

/** Claims and asserts the grant; returns the attempt. */
export async function claimGranted(bus: Bus, jobId: string, runnerId = "runner-a"): Promise<number> {
  const answer = await claim(bus, jobId, runnerId);
  if (!answer.granted) throw new Error(`claim of ${jobId} refused: ${answer.reason}`);
  return answer.attempt;
}

const envelope = () => ({ event_id: randomUUID(), schema_version: 1, occurred_at: new Date().toISOString(), tenant: DEFAULT_TENANT });

export async function publishLog(
  bus: Bus,
  jobId: string,
  attempt: number,
  batch: number,
  texts: string[],
  stream: "stdout" | "stderr" | "system" = "stdout",
): Promise<void> {
  const payload: JobLog = {
    ...envelope(),
    job_id: jobId,
    attempt,
    batch,
    lines: texts.map((text) => ({ stream, text, at: new Date().toISOString() })),
  };
  await bus.publish(EVENTS.jobLog, payload, { subject: jobLogSubject(jobId) });
}

export async function publishRunCompleted(
  bus: Bus,
  jobId: string,
  attempt: number,
  fields: Partial<RunCompleted> = {},
): Promise<void> {
  const payload: RunCompleted = {
    ...envelope(),
    job_id: jobId,
    attempt,
    runner_id: "runner-a",
    outcome: "succeeded",
    error_type: null,
    error: null,
    exit_code: 0,
    run_id: `run-${jobId.slice(0, 8)}-${attempt}`,
    experiment_id: "1",
    model_name: "m",
    logged_model_id: null,
    logged_model_uri: null,
    duration_seconds: 1.5,
    last_log_seq: 0,
    last_log_batch: 0,
    ...fields,
  };
  await bus.publish(EVENTS.runCompleted, payload);
}

export async function publishRegistered(bus: Bus, jobId: string | null, version: string, runId: string | null = null) {
  await bus.publish(EVENTS.modelRegistered, {
    ...envelope(),
    model_name: "m",
    version,
    run_id: runId,
    job_id: jobId,
    source: `models:/m/${version}`,
    aliases: [],
    signature: null,
    registered_at: new Date().toISOString(),
  });
}

export async function publishRegistrationFailed(bus: Bus, jobId: string, error: string) {
  await bus.publish(EVENTS.registrationFailed, { ...envelope(), job_id: jobId, model_name: "m", run_id: null, error });
}

export function heartbeat(bus: Bus, runnerId: string, jobs: Array<{ job_id: string; attempt: number }>): void {
  bus.publishSignal(SIGNALS.runnerHeartbeat, {
    runner_id: runnerId,
    slots: 2,
    busy: jobs.length,
    draining: false,
    jobs: jobs.map((j) => ({ ...j, phase: "running" as const })),
    at: new Date().toISOString(),
  });
}

/** Polls until `check` holds; bounded by a count of tries, never a timing assertion. */
export async function eventually<T>(read: () => Promise<T>, check: (v: T) => boolean, tries = 150, everyMs = 100): Promise<T> {
  let last: T | undefined;
  for (let i = 0; i < tries; i++) {
    last = await read();
    if (check(last)) return last;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`condition not reached; last value: ${JSON.stringify(last)?.slice(0, 2000)}`);
}

/** What the runners' consumer of training.submitted received, acked as it goes. */
export interface SubmittedCollector {
  messages: Array<Pick<ConsumedMessage<TrainingSubmitted>, "data" | "headers" | "seq">>;
  stop(): Promise<void>;
}

/** Reads training.submitted as the runners do (their durable consumer), acking each. */
export async function collectSubmitted(bus: Bus): Promise<SubmittedCollector> {
  await bus.ensureConsumer(CONSUMERS.runners);
  const messages: SubmittedCollector["messages"] = [];
  const consumption: Consumption = bus.consume(
    CONSUMERS.runners,
    { trainingSubmitted: async (msg) => {
      messages.push({ data: msg.data, headers: msg.headers, seq: msg.seq });
      await msg.ack();
    } },
    { pullTimeoutMs: 1_000 },
  );
  return { messages, stop: () => consumption.stop() };
}

/** A list request as the gateway forwards its parsed query (absent parameters are undefined). */
export function listQuery(query: Partial<RpcRequest<typeof RPC.listJobs>> = {}): RpcRequest<typeof RPC.listJobs> {
  return { scope: LOCAL_SCOPE, status: undefined, experiment_name: undefined, tenant: undefined, page_token: undefined, limit: 50, ...query };
}
