import { DEFAULT_TENANT, keyIdOf, keyInfo, sha256Hex, type ApiKeyRecord } from "@asgard/contracts";
import type { AuditLog } from "../audit.js";
import type { KeyStore } from "./key-store.js";

/**
 * Stores the deployment's bootstrap admin key (from a Secret) unless a key with its id exists:
 * once stored it is an ordinary key, so revoking it sticks across restarts.
 */
export async function storeBootstrapKey(store: KeyStore, key: string, audit: AuditLog): Promise<void> {
  const id = keyIdOf(key);
  if (id === null || store.get(id)) return;
  const record: ApiKeyRecord = {
    id,
    name: "bootstrap",
    tenant: DEFAULT_TENANT,
    scopes: ["admin"],
    sha256: sha256Hex(key),
    created_at: new Date().toISOString(),
    expires_at: null,
    revoked_at: null,
  };
  await store.put(record);
  // No key made this one: the deployment's secret did.
  audit.record("api_key.created", { tenant: DEFAULT_TENANT, keyId: null }, keyTarget(record));
}

/** What an audit record says about a key: never its hash. */
export function keyTarget(record: ApiKeyRecord) {
  const { id, name, tenant, scopes, rate_limit_per_minute, limits_exempt } = keyInfo(record);
  return { id, name, tenant, scopes, rate_limit_per_minute, limits_exempt };
}
