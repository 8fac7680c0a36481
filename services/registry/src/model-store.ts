import type { ModelInfo } from "@asgard/contracts";
import { MlflowError, type MlflowClient, type RegisteredModel } from "@asgard/mlflow";
import { toModelInfo } from "./mapping.js";
import type { AliasChange, ModelCache } from "./model-cache.js";

/**
 * Models per search page. MLflow allows 1000, but reading one page blocks the event loop
 * while it is parsed; pages of 100 keep each block short, so requests are answered in between.
 */
const SEARCH_PAGE = 100;

/**
 * Reads one tenant's registered models from its MLflow workspace into its cache: all of them
 * (the poller), or one after a change. The only place that fills the cache.
 */
export interface ModelStore {
  readonly cache: ModelCache;
  /** Re-reads every model; returns the alias changes since the previous full read. */
  refreshAll(): Promise<AliasChange[]>;
  /** Reads every model unless the cache was filled already; concurrent callers share one read. */
  ensureLoaded(): Promise<void>;
  /** Re-reads one model (dropping it when MLflow no longer has it); returns it and its alias changes. */
  refreshModel(name: string): Promise<{ model: ModelInfo | null; changes: AliasChange[] }>;
  /** Creates the registered model unless it exists. */
  ensureRegisteredModel(name: string): Promise<void>;
}

/** `mlflow`: a client bound to the tenant's workspace; `cache`: the tenant's cache. */
export function createModelStore(deps: { mlflow: MlflowClient; cache: ModelCache }): ModelStore {
  const { mlflow, cache } = deps;
  let fullRead: Promise<AliasChange[]> | null = null;

  async function readAll(): Promise<RegisteredModel[]> {
    const all: RegisteredModel[] = [];
    let pageToken: string | undefined;
    do {
      let page;
      try {
        page = await mlflow.searchRegisteredModels({ maxResults: SEARCH_PAGE, pageToken, orderBy: ["name ASC"] });
      } catch (err) {
        // The tenant has no workspace yet (nothing of it was ever made): it has no models.
        if (pageToken === undefined && err instanceof MlflowError && err.code === "NOT_FOUND") return [];
        throw err;
      }
      all.push(...page.registeredModels);
      pageToken = page.nextPageToken ?? undefined;
    } while (pageToken);
    return all;
  }

  function refreshAll(): Promise<AliasChange[]> {
    fullRead ??= (async () => {
      const startedAt = cache.writeSeq();
      const models = await readAll();
      return cache.replaceAll(models.map(toModelInfo), startedAt);
    })().finally(() => {
      fullRead = null;
    });
    return fullRead;
  }

  return {
    cache,
    refreshAll,
    async ensureLoaded() {
      if (!cache.loaded) await refreshAll();
    },
    async refreshModel(name) {
      const found = await mlflow.findRegisteredModel(name);
      if (!found) {
        cache.remove(name);
        return { model: null, changes: [] };
      }
      const model = toModelInfo(found);
      return { model, changes: cache.put(model) };
    },
    async ensureRegisteredModel(name) {
      // MLflow, not the cache: the model may have been deleted there since the last read.
      if (await mlflow.findRegisteredModel(name)) return;
      try {
        await mlflow.createRegisteredModel(name);
      } catch (err) {
        // Someone else created it meanwhile: that is all we wanted.
        if (!(err instanceof MlflowError && err.code === "CONFLICT")) throw err;
      }
    },
  };
}
