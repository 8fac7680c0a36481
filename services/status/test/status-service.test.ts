import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { BusError, connectBus, type Bus } from "@asgard/bus";
import { KV, RPC, STATUS_SNAPSHOT_KEY, type StatusSnapshot } from "@asgard/contracts";
import { migrateToLatest, openDatabase, type Database } from "@asgard/db";
import { createFsBlobStore } from "@asgard/storage";
import { startMlflowServer, startNatsServer, type MlflowServer, type NatsServer } from "@asgard/infra";
import { createMlflowClient, type MlflowClient } from "@asgard/mlflow";
import { createScheduler, migrations, type Scheduler } from "@asgard/job-scheduler";
import { createLogger, createMetricsRegistry } from "@asgard/telemetry";
import { createFeastRegistryFileProbe } from "../src/feast-registry.js";
import { createStatusService } from "../src/status-service.js";
import { buildFeastRegistry } from "./feast-repo.js";

const logger = createLogger("status-test", "silent");
const rand = () => Math.random().toString(36).slice(2, 10);

/** Polls until `check` holds (bounded by count, not a time threshold on the system). */
async function eventually<T>(read: () => Promise<T>, check: (v: T) => boolean, tries = 100, everyMs = 100): Promise<T> {
  let last: T | undefined;
  for (let i = 0; i < tries; i++) {
    last = await read();
    if (check(last)) return last;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`condition not reached; last value: ${JSON.stringify(last)}`);
}

