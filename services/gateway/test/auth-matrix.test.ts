import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { newApiKey, ROUTE_LIST, SCOPE_NAMES, type CreateKeyResponse, type RouteDef, type Scope } from "@asgard/contracts";
import { startNatsServer, type NatsServer } from "@asgard/infra";
import { bearer, createKey, eventually, keyedReplica, LOCAL, type KeyedReplica } from "./keyed-gateway.js";

/**
 * Every route of the catalog (a route added there is covered here without a change) × every
 * way a caller can come: no key, a key without the route's scope, a revoked key, an expired
 * key, the right key. Keys are made on one replica and checked on the other, so revocation is
 * seen where it did not happen. No service answers behind the gateway: a request the keys
 * let through gets the route's own 4xx or a 503, never 401/403.
 */

/** A concrete URL for a catalog path; ids are made up, but well-formed. */
function urlOf(route: RouteDef): string {
  const values: Record<string, string> = { job_id: "job-that-does-not-exist", model_name: "no-such-model", alias: "champion", version: "1", key_id: "aaaaaaaaaaaaaaaa" };
  return route.path.replace(/\{([^}]+)\}/g, (_m, name: string) => values[name] ?? "x");
}

const ALL_BUT_ADMIN = SCOPE_NAMES.filter((s) => s !== "admin");

/** A scope that does not admit the route (admin admits everything), or null when every key does. */
function wrongScope(route: RouteDef): Scope | null {
  if (!Array.isArray(route.access)) return null;
  return ALL_BUT_ADMIN.find((s) => !route.access.includes(s)) ?? null;
}

const label = (r: RouteDef) => `${r.method} ${r.path}`;

