import type { Bus, TypedKv } from "@asgard/bus";
import { KV, keyState, type ApiKeyRecord } from "@asgard/contracts";
import type { Logger } from "@asgard/telemetry";

/**
 * Every API key, in memory: the gateway follows the whole `asgard_api_keys` bucket, so a
 * request is checked without a round trip, and a key created or revoked through any
 * replica takes effect on every replica as soon as NATS delivers the change.
 */
export interface KeyStore {
  /** Settles once the bucket's current keys are loaded. */
  start(): Promise<void>;
  stop(): Promise<void>;
  get(id: string): ApiKeyRecord | undefined;
  list(): ApiKeyRecord[];
  /** Whether any key is active (neither revoked nor expired) now. */
  hasActiveKey(now?: number): boolean;
  /** Stores a key (new or revoked) and sees it at once on this replica. */
  put(record: ApiKeyRecord): Promise<void>;
}

/** Where the gateway finds its key store; null until NATS is connected and the keys are loaded. */
export interface KeyStoreRef {
  current: KeyStore | null;
}

export function createKeyStore(deps: { bus: Bus; logger: Logger }): KeyStore {
  const keys = new Map<string, ApiKeyRecord>();
  let bucket: TypedKv<ApiKeyRecord> | null = null;
  let watch: { stop(): Promise<void> } | null = null;
  return {
    async start() {
      bucket = await deps.bus.kv(KV.apiKeys);
      const following = bucket.watchAll((id, record) => {
        if (record === null) keys.delete(id);
        else keys.set(id, record);
      });
      watch = following;
      await following.ready;
      deps.logger.info({ keys: keys.size }, "API keys loaded");
    },
    async stop() {
      await watch?.stop();
      watch = null;
    },
    get: (id) => keys.get(id),
    list: () => [...keys.values()].sort((a, b) => a.created_at.localeCompare(b.created_at)),
    hasActiveKey(now = Date.now()) {
      for (const record of keys.values()) if (keyState(record, now) === "active") return true;
      return false;
    },
    async put(record) {
      if (!bucket) throw new Error("the key store is not started");
      await bucket.put(record.id, record);
      keys.set(record.id, record);
    },
  };
}
