import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { connectBus, type Bus } from "@asgard/bus";
import { DEFAULT_TENANT, CONSUMERS, EVENTS, KV, SIGNALS, STATUS_SNAPSHOT_KEY, StatusSnapshotSchema, type StatusSnapshot } from "@asgard/contracts";
import { startNatsServer, type NatsServer } from "@asgard/infra";
import { createMlflowClient, type MlflowClient } from "@asgard/mlflow";
import { createLogger, createMetricsRegistry, type Registry } from "@asgard/telemetry";
import { createStatusService, type StatusService } from "../src/status-service.js";

const logger = createLogger("status-runners-test", "silent");

/** Polls until `check` holds (bounded by count, not a time threshold on the system). */
async function eventually<T>(read: () => Promise<T>, check: (v: T) => boolean, tries = 150, everyMs = 100): Promise<T> {
  let last: T | undefined;
  for (let i = 0; i < tries; i++) {
    last = await read();
    if (check(last)) return last;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`condition not reached; last value: ${JSON.stringify(last)}`);
}

/** A stand-in python-runner: beats on the real subject, from its own connection, like a replica. */
function fakeRunner(bus: Bus, runnerId: string, slots: number, busy: number) {
  const beat = () =>
    bus.publishSignal(SIGNALS.runnerHeartbeat, {
      runner_id: runnerId,
      slots,
      busy,
      draining: false,
      jobs: Array.from({ length: busy }, (_, i) => ({ job_id: `${runnerId}-job-${i}`, attempt: 1, phase: "running" as const })),
      at: new Date().toISOString(),
    });
  beat();
  const timer = setInterval(beat, 200);
  return { stop: () => clearInterval(timer) };
}

/** Value of a sample in Prometheus text output, or undefined when the series is absent. */
async function sample(registry: Registry, name: string): Promise<number | undefined> {
  const text = await registry.metrics();
  const line = text.split("\n").find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
}