describe("the auth matrix: every route × every kind of caller (two gateway replicas on one NATS)", () => {
  const infra = inject("infra");
  let dir: string;
  let nats: NatsServer;
  let a: KeyedReplica;
  let b: KeyedReplica;
  let admin: CreateKeyResponse;
  const byScope = new Map<Scope, CreateKeyResponse>();
  let revoked: CreateKeyResponse;
  let expired: string;

  const call = (r: KeyedReplica, route: RouteDef, headers: Record<string, string>) =>
    r.app.inject({
      method: route.method,
      url: urlOf(route),
      headers: { ...headers, ...(route.body ? { "content-type": "application/json" } : {}) },
      ...(route.body ? { payload: "{}" } : {}),
    });

  beforeAll(async () => {
    dir = await mkdtemp(join(infra.workDir, "gateway-matrix-"));
    nats = await startNatsServer({ storeDir: join(dir, "nats") });
    a = await keyedReplica(nats.url, "matrix-a");
    b = await keyedReplica(nats.url, "matrix-b");
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
    await nats?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("serves every route to this machine without a key while none exists (local mode), /metrics and /docs included", async () => {
    for (const route of ROUTE_LIST) {
      const res = await call(a, route, LOCAL);
      expect([401, 403], `${label(route)}: ${res.body}`).not.toContain(res.statusCode);
    }
    expect((await a.app.inject({ url: "/metrics", headers: LOCAL })).statusCode).toBe(200);
    expect((await a.app.inject({ url: "/openapi.json", headers: LOCAL })).statusCode).toBe(200);
    const asyncapi = await a.app.inject({ url: "/asyncapi.json", headers: LOCAL });
    expect({ status: asyncapi.statusCode, version: asyncapi.json<{ asyncapi: string }>().asyncapi }).toEqual({ status: 200, version: "3.0.0" });
  });

  it("makes a key of each scope, a revoked and an expired one, and the second replica sees them all", async () => {
    admin = await createKey(a.app, null, { name: "admin", scopes: ["admin"] });
    for (const scope of ALL_BUT_ADMIN) byScope.set(scope, await createKey(a.app, admin.key, { name: `only-${scope}`, scopes: [scope] }));
    revoked = await createKey(a.app, admin.key, { name: "to-revoke", scopes: ["admin"] });
    expect((await a.app.inject({ method: "DELETE", url: `/mlops/keys/${revoked.id}`, headers: bearer(admin.key) })).statusCode).toBe(200);
    const made = newApiKey();
    const past = new Date(Date.now() - 60_000).toISOString();
    await a.store.put({ id: made.id, name: "expired", tenant: "default", scopes: ["admin"], sha256: made.sha256, created_at: past, expires_at: past, revoked_at: null });
    expired = made.key;
    await eventually(() => b.store.get(made.id) !== undefined && b.store.get(revoked.id)?.revoked_at !== null && [...byScope.values()].every((k) => b.store.get(k.id)));
  });

  it.each(ROUTE_LIST.filter((r) => r.access === "public").map((r) => [label(r), r] as const))("%s answers without a key on every replica", async (_, route) => {
    for (const r of [a, b]) {
      const res = await call(r, route, LOCAL);
      expect([401, 403], res.body).not.toContain(res.statusCode);
      expect(res.statusCode).toBeLessThan(500 + (route.path === "/readyz" ? 4 : 0));
      // Never counted, never limited.
      expect(res.headers["x-ratelimit-limit"]).toBeUndefined();
    }
  });

  it.each(ROUTE_LIST.filter((r) => r.access !== "public").map((r) => [label(r), r] as const))("%s: 401 without a key, 403 with a wrong scope, 401 revoked or expired, through with the right key", async (_, route) => {
    const none = await call(b, route, LOCAL);
    expect(none.statusCode, none.body).toBe(401);
    expect(none.headers["www-authenticate"]).toContain("Bearer");
    expect(none.json()).toMatchObject({ error: "UNAUTHORIZED", message: expect.stringContaining("Authorization: Bearer <key>") });

    const wrong = wrongScope(route);
    if (wrong !== null) {
      const res = await call(b, route, bearer(byScope.get(wrong)!.key));
      expect(res.statusCode, res.body).toBe(403);
      expect(res.json()).toMatchObject({ error: "FORBIDDEN", message: expect.stringContaining(`needs one of the scopes ${(route.access as Scope[]).join(", ")}`) });
    }

    const gone = await call(b, route, bearer(revoked.key));
    expect(gone.statusCode, gone.body).toBe(401);
    expect(gone.json().message).toMatch(new RegExp(`${revoked.id} was revoked at .*; ask an admin for a new one`));

    const old = await call(b, route, bearer(expired));
    expect(old.statusCode, old.body).toBe(401);
    expect(old.json().message).toMatch(/expired at .*; ask an admin for a new one/);

    // The least a key can hold to pass: the route's first scope, or for "any key" the narrowest scope there is.
    const right = Array.isArray(route.access) ? (route.access[0] as Scope) : "metrics";
    const key = right === "admin" ? admin.key : byScope.get(right)!.key;
    for (const r of [a, b]) {
      const res = await call(r, route, bearer(key));
      expect([401, 403], `${label(route)} with a ${right} key: ${res.body}`).not.toContain(res.statusCode);
      expect(res.statusCode, res.body).not.toBe(500);
      // Every route behind keys counts against the key's request rate.
      expect(res.headers["x-ratelimit-limit"], label(route)).toBe("6000");
    }
    const asAdmin = await call(b, route, bearer(admin.key));
    expect([401, 403], asAdmin.body).not.toContain(asAdmin.statusCode);
  });

  it("serves /metrics to a metrics key, /docs, /openapi.json and /asyncapi.json to any key, and the documentation's own files only with a key", async () => {
    const metrics = await b.app.inject({ url: "/metrics", headers: bearer(byScope.get("metrics")!.key) });
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toContain("asgard_http_request_duration_seconds");
    const predictor = bearer(byScope.get("predict")!.key);
    expect((await b.app.inject({ url: "/metrics", headers: predictor })).statusCode).toBe(403);
    expect((await b.app.inject({ url: "/openapi.json", headers: predictor })).statusCode).toBe(200);
    expect((await b.app.inject({ url: "/asyncapi.json", headers: predictor })).statusCode).toBe(200);
    expect((await b.app.inject({ url: "/asyncapi.json" })).statusCode).toBe(401);
    const page = await b.app.inject({ url: "/docs/", headers: predictor });
    expect(page.statusCode).toBe(200);
    expect(page.headers["content-type"]).toContain("text/html");
    for (const url of ["/docs/", "/docs/json", "/docs/static/index.html"]) {
      expect((await b.app.inject({ url, headers: LOCAL })).statusCode, url).toBe(401);
    }
  });
});
