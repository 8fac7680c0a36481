import type { FastifyInstance, FastifyRequest } from "fastify";
import {
  LOCAL_CALLER,
  TENANT_HEADER,
  TenantSchema,
  keyIdOf,
  keyMatches,
  keyState,
  presentedKey,
  ROUTE_LIST,
  toFastifyPath,
  type ApiKeyRecord,
  type Caller,
  type RouteAccess,
  type Scope,
} from "@asgard/contracts";
import { HttpError } from "../http-errors.js";
import type { KeyStoreRef } from "./key-store.js";

declare module "fastify" {
  interface FastifyContextConfig {
    /** Who may call a route outside the API's catalog (the console's static files); `any_key` when unset. */
    access?: RouteAccess;
  }
  interface FastifyRequest {
    /** The key that authenticated the request; null in local mode and on public routes. */
    apiKey: ApiKeyRecord | null;
    /** Whom the request acts for: its tenant, key and reach (local mode: the default tenant, as admin). */
    caller: Caller;
  }
}

const HOW_TO_SEND =
  "send it as `Authorization: Bearer <key>`, as `X-API-Key: <key>`, or as the password of HTTP Basic auth (e.g. from ~/.netrc)";
const CHALLENGE = { "www-authenticate": 'Bearer realm="asgard", Basic realm="asgard"' };

const unauthorized = (message: string) => new HttpError("UNAUTHORIZED", message, { headers: CHALLENGE });

/** Route (method + Fastify path) → who may call it, from the route catalog. */
function accessTable(): Map<string, RouteAccess> {
  return new Map(ROUTE_LIST.map((r) => [`${r.method} ${toFastifyPath(r.path)}`, r.access]));
}

/**
 * Every request starts as the local caller (default tenant, admin's reach); `enforceApiKeys`
 * replaces it with the key's caller when keys are in force.
 */
export function identifyCallers(app: FastifyInstance): void {
  // A reference-type decorator would be shared by every request; the hook gives each its own.
  app.decorateRequest("caller", null as unknown as Caller);
  app.addHook("onRequest", (req, _reply, done) => {
    req.caller = LOCAL_CALLER;
    done();
  });
}

/**
 * Checks the presented key against what the route admits. `localMode`: the gateway is bound
 * to loopback, so while no key is active it serves every route without one.
 */
export function enforceApiKeys(app: FastifyInstance, deps: { keys: KeyStoreRef; localMode: boolean }): void {
  const table = accessTable();
  app.decorateRequest("apiKey", null);
  app.addHook("onRequest", (req, _reply, done) => {
    try {
      const access = table.get(`${req.method} ${req.routeOptions.url ?? ""}`) ?? req.routeOptions.config.access ?? "any_key";
      req.apiKey = access === "public" ? null : authenticate(req, access, deps);
      req.caller = req.apiKey ? callerOf(req, req.apiKey) : LOCAL_CALLER;
      done();
    } catch (err) {
      done(err as Error);
    }
  });
}

function authenticate(req: FastifyRequest, access: Exclude<RouteAccess, "public">, deps: { keys: KeyStoreRef; localMode: boolean }): ApiKeyRecord | null {
  const store = deps.keys.current;
  if (!store) throw new HttpError("UNAVAILABLE", "the gateway is still loading its API keys; retry shortly", { retryAfterSeconds: 1 });
  const now = Date.now();
  if (!store.hasActiveKey(now)) {
    if (deps.localMode) return null;
    throw unauthorized(
      "this gateway has no active API key yet, so it serves no one on a non-loopback address: create the first admin key (`npm run keys -- create --admin` against a loopback gateway, or the bootstrap secret of deploy/)",
    );
  }
  const presented = presentedKey(req.headers);
  if (!presented) throw unauthorized(`this route needs an API key: ${HOW_TO_SEND}; an admin creates keys with \`npm run keys -- create\``);
  const id = keyIdOf(presented);
  const record = id === null ? undefined : store.get(id);
  if (!record || !keyMatches(presented, record.sha256)) {
    throw unauthorized(`the API key is not valid (it must look like asg_<id>_<secret>, exactly as it was shown when created): ${HOW_TO_SEND}`);
  }
  const state = keyState(record, now);
  if (state === "revoked") throw unauthorized(`the API key ${record.id} was revoked at ${record.revoked_at}; ask an admin for a new one`);
  if (state === "expired") throw unauthorized(`the API key ${record.id} expired at ${record.expires_at}; ask an admin for a new one`);
  if (access !== "any_key" && !admits(record.scopes, access)) {
    throw new HttpError(
      "FORBIDDEN",
      `the API key ${record.id} (scopes: ${record.scopes.join(", ")}) may not call ${req.method} ${req.routeOptions.url}: it needs one of the scopes ${access.join(", ")}`,
    );
  }
  return record;
}

/**
 * The key's tenant, or for an admin key the tenant named by `X-Asgard-Tenant` (an admin acts
 * for any tenant; every other key only for its own).
 */
function callerOf(req: FastifyRequest, key: ApiKeyRecord): Caller {
  const admin = key.scopes.includes("admin");
  const raw = req.headers[TENANT_HEADER];
  const asked = Array.isArray(raw) ? raw[0] : raw;
  if (asked === undefined || asked === key.tenant) return { tenant: key.tenant, keyId: key.id, admin };
  const tenant = TenantSchema.safeParse(asked);
  if (!tenant.success) {
    throw new HttpError("VALIDATION_FAILED", `the ${TENANT_HEADER} header ${tenant.error.issues[0]?.message ?? "is not a tenant name"}`, {
      issues: [{ field: TENANT_HEADER, message: tenant.error.issues[0]?.message ?? "is not a tenant name" }],
    });
  }
  if (!admin) {
    throw new HttpError("FORBIDDEN", `the API key ${key.id} belongs to the tenant ${key.tenant} and may act only there: drop the ${TENANT_HEADER} header, or use a key of ${tenant.data}`);
  }
  return { tenant: tenant.data, keyId: key.id, admin };
}

function admits(scopes: readonly Scope[], needed: readonly Scope[]): boolean {
  return scopes.includes("admin") || needed.some((s) => scopes.includes(s));
}
