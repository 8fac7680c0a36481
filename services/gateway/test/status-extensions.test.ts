import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { connectBus, type Bus } from "@asgard/bus";
import { buildOpenApiDocument, KV, STATUS_SNAPSHOT_KEY, type StatusSnapshot } from "@asgard/contracts";
import { startNatsServer, type NatsServer } from "@asgard/infra";
import { createLogger, createMetricsRegistry } from "@asgard/telemetry";
import { createGateway } from "../src/app.js";
import type { BusRef } from "../src/bus-ref.js";
import { createStatusCache, type StatusCache } from "../src/status-cache.js";

const logger = createLogger("gateway-status-ext-test", "silent");

/** A snapshot as a status service without the runner and queue fields writes it. */
function originalSnapshot(): StatusSnapshot {
  const at = new Date().toISOString();
  const component = { available: true, latency_ms: 1.5, checked_at: at, error: null };
  return {
    mlflow_tracking_uri: "http://127.0.0.1:5000",
    mlflow_available: true,
    feast_store_available: false,
    registered_models: 3,
    active_experiments: 6,
    feature_views: 0,
    timestamp: at,
    checked_at: at,
    probe_interval_ms: 3000,
    components: {
      mlflow: component,
      feature_store: { ...component, available: false, configured: false, latency_ms: null },
      nats: component,
      database: { ...component, kind: "embedded" },
    },
  };
}

async function until(check: () => boolean, tries = 100): Promise<void> {
  for (let i = 0; i < tries && !check(); i++) await new Promise((r) => setTimeout(r, 50));
  expect(check()).toBe(true);
}

describe("GET /mlops/status runner and queue extensions (real NATS, in-process HTTP)", () => {
  const infra = inject("infra");
  let dir: string;
  let nats: NatsServer;
  let bus: Bus;
  let cache: StatusCache;
  let app: FastifyInstance;

  beforeAll(async () => {
    dir = await mkdtemp(join(infra.workDir, "gateway-status-ext-"));
    nats = await startNatsServer({ storeDir: join(dir, "nats") });
    bus = await connectBus({ servers: nats.url, name: "gateway-status-ext-test", logger });
    const ref: BusRef = { current: bus };
    cache = createStatusCache({ bus, logger });
    await cache.start();
    app = await createGateway({
      bus: ref,
      statusCache: cache,
      logger,
      metrics: createMetricsRegistry("gateway-status-ext-test"),
      openapi: buildOpenApiDocument(),
      statusRetryAfterSeconds: 2,
      bodyLimitBytes: 64 * 1024,
    });
  });

  afterAll(async () => {
    await app?.close();
    await cache?.stop();
    await bus?.close();
    await nats?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("serves live runners and queue depth under their own keys, and still serves snapshots without them", async () => {
    const kv = await bus.kv(KV.status);
    const old = originalSnapshot();
    await kv.put(STATUS_SNAPSHOT_KEY, old);
    await until(() => cache.current()?.snapshot.timestamp === old.timestamp);
    const before = (await app.inject("/mlops/status")).json();
    expect(before).toEqual(old);
    expect(before).not.toHaveProperty("runners");

    const seen = new Date().toISOString();
    const extended: StatusSnapshot = {
      ...originalSnapshot(),
      timestamp: seen,
      runners: {
        live: 2,
        slots: 3,
        busy: 1,
        draining: 0,
        window_ms: 15_000,
        replicas: [
          { runner_id: "runner-1", slots: 1, busy: 1, draining: false, last_seen: seen },
          { runner_id: "runner-2", slots: 2, busy: 0, draining: false, last_seen: seen },
        ],
      },
      queue: { pending: 4, in_flight: 1, redelivered: 0 },
    };
    await kv.put(STATUS_SNAPSHOT_KEY, extended);
    await until(() => cache.current()?.snapshot.timestamp === seen);
    const res = await app.inject("/mlops/status");
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual(extended);

    await kv.put(STATUS_SNAPSHOT_KEY, { ...extended, timestamp: new Date(Date.parse(seen) + 1).toISOString(), queue: null });
    await until(() => cache.current()?.snapshot.queue === null);
    expect((await app.inject("/mlops/status")).json()).toMatchObject({ queue: null, runners: { live: 2 }, mlflow_available: true });
  });

  it("documents both in the OpenAPI schema of the status response, as optional extension fields", async () => {
    const doc = (await app.inject("/openapi.json")).json() as {
      components: { schemas: Record<string, { properties: Record<string, unknown>; required?: string[] }> };
    };
    const schema = doc.components.schemas.StatusSnapshot;
    expect(Object.keys(schema?.properties ?? {})).toEqual(expect.arrayContaining(["runners", "queue"]));
    expect(schema?.required).toEqual(
      expect.arrayContaining(["mlflow_tracking_uri", "mlflow_available", "feast_store_available", "registered_models", "active_experiments", "feature_views", "timestamp"]),
    );
    expect(schema?.required).not.toContain("runners");
    expect(schema?.required).not.toContain("queue");
  });
});
