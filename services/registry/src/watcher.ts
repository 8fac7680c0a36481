import type { Bus, TypedKv } from "@asgard/bus";
import { DEFAULT_TENANT, KV, registryWatcherKey, type RegistryWatcherState, type VersionKey } from "@asgard/contracts";
import { MlflowError, registrationState, type ModelVersion } from "@asgard/mlflow";
import { startPeriodic, type Logger, type Periodic } from "@asgard/telemetry";
import type { Announcer } from "./announcer.js";
import { describe } from "./errors.js";
import type { RegistryMetrics } from "./metrics.js";
import type { TenantScope, TenantScopes } from "./tenants.js";

/**
 * Keeps the registry in step with changes made directly in MLflow (its UI, its client, a
 * training script's `registered_model_name=`), every `intervalMs`, in every workspace MLflow
 * lists (each is a tenant; one made while the registry runs is followed from the next round):
 *  - re-reads every model of the tenant into its cache (and announces aliases moved there);
 *  - announces versions created since the tenant's watermark as model.registered.
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
  scopes: TenantScopes;
  announcer: Announcer;
  metrics: RegistryMetrics;
  logger: Logger;
  intervalMs: number;
}

/** Versions per search page: small, since most rounds find none newer than the watermark. */
const VERSION_PAGE = 25;

const keyOf = (k: VersionKey) => `${k.name}\u0000${k.version}`;

const EMPTY_STATE: Omit<RegistryWatcherState, "updated_at"> = { watermark_ms: 0, at_watermark: [], pending: [] };

export function createWatcher(deps: WatcherDeps): Watcher {
  const { logger } = deps;
  let kv: TypedKv<RegistryWatcherState> | null = null;
  let loop: Periodic | null = null;
  /**
   * Whether a tenant the watcher has no state for starts from its first version. True once the
   * registry has polled before (the default tenant has a state): such a tenant's workspace is
   * new, and everything in it is news. False on the first round of a registry that never
   * polled: what exists then is history.
   */
  let newTenantsFromStart: boolean | null = null;

  /**
   * Where the watcher starts in a tenant it has no state for: from the first version in a new
   * workspace; after the newest existing version on a registry that never polled (history is
   * not news).
   */
  async function initialState({ mlflow }: TenantScope): Promise<RegistryWatcherState> {
    if (newTenantsFromStart) return { ...EMPTY_STATE, updated_at: new Date().toISOString() };
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
  async function versionsSince({ mlflow }: TenantScope, watermark: number): Promise<ModelVersion[]> {
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

  async function announce({ tenant, mlflow }: TenantScope, mv: ModelVersion): Promise<void> {
    if (deps.announcer.wasAnnounced(tenant, mv.name, mv.version)) return;
    // Aliases as MLflow has them now: a search lists none, a single read does.
    const current = await mlflow.getModelVersion(mv.name, mv.version).catch(() => mv);
    await deps.announcer.registered(tenant, current);
    deps.metrics.discovered.inc();
  }

  async function announceNewVersions(scope: TenantScope): Promise<void> {
    const { mlflow } = scope;
    kv ??= await deps.bus.kv(KV.registryWatcher);
    const key = registryWatcherKey(scope.tenant);
    const state = (await kv.get(key)) ?? (await initialState(scope));
    const seenAtMark = new Set(state.at_watermark.map(keyOf));
    const pending = new Map(state.pending.map((k) => [keyOf(k), k]));
    const fresh = (await versionsSince(scope, state.watermark_ms))
      .filter((mv) => (mv.creation_timestamp ?? 0) > state.watermark_ms || !seenAtMark.has(keyOf(mv)))
      .sort((a, b) => (a.creation_timestamp ?? 0) - (b.creation_timestamp ?? 0));

    let watermark = state.watermark_ms;
    let atWatermark = state.at_watermark;
    for (const mv of fresh) {
      const key = { name: mv.name, version: mv.version };
      const registration = registrationState(mv.status);
      if (registration === "ready") await announce(scope, mv);
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
        if (now === "ready") await announce(scope, mv);
        if (now !== "pending") pending.delete(id);
      } catch (err) {
        if (err instanceof MlflowError && err.code === "NOT_FOUND") pending.delete(id);
        else throw err;
      }
    }
    await kv.put(key, {
      watermark_ms: watermark,
      at_watermark: atWatermark,
      pending: [...pending.values()],
      updated_at: new Date().toISOString(),
    });
  }

  async function pollTenant(scope: TenantScope): Promise<void> {
    const changes = await scope.store.refreshAll();
    for (const change of changes) await deps.announcer.aliasChanged(change, "mlflow");
    await announceNewVersions(scope);
  }

  /** One round over every tenant; a tenant that fails does not hold up the others (the first failure is thrown after). */
  async function pollOnce(): Promise<void> {
    const { tenants, listed } = await deps.scopes.list();
    // Only a full list says a workspace is gone: an outage keeps every tenant's cache as it was.
    if (listed) deps.scopes.retain(tenants);
    if (newTenantsFromStart === null) {
      kv ??= await deps.bus.kv(KV.registryWatcher);
      newTenantsFromStart = (await kv.get(registryWatcherKey(DEFAULT_TENANT))) !== null;
    }
    let failure: { err: unknown } | null = null;
    for (const tenant of tenants) {
      try {
        await pollTenant(deps.scopes.scope(tenant));
      } catch (err) {
        failure ??= { err };
      }
    }
    deps.metrics.cachedModels.set(deps.scopes.all().reduce((n, s) => n + s.store.cache.size, 0));
    if (failure) throw failure.err;
    deps.metrics.cacheRefreshed.set(Date.now() / 1000);
    // Every listed tenant now has a state: a tenant without one from here on is a new workspace.
    if (listed) newTenantsFromStart = true;
  }

  return {
    pollOnce,
    async start() {
      loop ??= startPeriodic({
        name: "polling MLflow",
        intervalMs: deps.intervalMs,
        pacing: "rate",
        logger,
        run: pollOnce,
        failureMessage: "polling MLflow failed; the cache keeps its last read",
        describeError: describe,
        onPass: (err) => {
          const unavailable = err instanceof MlflowError && err.code === "UNAVAILABLE";
          deps.metrics.polls.inc({ result: err === null ? "ok" : unavailable ? "mlflow_unavailable" : "error" });
        },
      });
    },
    async stop() {
      await loop?.stop();
      loop = null;
    },
  };
}
