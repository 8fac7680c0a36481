import type { Logger } from "@asgard/telemetry";
import { keyIdOf, sha256Hex } from "@asgard/contracts";
import type { KeyStore } from "./key-store.js";

/**
 * Stores the deployment's bootstrap admin key (from a Secret) unless a key with its id exists:
 * once stored it is an ordinary key, so revoking it sticks across restarts.
 */
export async function storeBootstrapKey(store: KeyStore, key: string, logger: Logger): Promise<void> {
  const id = keyIdOf(key);
  if (id === null || store.get(id)) return;
  await store.put({
    id,
    name: "bootstrap",
    scopes: ["admin"],
    sha256: sha256Hex(key),
    created_at: new Date().toISOString(),
    expires_at: null,
    revoked_at: null,
  });
  logger.info({ audit: "api_key.created", key_id: id, name: "bootstrap", by: "BOOTSTRAP_ADMIN_KEY" }, "bootstrap admin key stored");
}
