import type { FastifyInstance, InjectOptions } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildOpenApiDocument } from "@asgard/contracts";
import { createLogger, createMetricsRegistry } from "@asgard/telemetry";
import { createGateway } from "../src/app.js";
import type { StatusCache } from "../src/status-cache.js";

const noStatus: StatusCache = { current: () => null, start: async () => {}, stop: async () => {} };
const upload = JSON.stringify({ script_name: "train.py", script_content: "cHJpbnQoMSkK", experiment_name: "e", model_name: "m" });

/**
 * Local mode refuses what a foreign web page or a rebinding DNS name sends. Without a bus the
 * routes that pass answer 503 (NATS not connected): any status but 403/415 shows the request
 * got through to its route.
 */
describe("gateway in local mode", () => {
  let app: FastifyInstance;

  beforeAll(async () => {
    app = await createGateway({
      bus: { current: null },
      statusCache: noStatus,
      logger: createLogger("gateway-local-mode-test", "silent"),
      metrics: createMetricsRegistry("gateway-local-mode-test"),
      openapi: buildOpenApiDocument(),
      statusRetryAfterSeconds: 2,
      bodyLimitBytes: 2 * 1024 * 1024,
      localMode: true,
    });
  });
  afterAll(() => app.close());

  const send = (opts: InjectOptions) => app.inject(opts);
  const post = (headers: Record<string, string>, payload = upload) => send({ method: "POST", url: "/mlops/training/upload", headers, payload });

  it("serves requests addressed to loopback names, as the original clients send them", async () => {
    for (const host of ["localhost:8000", "127.0.0.1:8000", "[::1]:8000"]) {
      const status = await send({ method: "GET", url: "/mlops/status", headers: { host } });
      expect(status.statusCode, host).toBe(503); // no snapshot yet: the route answered
      const res = await post({ host, "content-type": "application/json" });
      expect([403, 415]).not.toContain(res.statusCode);
    }
  });

  it("refuses a foreign Host (DNS rebinding) on every route, health included", async () => {
    for (const url of ["/mlops/status", "/mlops/training/jobs", "/healthz", "/metrics", "/docs"]) {
      const res = await send({ method: "GET", url, headers: { host: "attacker.example:8000" } });
      expect(res.statusCode, url).toBe(403);
      expect(res.json()).toMatchObject({ error: "FORBIDDEN", message: expect.stringContaining("not a loopback name") });
    }
  });

  it("refuses a request from a foreign Origin, even with a JSON body", async () => {
    const res = await post({ host: "localhost:8000", origin: "https://attacker.example", "content-type": "application/json" });
    expect(res.statusCode).toBe(403);
    expect(res.json().message).toContain("cross-site request refused");
    const opaque = await post({ host: "localhost:8000", origin: "null", "content-type": "application/json" });
    expect(opaque.statusCode).toBe(403);
  });

  it("accepts a page served from this machine", async () => {
    const res = await post({ host: "localhost:8000", origin: "http://localhost:3000", "content-type": "application/json" });
    expect([403, 415]).not.toContain(res.statusCode);
  });

  it("refuses what the browser marks as cross-site", async () => {
    const res = await send({ method: "GET", url: "/mlops/training/jobs", headers: { host: "localhost:8000", "sec-fetch-site": "cross-site" } });
    expect(res.statusCode).toBe(403);
  });

  it("refuses the bodies a form or a no-preflight fetch can send: none, text/plain, form-encoded", async () => {
    for (const type of [undefined, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]) {
      const res = await post({ host: "localhost:8000", ...(type ? { "content-type": type } : {}) });
      expect(res.statusCode, String(type)).toBe(415);
      expect(res.json().message).toContain("Content-Type: application/json");
    }
    for (const url of ["/mlops/inference", "/mlops/registry", "/mlops/models/m/versions/1/invocations"]) {
      const res = await send({ method: "POST", url, headers: { host: "localhost:8000", "content-type": "text/plain" }, payload: "{}" });
      expect(res.statusCode, url).toBe(415);
    }
  });
});
