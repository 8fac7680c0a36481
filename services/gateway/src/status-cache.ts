import { KV, STATUS_SNAPSHOT_KEY, type StatusSnapshot } from "@asgard/contracts";
import type { Bus } from "@asgard/bus";
import type { Logger } from "@asgard/telemetry";

/** The latest status snapshot, pre-serialised so answering costs no JSON work. */
export interface CachedStatus {
  snapshot: StatusSnapshot;
  json: string;
  receivedAt: number;
}

export interface StatusCache {
  current(): CachedStatus | null;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Watches the status key in KV and keeps the newest snapshot in memory; `GET /mlops/status`
 * reads only this, never MLflow.
 */
export function createStatusCache(deps: { bus: Bus; logger: Logger }): StatusCache {
  let latest: CachedStatus | null = null;
  let watch: { stop(): Promise<void> } | null = null;
  return {
    current: () => latest,
    async start() {
      // The status service owns the bucket: until it has made it, the watch retries.
      const kv = await deps.bus.kv(KV.status, { create: false });
      watch = kv.watch(STATUS_SNAPSHOT_KEY, (snapshot) => {
        if (!snapshot) return;
        if (!latest) deps.logger.info("first status snapshot received");
        latest = { snapshot, json: JSON.stringify(snapshot), receivedAt: Date.now() };
      });
    },
    async stop() {
      await watch?.stop();
      watch = null;
    },
  };
}
