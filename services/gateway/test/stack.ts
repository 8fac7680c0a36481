import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { inject } from "vitest";
import { connectBus, type Bus } from "@asgard/bus";
import { buildOpenApiDocument } from "@asgard/contracts";
import { migrateToLatest, openDatabase, type Database } from "@asgard/db";
import { startNatsServer, type NatsServer } from "@asgard/infra";
import { createScheduler, migrations, type Scheduler, type SchedulerConfig } from "@asgard/job-scheduler";
import { createFsBlobStore, type BlobStore } from "@asgard/storage";
import { createLogger, createMetricsRegistry, type Registry } from "@asgard/telemetry";
import { createScratchDatabase } from "@asgard/test-support";
import { createGateway } from "../src/app.js";
import { createKeyStore, type KeyStore } from "../src/auth/key-store.js";
import type { StatusCache } from "../src/status-cache.js";
import type { TrainingRouteOptions } from "../src/training-options.js";

export const logger = createLogger("gateway-training-test", "silent");

/** The training routes never read the status cache; an empty one keeps /mlops/status at 503. */
const noStatus: StatusCache = { current: () => null, start: async () => {}, stop: async () => {} };

/** One gateway instance on its own NATS connection. */
export interface TestGateway {
  app: FastifyInstance;
  bus: Bus;
  metrics: Registry;
  /** Its API keys, when it checks them. */
  keys: KeyStore | null;
  close(): Promise<void>;
}

/** Options of a test gateway besides its training routes. */
export interface GatewayOptions {
  /** Check API keys as `main.ts` does (bound to loopback: open until the first key exists). */
  apiKeys?: boolean;
}

export async function startGateway(natsUrl: string, name: string, training?: TrainingRouteOptions, options: GatewayOptions = {}): Promise<TestGateway> {
  const bus = await connectBus({ servers: natsUrl, name, logger });
  const metrics = createMetricsRegistry(name);
  const keys = options.apiKeys ? createKeyStore({ bus, logger }) : null;
  await keys?.start();
  const app = await createGateway({
    bus: { current: bus },
    statusCache: noStatus,
    logger,
    metrics,
    openapi: buildOpenApiDocument(),
    statusRetryAfterSeconds: 2,
    bodyLimitBytes: 2 * 1024 * 1024,
    ...(training ? { training } : {}),
    ...(keys ? { keys: { current: keys }, localMode: true } : {}),
  });
  return {
    app,
    bus,
    metrics,
    keys,
    async close() {
      await app.close();
      await keys?.stop();
      await bus.close();
    },
  };
}

/**
 * A private nats-server, the real job-scheduler on a fresh database (a scratch PostgreSQL
 * database when the run has one, else embedded PGlite) and a file blob store, and a gateway.
 */
export interface TrainingStack {
  nats: NatsServer;
  gateway: TestGateway;
  /** A connection of its own for the test playing the runner. */
  runnerBus: Bus;
  /** The scheduler's database (tests may age a row). */
  database: Database<unknown>;
  dir: string;
  startScheduler(): Promise<void>;
  stopScheduler(): Promise<void>;
  close(): Promise<void>;
}

export interface TrainingStackOptions extends GatewayOptions {
  /** Scheduler settings on top of its defaults. */
  scheduler?: Partial<SchedulerConfig>;
}

export async function startTrainingStack(name: string, training?: TrainingRouteOptions, options: TrainingStackOptions = {}): Promise<TrainingStack> {
  const infra = inject("infra");
  const dir = await mkdtemp(join(infra.workDir, `${name}-`));
  const nats = await startNatsServer({ storeDir: join(dir, "nats") });
  const scratch = infra.databaseUrl ? await createScratchDatabase(infra.postgresAdminUrl ?? infra.databaseUrl, "gateway_test") : null;
  const database: Database<unknown> = await openDatabase<unknown>(scratch ? { url: scratch.url } : {});
  await migrateToLatest(database.db, migrations);
  const blobStore: BlobStore = createFsBlobStore({ root: join(dir, "blobs") });
  const schedulerBus = await connectBus({ servers: nats.url, name: `${name}-scheduler`, logger });
  const runnerBus = await connectBus({ servers: nats.url, name: `${name}-runner`, logger });
  let scheduler: Scheduler | null = null;

  const startScheduler = async () => {
    scheduler = createScheduler({
      bus: schedulerBus,
      database,
      blobs: blobStore,
      logger,
      metrics: createMetricsRegistry(`${name}-scheduler`),
      ...(options.scheduler ? { config: options.scheduler } : {}),
    });
    await scheduler.start();
  };
  await startScheduler();
  const gateway = await startGateway(nats.url, `${name}-gateway`, training, options);

  return {
    nats,
    gateway,
    runnerBus,
    database,
    dir,
    startScheduler,
    async stopScheduler() {
      await scheduler?.stop();
      scheduler = null;
    },
    async close() {
      await gateway.close();
      await scheduler?.stop();
      await runnerBus.close();
      await schedulerBus.close();
      await database.close();
      await scratch?.drop();
      await nats.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
