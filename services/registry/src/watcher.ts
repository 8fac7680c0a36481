import type { Bus, TypedKv } from "@asgard/bus";
import { KV, REGISTRY_WATCHER_KEY, type RegistryWatcherState, type VersionKey } from "@asgard/contracts";
import { MlflowError, registrationState, type MlflowClient, type ModelVersion } from "@asgard/mlflow";
import type { Logger } from "@asgard/telemetry";
import type { Announcer } from "./announcer.js";
import { describe } from "./errors.js";
import type { RegistryMetrics } from "./metrics.js";
import type { ModelStore } from "./model-store.js";

/**
 * Keeps the registry in step with changes made directly in MLflow (its UI, its client, a
 * training script's `registered_model_name=`), every `intervalMs`:
 *  - re-reads every model into the cache (and announces aliases moved there);
 *  - announces versions created since its watermark as model.registered.
 *
 * Why a poller and not MLflow's webhooks (3.3+, `model_version.created`, `model_version_alias.*`):
 *  - webhooks need MLflow's SQL backend *and* MLflow reaching the registry over HTTP — an
 *    inbound listener, an HMAC secret to share, and MLflow 3.17 refuses private addresses for
 *    webhook targets unless told otherwise (its SSRF guard), which is where an in-cluster
 *    registry lives;
 *  - a webhook sent while the registry is down, or lost with MLflow's in-process delivery
 *    queue, is gone; the poller's watermark is persisted in a KV bucket, so after downtime it
 *    catches up on every version made meanwhile;
 *  - the list cache needs a periodic full read of MLflow anyway; the version check costs one
 *    small search per round on top.
 * The price is latency: a version made directly in MLflow is announced within one interval
 * (5 s by default). Registrations made through the registry are announced at once.
 */
export interface Watcher {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** One round: refresh the cache, announce new versions. Throws what MLflow or NATS threw. */
  pollOnce(): Promise<void>;
}

export interface WatcherDeps {
  bus: Bus;
  mlflow: MlflowClient;
  store: ModelStore;
  announcer: Announcer;
  metrics: RegistryMetrics;
  logger: Logger;
  intervalMs: number;
}

/** Versions per search page: small, since most rounds find none newer than the watermark. */
const VERSION_PAGE = 25;

const keyOf = (k: VersionKey) => `${k.name}\u0000${k.version}`;

export function createWatcher(deps: WatcherDeps): Watcher {
  const { mlflow, logger } = deps;
  let kv: TypedKv<RegistryWatcherState> | null = null;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let stopped = true;
  let failing = false;

  /** Where a registry that never polled starts: after the newest existing version (history is not news). */
  async function initialState(): Promise<RegistryWatcherState> {
    const { modelVersions } = await mlflow.searchModelVersions({ orderBy: ["creation_timestamp DESC"], maxResults: 50 });
    const newest = modelVersions[0]?.creation_timestamp ?? 0;
    return {
      watermark_ms: newest,
      at_watermark: modelVersions.filter((mv) => mv.creation_timestamp === newest).map((mv) => ({ name: mv.name, version: mv.version })),
      pending: [],
      updated_at: new Date().toISOString(),
    };
  }

  /** Versions created at or after the watermark, newest first, read page by page until older ones. */
  async function versionsSince(watermark: number): Promise<ModelVersion[]> {
    const found: ModelVersion[] = [];
    let pageToken: string | undefined;
    do {
      const page = await mlflow.searchModelVersions({ orderBy: ["creation_timestamp DESC"], maxResults: VERSION_PAGE, pageToken });
      const recent = page.modelVersions.filter((mv) => (mv.creation_timestamp ?? 0) >= watermark);
      found.push(...recent);
      if (recent.length < page.modelVersions.length) break;
      pageToken = page.nextPageToken ?? undefined;
    } while (pageToken);
    return found;
  }

  async function announce(mv: ModelVersion): Promise<void> {
    if (deps.announcer.wasAnnounced(mv.name, mv.version)) return;
    // Aliases as MLflow has them now: a search lists none, a single read does.
    const current = await mlflow.getModelVersion(mv.name, mv.version).catch(() => mv);
    await deps.announcer.registered(current);
    deps.metrics.discovered.inc();
  }

  async function announceNewVersions(): Promise<void> {
    kv ??= await deps.bus.kv(KV.registryWatcher);
    const state = (await kv.get(REGISTRY_WATCHER_KEY)) ?? (await initialState());
    const seenAtMark = new Set(state.at_watermark.map(keyOf));
    const pending = new Map(state.pending.map((k) => [keyOf(k), k]));
    const fresh = (await versionsSince(state.watermark_ms))
      .filter((mv) => (mv.creation_timestamp ?? 0) > state.watermark_ms || !seenAtMark.has(keyOf(mv)))
      .sort((a, b) => (a.creation_timestamp ?? 0) - (b.creation_timestamp ?? 0));

    let watermark = state.watermark_ms;
    let atWatermark = state.at_watermark;
    for (const mv of fresh) {
      const key = { name: mv.name, version: mv.version };
      const registration = registrationState(mv.status);
      if (registration === "ready") await announce(mv);
      else if (registration === "pending") pending.set(keyOf(key), key);
      const created = mv.creation_timestamp ?? 0;
      if (created > watermark) {
        watermark = created;
        atWatermark = [];
      }
      atWatermark = [...atWatermark, key];
    }
    for (const [id, key] of pending) {
      try {
        const mv = await mlflow.getModelVersion(key.name, key.version);
        const now = registrationState(mv.status);
        if (now === "ready") await announce(mv);
        if (now !== "pending") pending.delete(id);
      } catch (err) {
        if (err instanceof MlflowError && err.code === "NOT_FOUND") pending.delete(id);
        else throw err;
      }
    }
    await kv.put(REGISTRY_WATCHER_KEY, {
      watermark_ms: watermark,
      at_watermark: atWatermark,
      pending: [...pending.values()],
      updated_at: new Date().toISOString(),
    });
  }

  async function pollOnce(): Promise<void> {
    const changes = await deps.store.refreshAll();
    deps.metrics.cachedModels.set(deps.store.cache.size);
    deps.metrics.cacheRefreshed.set(Date.now() / 1000);
    for (const change of changes) await deps.announcer.aliasChanged(change, "mlflow");
    await announceNewVersions();
  }

  function schedule(): void {
    if (stopped) return;
    const started = Date.now();
    running = pollOnce()
      .then(() => {
        deps.metrics.polls.inc({ result: "ok" });
        if (failing) logger.info("polling MLflow works again");
        failing = false;
      })
      .catch((err: unknown) => {
        const unavailable = err instanceof MlflowError && err.code === "UNAVAILABLE";
        deps.metrics.polls.inc({ result: unavailable ? "mlflow_unavailable" : "error" });
        // One line per outage, not one per round.
        if (!failing) logger.warn({ err: describe(err) }, "polling MLflow failed; the cache keeps its last read");
        failing = true;
      })
      .finally(() => {
        running = null;
        if (stopped) return;
        timer = setTimeout(schedule, Math.max(0, deps.intervalMs - (Date.now() - started)));
      });
  }

  return {
    pollOnce,
    async start() {
      if (!stopped) return;
      stopped = false;
      schedule();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      await running;
    },
  };
}
