import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildOpenApiDocument } from "@asgard/contracts";
import { createLogger, createMetricsRegistry } from "@asgard/telemetry";
import { createGateway } from "../src/app.js";
import { MAX_JSON_DEPTH } from "../src/json-body.js";
import type { StatusCache } from "../src/status-cache.js";

const noStatus: StatusCache = { current: () => null, start: async () => {}, stop: async () => {} };

/** Every JSON route refuses a body nested deeper than the limit before any handler sees it. */
describe("deeply nested JSON bodies", () => {
  let app: FastifyInstance;

  beforeAll(async () => {
    app = await createGateway({
      bus: { current: null },
      statusCache: noStatus,
      logger: createLogger("gateway-depth-test", "silent"),
      metrics: createMetricsRegistry("gateway-depth-test"),
      openapi: buildOpenApiDocument(),
      statusRetryAfterSeconds: 2,
      bodyLimitBytes: 2 * 1024 * 1024,
    });
  });
  afterAll(() => app.close());

  const nested = (depth: number) => `{"inputs": {"f0": ${"[".repeat(depth)}1${"]".repeat(depth)}}}`;
  const routes = [
    "/mlops/inference",
    "/mlops/models/m/versions/1/invocations",
    "/mlops/training/upload",
    "/mlops/registry",
  ];

  for (const url of routes) {
    it(`POST ${url} with a body nested 20,000 levels deep is a 400 that says what to fix`, async () => {
      const res = await app.inject({ method: "POST", url, headers: { "content-type": "application/json" }, payload: nested(20_000) });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ error: "BAD_REQUEST", message: expect.stringContaining(`more than ${MAX_JSON_DEPTH} levels deep`) });
    });
  }

  it("applies to a body sent without Content-Type on the upload route too", async () => {
    const res = await app.inject({ method: "POST", url: "/mlops/training/upload", payload: nested(5_000) });
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toContain("levels deep");
  });

  it("lets a body at the limit through to the route", async () => {
    // Depth MAX_JSON_DEPTH in all (the object, inputs' object and the arrays): the parser
    // accepts it, and the route answers on its own terms.
    const res = await app.inject({
      method: "POST",
      url: "/mlops/models/m/versions/1/invocations",
      headers: { "content-type": "application/json" },
      payload: nested(MAX_JSON_DEPTH - 2),
    });
    expect(JSON.stringify(res.json())).not.toContain("levels deep");
  });
});
