import { mkdtemp, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { CONSOLE_DIR } from "@asgard/console";
import { buildConsole } from "@asgard/console/build";
import { buildOpenApiDocument } from "@asgard/contracts";
import { startNatsServer, type NatsServer } from "@asgard/infra";
import { createLogger, createMetricsRegistry } from "@asgard/telemetry";
import { createGateway } from "../src/app.js";
import { CONSOLE_CSP } from "../src/routes/console.js";
import type { StatusCache } from "../src/status-cache.js";
import { bearer, createKey, eventually, keyedReplica, LOCAL, type KeyedReplica } from "./keyed-gateway.js";

const noStatus: StatusCache = { current: () => null, start: async () => {}, stop: async () => {} };

/** The bundle's script, as index.html names it. */
async function scriptPath(): Promise<string> {
  const html = await readFile(join(CONSOLE_DIR, "index.html"), "utf8");
  const src = /<script type="module" src="([^"]+)"/.exec(html)?.[1];
  if (!src) throw new Error("index.html names no script");
  return src;
}

describe("the gateway serves the web console at /", () => {
  let app: FastifyInstance;
  let script: string;

  beforeAll(async () => {
    await buildConsole();
    script = await scriptPath();
    app = await createGateway({
      bus: { current: null },
      statusCache: noStatus,
      logger: createLogger("gateway-console-test", "silent"),
      metrics: createMetricsRegistry("gateway-console-test"),
      openapi: buildOpenApiDocument(),
      statusRetryAfterSeconds: 2,
      bodyLimitBytes: 2 * 1024 * 1024,
      localMode: true,
    });
  });
  afterAll(() => app.close());

  const get = (url: string, method: "GET" | "POST" | "HEAD" = "GET") => app.inject({ method, url, headers: LOCAL });

  it("answers / and every client-side page with index.html under a strict CSP", async () => {
    for (const url of ["/", "/jobs", "/jobs/0193f2a8-job", "/jobs/x/deeper/still", "/new", "/models", "/models/iris", "/jobs?status=failed"]) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(200);
      expect(res.headers["content-type"], url).toBe("text/html; charset=utf-8");
      expect(res.headers["content-security-policy"], url).toBe(CONSOLE_CSP);
      expect(res.body, url).toContain(`src="${script}"`);
    }
    expect(CONSOLE_CSP).toContain("connect-src 'self'");
    expect(CONSOLE_CSP).not.toContain("unsafe-inline");
  });

  it("serves the hashed bundle, cached for good, and a JSON 404 for an unknown asset", async () => {
    const js = await get(script);
    expect(js.statusCode).toBe(200);
    expect(js.headers["content-type"]).toBe("text/javascript; charset=utf-8");
    expect(js.headers["cache-control"]).toContain("immutable");
    const missing = await get("/assets/app-NOPE.js");
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ error: "NOT_FOUND" });
  });

  it("leaves the API and the operational routes as they were", async () => {
    for (const url of ["/mlops/unknown", "/mlops/training/nothing/here", "/unknown-page", "/jobsx"]) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(404);
      expect(res.json(), url).toMatchObject({ error: "NOT_FOUND", message: expect.stringContaining("see /docs") });
    }
    const post = await get("/mlops/unknown", "POST");
    expect(post.statusCode).toBe(404);
    expect(post.json()).toMatchObject({ error: "NOT_FOUND" });
    // A console page takes GET only, like any route: another method is a 405 naming GET.
    const wrongMethod = await get("/jobs", "POST");
    expect(wrongMethod.statusCode).toBe(405);
    expect((await get("/healthz")).json()).toEqual({ status: "ok" });
    expect((await get("/openapi.json")).json()).toMatchObject({ openapi: expect.stringMatching(/^3\./) });
    expect((await get("/asyncapi.json")).statusCode).toBe(200);
    expect((await get("/metrics")).statusCode).toBe(200);
    const docs = await get("/docs");
    expect([200, 302]).toContain(docs.statusCode);
    // No snapshot yet: the status route itself answered.
    expect((await get("/mlops/status")).statusCode).toBe(503);
  });
});

describe("with API keys on, the console's files are public and the API is not", () => {
  const infra = inject("infra");
  let dir: string;
  let nats: NatsServer;
  let replica: KeyedReplica;

  beforeAll(async () => {
    await buildConsole();
    dir = await mkdtemp(join(infra.workDir, "gateway-console-"));
    nats = await startNatsServer({ storeDir: join(dir, "nats") });
    replica = await keyedReplica(nats.url, "gateway-console", { localMode: false, logger: createLogger("gateway-console-keys", "silent") });
  });
  afterAll(async () => {
    await replica?.close();
    await nats?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("serves pages and assets without a key, while API calls need one", async () => {
    const first = await keyedReplica(nats.url, "gateway-console-local", { localMode: true, logger: createLogger("gateway-console-local", "silent") });
    const admin = await createKey(first.app, null, { name: "admin", scopes: ["admin"] });
    await first.close();
    await eventually(async () => (await replica.app.inject({ url: "/mlops/status", headers: LOCAL })).statusCode === 401);
    for (const url of ["/", "/jobs/abc", "/models", await scriptPath()]) {
      const res = await replica.app.inject({ url, headers: LOCAL });
      expect(res.statusCode, url).toBe(200);
    }
    const unauthorized = await replica.app.inject({ url: "/mlops/training/jobs", headers: LOCAL });
    expect(unauthorized.statusCode).toBe(401);
    const withKey = await replica.app.inject({ url: "/mlops/training/jobs?limit=1", headers: bearer(admin.key) });
    expect(withKey.statusCode).not.toBe(401);
  });
});