describe("status service: live runners from heartbeats and the training queue's depth (real NATS)", () => {
  const infra = inject("infra");
  let dir: string;
  let nats: NatsServer;
  let runnerBus: Bus;
  let statusBus: Bus;
  let otherStatusBus: Bus;
  let mlflow: MlflowClient;
  const services: StatusService[] = [];

  const statusService = (bus: Bus, metrics?: Registry) => {
    const service = createStatusService({
      bus,
      mlflow,
      featureStore: null,
      trackingUri: infra.mlflowUrl,
      intervalMs: 5_000,
      // Generous: other test files load the shared MLflow at the same time.
      probeTimeoutMs: 4_500,
      runnerWindowMs: 1_500,
      logger,
      metrics,
    });
    services.push(service);
    return service;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(infra.workDir, "status-runners-"));
    // A private NATS: heartbeats, the TRAINING stream and its consumer have fixed names.
    nats = await startNatsServer({ storeDir: join(dir, "nats") });
    runnerBus = await connectBus({ servers: nats.url, name: "status-test-runners", logger });
    statusBus = await connectBus({ servers: nats.url, name: "status-test-status", logger });
    otherStatusBus = await connectBus({ servers: nats.url, name: "status-test-status-2", logger });
    mlflow = createMlflowClient({ baseUrl: infra.mlflowUrl });
  });

  afterAll(async () => {
    for (const s of services) await s.stop();
    await runnerBus?.close();
    await statusBus?.close();
    await otherStatusBus?.close();
    await mlflow?.close();
    await nats?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("counts two live runners with their slots in every status replica, and drops one that stops beating after the window", async () => {
    const metrics = createMetricsRegistry("status-runners-test");
    const service = statusService(statusBus, metrics);
    const other = statusService(otherStatusBus);
    await service.start();
    await other.start();
    const a = fakeRunner(runnerBus, "runner-a", 2, 1);
    const b = fakeRunner(runnerBus, "runner-b", 3, 0);
    try {
      const both = await eventually(() => service.probeOnce(), (s) => s.runners?.live === 2);
      expect(both.runners).toMatchObject({
        live: 2,
        slots: 5,
        busy: 1,
        draining: 0,
        window_ms: 1_500,
        replicas: [
          { runner_id: "runner-a", slots: 2, busy: 1, draining: false },
          { runner_id: "runner-b", slots: 3, busy: 0, draining: false },
        ],
      });
      expect(StatusSnapshotSchema.parse(both)).toEqual(both);
      expect(await sample(metrics, "asgard_runners_live")).toBe(2);
      expect(await sample(metrics, "asgard_runner_slots")).toBe(5);
      expect(await sample(metrics, "asgard_runner_slots_busy")).toBe(1);
      // No queue group: a second status replica hears every runner too.
      expect((await eventually(() => other.probeOnce(), (s) => s.runners?.live === 2)).runners?.slots).toBe(5);

      b.stop();
      let lastSeenB = "";
      const one = await eventually(
        () => service.probeOnce(),
        (s) => {
          const seen = s.runners?.replicas.find((r) => r.runner_id === "runner-b");
          if (seen) lastSeenB = seen.last_seen;
          return s.runners?.live === 1;
        },
      );
      expect(one.runners).toMatchObject({ live: 1, slots: 2, busy: 1, replicas: [{ runner_id: "runner-a" }] });
      // Dropped only once its last heartbeat was older than the window.
      expect(Date.parse(one.checked_at) - Date.parse(lastSeenB)).toBeGreaterThan(1_500);
      expect(await sample(metrics, "asgard_runners_live")).toBe(1);
      expect(await sample(metrics, "asgard_runner_slots")).toBe(2);

      // The scheduled rounds write the same counts to KV, where the gateways read them.
      const kv = await statusBus.kv(KV.status);
      const stored = await eventually(
        async () => (await kv.get(STATUS_SNAPSHOT_KEY)) as StatusSnapshot | null,
        (s) => s?.runners?.live === 1,
        100,
        200,
      );
      expect(stored?.runners?.replicas.map((r) => r.runner_id)).toEqual(["runner-a"]);
    } finally {
      a.stop();
      b.stop();
      await service.stop();
      await other.stop();
    }
  }, 120_000);

  it("reports the training queue as null before it exists, then its pending and in-flight jobs", async () => {
    const metrics = createMetricsRegistry("status-queue-test");
    const service = statusService(statusBus, metrics);
    const before = await service.probeOnce();
    // The rest of the snapshot is unaffected by the missing queue.
    expect(before.queue).toBeNull();
    expect(before.components.nats.available).toBe(true);
    expect(await sample(metrics, "asgard_queue_pending")).toBeUndefined();

    await runnerBus.ensureStream(EVENTS.trainingSubmitted.stream);
    await runnerBus.ensureConsumer(CONSUMERS.runners);
    const n = 5;
    for (let i = 0; i < n; i++) {
      const id = randomUUID();
      const at = new Date().toISOString();
      await runnerBus.publish(
        EVENTS.trainingSubmitted,
        {
          event_id: id,
          schema_version: 1,
          occurred_at: at,
          tenant: DEFAULT_TENANT,
          job_id: id,
          experiment_name: "queue-depth",
          model_name: "m",
          script_name: "train.py",
          script_sha256: "0".repeat(64),
          requirements: [],
          timeout_seconds: 60,
          submitted_at: at,
        },
        { msgId: id },
      );
    }
    const queued = await service.probeOnce();
    expect(queued.queue).toEqual({ pending: n, in_flight: 0, redelivered: 0 });
    expect(await sample(metrics, "asgard_queue_pending")).toBe(n);
    expect(await sample(metrics, "asgard_queue_in_flight")).toBe(0);

    // A runner holding one job without acking it: one in flight, the rest pending.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let delivered!: () => void;
    const gotOne = new Promise<void>((r) => (delivered = r));
    const consumption = runnerBus.consume(CONSUMERS.runners, {
      trainingSubmitted: async (msg) => {
        delivered();
        await held;
        await msg.ack();
      },
    });
    try {
      await gotOne;
      const working = await service.probeOnce();
      expect(working.queue).toEqual({ pending: n - 1, in_flight: 1, redelivered: 0 });
      expect(await sample(metrics, "asgard_queue_in_flight")).toBe(1);
    } finally {
      // stop() waits for the handler, which waits for release.
      const stopping = consumption.stop();
      release();
      await stopping;
      await consumption.done;
    }
    const after = await eventually(() => service.probeOnce(), (s) => s.queue?.in_flight === 0);
    expect(after.queue).toEqual({ pending: n - 1, in_flight: 0, redelivered: 0 });
  }, 120_000);
});
