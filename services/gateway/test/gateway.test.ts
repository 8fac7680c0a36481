import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { connectBus, type Bus } from "@asgard/bus";
import { buildOpenApiDocument, KV, STATUS_SNAPSHOT_KEY, StatusSnapshotSchema, type StatusSnapshot } from "@asgard/contracts";
import { startNatsServer, type NatsServer } from "@asgard/infra";
import { createLogger, createMetricsRegistry } from "@asgard/telemetry";
import { createGateway } from "../src/app.js";
import type { BusRef } from "../src/bus-ref.js";
import { createStatusCache, type StatusCache } from "../src/status-cache.js";

const logger = createLogger("gateway-test", "silent");

function snapshot(overrides: Partial<StatusSnapshot> = {}): StatusSnapshot {
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
    ...overrides,
  };
}

async function until(check: () => boolean, tries = 100): Promise<void> {
  for (let i = 0; i < tries && !check(); i++) await new Promise((r) => setTimeout(r, 50));
  expect(check()).toBe(true);
}

describe("gateway (real NATS, in-process HTTP)", () => {
  const infra = inject("infra");
  let dir: string;
  let nats: NatsServer;
  let bus: Bus;
  let cache: StatusCache;
  let app: FastifyInstance;
  const ref: BusRef = { current: null };

  beforeAll(async () => {
    dir = await mkdtemp(join(infra.workDir, "gateway-"));
    nats = await startNatsServer({ storeDir: join(dir, "nats") });
    bus = await connectBus({ servers: nats.url, name: "gateway-test", logger });
    cache = createStatusCache({ bus, logger });
    app = await createGateway({
      bus: ref,
      statusCache: cache,
      logger,
      metrics: createMetricsRegistry("gateway-test"),
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

  it("is alive but not ready, and answers status 503 with Retry-After, before NATS and a snapshot", async () => {
    expect((await app.inject("/healthz")).statusCode).toBe(200);
    const ready = await app.inject("/readyz");
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toMatchObject({ checks: { nats: false, status_snapshot: false } });
    const status = await app.inject("/mlops/status");
    expect(status.statusCode).toBe(503);
    expect(status.headers["retry-after"]).toBe("2");
    expect(status.json()).toMatchObject({ error: "UNAVAILABLE", retry_after_seconds: 2 });
  });

  it("serves the snapshot written to KV from memory, in the original shape, and turns ready", async () => {
    ref.current = bus;
    await cache.start();
    const kv = await bus.kv(KV.status);
    const written = snapshot();
    await kv.put(STATUS_SNAPSHOT_KEY, written);
    await until(() => cache.current() !== null);

    const res = await app.inject("/mlops/status");
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/application\/json/);
    const body = res.json();
    expect(StatusSnapshotSchema.parse(body)).toEqual(written);
    for (const field of [
      "mlflow_tracking_uri",
      "mlflow_available",
      "feast_store_available",
      "registered_models",
      "active_experiments",
      "feature_views",
      "timestamp",
    ]) {
      expect(body).toHaveProperty(field);
    }
    expect((await app.inject("/readyz")).statusCode).toBe(200);

    await kv.put(STATUS_SNAPSHOT_KEY, snapshot({ mlflow_available: false, registered_models: 4 }));
    await until(() => cache.current()?.snapshot.registered_models === 4);
    expect((await app.inject("/mlops/status")).json()).toMatchObject({ mlflow_available: false, registered_models: 4 });
  });

  it("answers unknown routes with JSON 404 and wrong methods with 405 and Allow", async () => {
    const missing = await app.inject("/mlops/nope");
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ error: "NOT_FOUND" });
    const wrong = await app.inject({ method: "POST", url: "/mlops/status" });
    expect(wrong.statusCode).toBe(405);
    expect(wrong.headers.allow).toContain("GET");
    expect(wrong.json().message).toMatch(/POST is not allowed/);
  });

  it("serves the generated OpenAPI document and the docs UI", async () => {
    const spec = await app.inject("/openapi.json");
    expect(spec.statusCode).toBe(200);
    const doc = spec.json();
    expect(doc.openapi).toMatch(/^3\.1/);
    expect(Object.keys(doc.paths)).toContain("/mlops/status");
    expect(Object.keys(doc.paths)).toContain("/mlops/training/upload");
    const docs = await app.inject("/docs/");
    expect(docs.statusCode).toBe(200);
    expect(docs.headers["content-type"]).toMatch(/text\/html/);
  });

  it("exposes Prometheus metrics including request durations", async () => {
    const res = await app.inject("/metrics");
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain("asgard_http_request_duration_seconds_bucket");
    expect(res.body).toContain('route="/mlops/status"');
  });

  it("keeps answering status from memory when NATS goes away", async () => {
    await nats.stop();
    const res = await app.inject("/mlops/status");
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ registered_models: 4 });
    const ready = await app.inject("/readyz");
    expect(ready.json()).toMatchObject({ checks: { status_snapshot: true } });
  });
});
