import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { KV, newApiKey, ROUTE_LIST, type CreateKeyResponse, type KeyInfo } from "@asgard/contracts";
import { startNatsServer, type NatsServer } from "@asgard/infra";
import { createLogger } from "@asgard/telemetry";
import { bearer, eventually, keyedReplica, LOCAL, type KeyedReplica as Replica } from "./keyed-gateway.js";

const logger = createLogger("gateway-keys-test", "silent");
const replica = (natsUrl: string, name: string, localMode: boolean) => keyedReplica(natsUrl, name, { localMode, logger });

describe("API keys (real NATS, two gateway replicas)", () => {
  const infra = inject("infra");
  let dir: string;
  let nats: NatsServer;
  let a: Replica;
  let b: Replica;
  let admin: CreateKeyResponse;

  beforeAll(async () => {
    dir = await mkdtemp(join(infra.workDir, "gateway-keys-"));
    nats = await startNatsServer({ storeDir: join(dir, "nats") });
    a = await replica(nats.url, "gateway-a", true);
    b = await replica(nats.url, "gateway-b", true);
  });

  afterAll(async () => {
    for (const r of [a, b]) await r?.close();
    await nats?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const create = (r: Replica, headers: Record<string, string>, body: object) =>
    r.app.inject({ method: "POST", url: "/mlops/keys", headers: { ...headers, "content-type": "application/json" }, payload: JSON.stringify(body) });

  it("serves every route without a key in local mode while no key exists", async () => {
    expect((await a.app.inject({ url: "/mlops/keys", headers: LOCAL })).json()).toEqual([]);
    expect((await a.app.inject({ url: "/metrics", headers: LOCAL })).statusCode).toBe(200);
  });

  it("refuses a first key without the admin scope, then creates the first admin key from loopback", async () => {
    const weak = await create(a, LOCAL, { name: "first", scopes: ["predict"] });
    expect(weak.statusCode).toBe(422);
    expect(weak.json().message).toContain("must include the admin scope");
    const res = await create(a, LOCAL, { name: "first-admin", scopes: ["admin"] });
    expect(res.statusCode, res.body).toBe(201);
    admin = res.json<CreateKeyResponse>();
    expect(admin.key).toMatch(/^asg_[a-z2-7]{16}_[A-Za-z0-9_-]{43}$/);
    expect(admin).toMatchObject({ name: "first-admin", scopes: ["admin"], state: "active", expires_at: null, revoked_at: null });
    expect(res.headers["cache-control"]).toBe("no-store");
    // Only the hash is stored.
    const stored = await (await a.bus.kv(KV.apiKeys)).get(admin.id);
    expect(JSON.stringify(stored)).not.toContain(admin.key);
  });

  it("requires a key on every non-public route once one exists, on both replicas, with a 401 that says how to send one", async () => {
    await eventually(async () => (await b.app.inject({ url: "/mlops/keys", headers: LOCAL })).statusCode === 401);
    for (const route of ROUTE_LIST) {
      const url = route.path.replace(/\{[^}]+\}/g, "x");
      const res = await a.app.inject({ method: route.method, url, headers: LOCAL });
      if (route.access === "public") {
        expect(res.statusCode, `${route.method} ${url}`).not.toBe(401);
      } else {
        expect(res.statusCode, `${route.method} ${url}`).toBe(401);
        expect(res.headers["www-authenticate"]).toContain("Bearer");
        expect(res.json().message).toContain("Authorization: Bearer <key>");
      }
    }
  });

  it("accepts the key as Bearer, as X-API-Key and as the password of Basic auth", async () => {
    const basic = Buffer.from(`anyone:${admin.key}`).toString("base64");
    for (const headers of [bearer(admin.key), { ...LOCAL, "x-api-key": admin.key }, { ...LOCAL, authorization: `Basic ${basic}` }]) {
      const res = await a.app.inject({ url: "/mlops/keys", headers });
      expect(res.statusCode, JSON.stringify(Object.keys(headers))).toBe(200);
    }
  });

  it("answers 401 for a malformed or unknown key and 403 for a key without the route's scope", async () => {
    expect((await a.app.inject({ url: "/mlops/keys", headers: bearer("not-a-key") })).statusCode).toBe(401);
    expect((await a.app.inject({ url: "/mlops/keys", headers: bearer(newApiKey().key) })).statusCode).toBe(401);
    const predictor = (await create(a, bearer(admin.key), { name: "predictor", scopes: ["predict"] })).json<CreateKeyResponse>();
    const forbidden = await a.app.inject({ method: "GET", url: "/mlops/training/jobs", headers: bearer(predictor.key) });
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json()).toMatchObject({ error: "FORBIDDEN", message: expect.stringContaining("needs one of the scopes jobs:read") });
    expect((await a.app.inject({ url: "/metrics", headers: bearer(predictor.key) })).statusCode).toBe(403);
    expect((await a.app.inject({ method: "POST", url: "/mlops/keys", headers: bearer(predictor.key) })).statusCode).toBe(403);
    // The scope admits the route: the request reaches it (no inference service here, so not 2xx).
    const predict = await a.app.inject({ method: "POST", url: "/mlops/inference", headers: { ...bearer(predictor.key), "content-type": "application/json" }, payload: "{}" });
    expect([401, 403]).not.toContain(predict.statusCode);
  });

  it("stops accepting a revoked key on the other replica", async () => {
    const ci = (await create(a, bearer(admin.key), { name: "ci", scopes: ["jobs:read"] })).json<CreateKeyResponse>();
    await eventually(async () => (await b.app.inject({ url: "/mlops/training/jobs?limit=1", headers: bearer(ci.key) })).statusCode !== 401);
    const revoked = await a.app.inject({ method: "DELETE", url: `/mlops/keys/${ci.id}`, headers: bearer(admin.key) });
    expect(revoked.statusCode).toBe(200);
    expect(revoked.json<KeyInfo>()).toMatchObject({ id: ci.id, state: "revoked" });
    const started = Date.now();
    await eventually(async () => (await b.app.inject({ url: "/mlops/training/jobs?limit=1", headers: bearer(ci.key) })).statusCode === 401);
    const res = await b.app.inject({ url: "/mlops/training/jobs?limit=1", headers: bearer(ci.key) });
    expect(res.json().message).toContain(`${ci.id} was revoked`);
    logger.info({ ms: Date.now() - started }, "revocation reached the other replica");
    expect((await a.app.inject({ method: "DELETE", url: "/mlops/keys/aaaaaaaaaaaaaaaa", headers: bearer(admin.key) })).statusCode).toBe(404);
    expect((await a.app.inject({ method: "DELETE", url: "/mlops/keys/nope", headers: bearer(admin.key) })).statusCode).toBe(422);
  });

  it("answers 401 for an expired key, naming when it expired", async () => {
    const made = newApiKey();
    const past = new Date(Date.now() - 60_000).toISOString();
    await a.store.put({ id: made.id, name: "old", tenant: "default", scopes: ["admin"], sha256: made.sha256, created_at: past, expires_at: past, revoked_at: null });
    const res = await a.app.inject({ url: "/mlops/keys", headers: bearer(made.key) });
    expect(res.statusCode).toBe(401);
    expect(res.json().message).toContain(`${made.id} expired at ${past}`);
    const listed = (await a.app.inject({ url: "/mlops/keys", headers: bearer(admin.key) })).json<KeyInfo[]>();
    expect(listed.find((k) => k.id === made.id)?.state).toBe("expired");
    expect(JSON.stringify(listed)).not.toContain("sha256");
  });

  it("gives each key a tenant, lets only an admin key act in another tenant, and validates the tenant header", async () => {
    const made = await create(a, bearer(admin.key), { name: "team-a reader", scopes: ["jobs:read"], tenant: "team-a" });
    expect(made.statusCode).toBe(201);
    const reader = made.json<CreateKeyResponse>();
    expect(reader.tenant).toBe("team-a");
    expect(admin.tenant).toBe("default");
    const foreign = await a.app.inject({ url: "/mlops/training/jobs", headers: { ...bearer(reader.key), "x-asgard-tenant": "team-b" } });
    expect(foreign.statusCode).toBe(403);
    expect(foreign.json().message).toContain("belongs to the tenant team-a");
    const own = await a.app.inject({ url: "/mlops/keys", headers: { ...bearer(admin.key), "x-asgard-tenant": "team-b" } });
    expect(own.statusCode).toBe(200);
    const bad = await a.app.inject({ url: "/mlops/keys", headers: { ...bearer(admin.key), "x-asgard-tenant": "Team B" } });
    expect(bad.statusCode).toBe(422);
    expect(bad.json().message).toContain("x-asgard-tenant");
    const badBody = await create(a, bearer(admin.key), { name: "x", scopes: ["predict"], tenant: "api" });
    expect(badBody.statusCode).toBe(422);
    expect(JSON.stringify(badBody.json())).toContain("reserved");
  });

  it("serves no one off loopback while no key is active", async () => {
    const other = await mkdtemp(join(infra.workDir, "gateway-keys-empty-"));
    const server = await startNatsServer({ storeDir: join(other, "nats") });
    const open = await replica(server.url, "gateway-open", false);
    try {
      const res = await open.app.inject({ url: "/mlops/training/jobs", headers: { host: "asgard.example.com" } });
      expect(res.statusCode).toBe(401);
      expect(res.json().message).toContain("no active API key");
      expect((await open.app.inject({ url: "/healthz", headers: { host: "asgard.example.com" } })).statusCode).toBe(200);
    } finally {
      await open.close();
      await server.stop();
      await rm(other, { recursive: true, force: true });
    }
  });
});
