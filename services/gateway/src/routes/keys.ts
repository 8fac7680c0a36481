import type { FastifyInstance } from "fastify";
import {
  ROUTES,
  keyInfo,
  newApiKey,
  parseCreateKeyRequest,
  parseKeyParams,
  toFastifyPath,
  type ApiKeyRecord,
  type CreateKeyResponse,
} from "@asgard/contracts";
import { keyTarget } from "../auth/bootstrap.js";
import type { KeyStore, KeyStoreRef } from "../auth/key-store.js";
import { HttpError } from "../http-errors.js";

const DAY_MS = 86_400_000;

function storeOf(ref: KeyStoreRef): KeyStore {
  if (!ref.current) throw new HttpError("UNAVAILABLE", "the gateway is still loading its API keys; retry shortly", { retryAfterSeconds: 1 });
  return ref.current;
}

/**
 * Key management (admin scope; the route catalog says so and the auth hook enforces it).
 * Every change is audited with the key ids involved — never a key.
 */
export function keyRoutes(app: FastifyInstance, opts: { keys: KeyStoreRef }): void {
  app.post(toFastifyPath(ROUTES.createKey.path), async (req, reply) => {
    const parsed = parseCreateKeyRequest(req.body);
    if (!parsed.ok) return reply.code(parsed.status).send(parsed.body);
    const store = storeOf(opts.keys);
    const { name, scopes, expires_in_days, rate_limit_per_minute, limits_exempt } = parsed.value;
    const tenant = parsed.value.tenant ?? req.caller.tenant;
    // The first key is made in local mode, where no key is needed: if it could not manage
    // keys, no one could make another.
    if (!store.hasActiveKey() && !scopes.includes("admin")) {
      throw new HttpError("VALIDATION_FAILED", "the first API key must include the admin scope, or no one could create or revoke keys afterwards", {
        issues: [{ field: "scopes", message: "must include admin for the first key" }],
      });
    }
    const made = newApiKey();
    const now = new Date();
    const record: ApiKeyRecord = {
      id: made.id,
      name,
      tenant,
      scopes,
      sha256: made.sha256,
      created_at: now.toISOString(),
      expires_at: expires_in_days === null ? null : new Date(now.getTime() + expires_in_days * DAY_MS).toISOString(),
      revoked_at: null,
      ...(rate_limit_per_minute === null ? {} : { rate_limit_per_minute }),
      ...(limits_exempt ? { limits_exempt } : {}),
    };
    await store.put(record);
    req.audit("api_key.created", keyTarget(record));
    const body: CreateKeyResponse = { ...keyInfo(record), key: made.key };
    return reply.code(201).header("cache-control", "no-store").send(body);
  });

  app.get(toFastifyPath(ROUTES.listKeys.path), async () => {
    const now = Date.now();
    return storeOf(opts.keys)
      .list()
      .map((r) => keyInfo(r, now));
  });

  app.delete(toFastifyPath(ROUTES.revokeKey.path), async (req) => {
    const params = parseKeyParams({ ...(req.params as object) });
    if (!params.ok) throw new HttpError(params.body.error, params.body.message, { issues: params.body.issues, status: params.status });
    const store = storeOf(opts.keys);
    const record = store.get(params.value.key_id);
    if (!record) throw new HttpError("NOT_FOUND", `no API key has the id ${params.value.key_id}; \`npm run keys -- list\` shows them`);
    const revoked = record.revoked_at === null ? { ...record, revoked_at: new Date().toISOString() } : record;
    if (revoked !== record) await store.put(revoked);
    if (revoked !== record) req.audit("api_key.revoked", { id: record.id });
    return keyInfo(revoked);
  });
}