describe("status service against real NATS, MLflow, database and a Feast registry", () => {
  const infra = inject("infra");
  let dir: string;
  let nats: NatsServer;
  let bus: Bus;
  let database: Database<unknown>;
  let scheduler: Scheduler;
  let mlflow: MlflowClient;

  beforeAll(async () => {
    dir = await mkdtemp(join(infra.workDir, "status-"));
    // A private NATS: the status bucket and the database-health subject are fixed names.
    nats = await startNatsServer({ storeDir: join(dir, "nats") });
    bus = await connectBus({ servers: nats.url, name: "status-test", logger });
    database = await openDatabase<unknown>(infra.databaseUrl ? { url: infra.databaseUrl } : {});
    await migrateToLatest(database.db, migrations);
    scheduler = createScheduler({ bus, database, blobs: createFsBlobStore({ root: join(dir, "blobs") }), logger });
    await scheduler.start();
    mlflow = createMlflowClient({ baseUrl: infra.mlflowUrl });
  });

  afterAll(async () => {
    await scheduler?.stop();
    await bus?.close();
    await database?.close();
    await mlflow?.close();
    await nats?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("reports MLflow's real counts, NATS and the scheduler's database, and writes the snapshot to KV", async () => {
    const service = createStatusService({
      bus,
      mlflow,
      featureStore: null,
      trackingUri: infra.mlflowUrl,
      intervalMs: 5_000,
      // Generous: other test files load the shared MLflow at the same time.
      probeTimeoutMs: 4_500,
      logger,
      metrics: createMetricsRegistry("status-test"),
    });
    const before = await service.probeOnce();
    expect(before.mlflow_available).toBe(true);
    expect(before.components.nats.available).toBe(true);
    expect(before.components.database).toMatchObject({ available: true, kind: database.kind });
    // This private bus has a scheduler but no registry or inference replica.
    expect(before.services?.job_scheduler).toMatchObject({ available: true, error: null });
    expect(before.services?.registry).toMatchObject({ available: false, latency_ms: null });
    expect(before.services?.registry.error).toMatch(/^registry: .*no service is serving it/);
    expect(before.services?.inference.error).toMatch(/^inference: .*rpc\.inference\.health: no service is serving it/);
    expect(before.feast_store_available).toBe(false);
    expect(before.feature_views).toBe(0);
    expect(before.components.feature_store.configured).toBe(false);

    await mlflow.createExperiment(`status-exp-${rand()}`);
    await mlflow.createRegisteredModel(`status-model-${rand()}`);
    // Other test files create and delete experiments and models on the shared MLflow at the same
    // time: the probe must equal MLflow's own counts read just before and just after it, in a
    // window where those two agree (nothing changed meanwhile).
    const counts = async () => ({ experiments: await mlflow.countExperiments("ACTIVE_ONLY"), models: await mlflow.countRegisteredModels() });
    let after = await service.probeOnce();
    let window: { low: Awaited<ReturnType<typeof counts>>; high: Awaited<ReturnType<typeof counts>> } | null = null;
    for (let tries = 0; tries < 50 && window === null; tries++) {
      const low = await counts();
      after = await service.probeOnce();
      const high = await counts();
      if (low.experiments === high.experiments && low.models === high.models) window = { low, high };
    }
    expect(window, "MLflow's counts never held still across a probe").not.toBeNull();
    expect(after.active_experiments).toBe(window?.low.experiments);
    expect(after.registered_models).toBe(window?.low.models);
    expect(after.mlflow_tracking_uri).toBe(infra.mlflowUrl);

    const kv = await bus.kv(KV.status);
    const stored = await kv.get(STATUS_SNAPSHOT_KEY);
    expect(stored?.timestamp).toBe(after.timestamp);
  });

  it("counts the feature views of a registry built by `feast apply`", async () => {
    const registry = await buildFeastRegistry(join(dir, "feast"), `proj_${rand()}`, ["driver_hourly", "driver_daily", "trips"]);
    const service = createStatusService({
      bus,
      mlflow,
      featureStore: createFeastRegistryFileProbe(registry),
      trackingUri: infra.mlflowUrl,
      intervalMs: 5_000,
      probeTimeoutMs: 4_500,
      logger,
    });
    const snapshot = await service.probeOnce();
    expect(snapshot.feast_store_available).toBe(true);
    expect(snapshot.feature_views).toBe(3);
    expect(snapshot.components.feature_store).toMatchObject({ configured: true, available: true, error: null });
  }, 240_000);

  it("a configured registry that is missing reads as unavailable, not as an error", async () => {
    const service = createStatusService({
      bus,
      mlflow,
      featureStore: createFeastRegistryFileProbe(join(dir, "nope", "registry.db")),
      trackingUri: infra.mlflowUrl,
      intervalMs: 5_000,
      probeTimeoutMs: 4_500,
      logger,
    });
    const snapshot = await service.probeOnce();
    expect(snapshot.feast_store_available).toBe(false);
    expect(snapshot.components.feature_store.error).toMatch(/cannot be read/);
  });

  it("flips mlflow_available within one interval of MLflow stopping, keeps the last counts, and recovers", async () => {
    let server: MlflowServer = await startMlflowServer({
      backendStoreUri: `sqlite:///${join(dir, "own-mlflow", "mlflow.db")}`,
      artifactsDestination: join(dir, "own-mlflow", "artifacts"),
    });
    const port = server.port;
    const client = createMlflowClient({ baseUrl: server.url });
    await client.createExperiment(`flip-${rand()}`);
    const intervalMs = 1_000;
    const service = createStatusService({
      bus,
      mlflow: client,
      featureStore: null,
      trackingUri: server.url,
      intervalMs,
      probeTimeoutMs: 900,
      logger,
    });
    const kv = await bus.kv(KV.status);
    const read = async () => (await kv.get(STATUS_SNAPSHOT_KEY)) as StatusSnapshot | null;
    await service.start();
    try {
      const up = await eventually(read, (s) => s?.mlflow_tracking_uri === server.url && s.mlflow_available);
      expect(up!.active_experiments).toBe(2);

      const seen: StatusSnapshot[] = [];
      const watch = kv.watch(STATUS_SNAPSHOT_KEY, (s) => {
        if (s) seen.push(s);
      });
      await server.stop();
      const stoppedAt = Date.now();
      const afterStop = () => seen.filter((s) => Date.parse(s.checked_at) >= stoppedAt);
      await eventually(async () => afterStop().length, (n) => n >= 2);
      await watch.stop();
      // A round that began before the stop may still have seen MLflow; the next round never does.
      const second = afterStop()[1];
      expect(second!.mlflow_available).toBe(false);
      expect(second!.active_experiments).toBe(2);
      expect(second!.components.mlflow.error).toBeTruthy();

      server = await startMlflowServer({
        port,
        backendStoreUri: `sqlite:///${join(dir, "own-mlflow", "mlflow.db")}`,
        artifactsDestination: join(dir, "own-mlflow", "artifacts"),
      });
      await eventually(read, (s) => s?.mlflow_available === true, 200);
    } finally {
      await service.stop();
      await client.close();
      await server.stop();
    }
  }, 180_000);

  it("says the database is unknown when no scheduler answers", async () => {
    const lonely = await startNatsServer({ storeDir: join(dir, "lonely-nats") });
    const lonelyBus = await connectBus({ servers: lonely.url, name: "status-lonely", logger });
    try {
      const service = createStatusService({
        bus: lonelyBus,
        mlflow,
        featureStore: null,
        trackingUri: infra.mlflowUrl,
        intervalMs: 1_000,
        probeTimeoutMs: 500,
        logger,
      });
      const snapshot = await service.probeOnce();
      expect(snapshot.components.database).toMatchObject({ available: false, kind: null });
      expect(snapshot.components.database.error).toMatch(/job-scheduler/);
      expect(snapshot.services?.job_scheduler).toMatchObject({ available: false });
      expect(snapshot.mlflow_available).toBe(true);
    } finally {
      await lonelyBus.close();
      await lonely.stop();
    }
  });

  it("counts a service as answering when it replies on the bus, an error reply included", async () => {
    const own = await startNatsServer({ storeDir: join(dir, "answers-nats") });
    const ownBus = await connectBus({ servers: own.url, name: "status-answers", logger });
    const serving = [
      ownBus.serve(RPC.inferenceHealth, async () => ({ instance_id: "inference-a" })),
      // A registry that has not read MLflow yet answers, and says so.
      ownBus.serve(RPC.listModels, async () => {
        throw new BusError("UNAVAILABLE", "the registry has not read MLflow's model list yet; retry shortly");
      }),
    ];
    try {
      const service = createStatusService({
        bus: ownBus,
        mlflow,
        featureStore: null,
        trackingUri: infra.mlflowUrl,
        intervalMs: 1_000,
        probeTimeoutMs: 900,
        logger,
      });
      const snapshot = await service.probeOnce();
      expect(snapshot.services?.inference).toMatchObject({ available: true, error: null });
      expect(snapshot.services?.registry).toMatchObject({ available: true, error: null });
      expect(snapshot.services?.job_scheduler).toMatchObject({ available: false });
    } finally {
      for (const s of serving) await s.stop();
      await ownBus.close();
      await own.stop();
    }
  });
});
