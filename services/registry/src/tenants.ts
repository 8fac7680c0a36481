import { DEFAULT_TENANT, TenantSchema, type Tenant } from "@asgard/contracts";
import type { MlflowClient } from "@asgard/mlflow";
import type { Logger } from "@asgard/telemetry";
import { describe } from "./errors.js";
import { createModelCache } from "./model-cache.js";
import { createModelStore, type ModelStore } from "./model-store.js";

/** One tenant as the registry sees it: its MLflow workspace and its copy of the workspace's models. */
export interface TenantScope {
  tenant: Tenant;
  /** MLflow, every call in the tenant's workspace. */
  mlflow: MlflowClient;
  store: ModelStore;
}

/**
 * The registry's tenants. Each is an MLflow workspace of the same name; every read and write
 * goes through the tenant's own scope, so one tenant's names never reach another's.
 */
export interface TenantScopes {
  /** The tenant's scope, made on first use (a tenant without a workspace yet has no models). */
  scope(tenant: Tenant): TenantScope;
  /** Every scope made so far. */
  all(): TenantScope[];
  /**
   * The tenants MLflow has a workspace for now, default first (`listed`). Default alone, not
   * listed, when MLflow does not list workspaces: down, or started without them (a server
   * without workspaces serves only its default).
   */
  list(): Promise<{ tenants: Tenant[]; listed: boolean }>;
  /** Forgets the scopes of tenants not in `tenants` (their workspace is gone, or never was). */
  retain(tenants: readonly Tenant[]): void;
}

export function createTenantScopes(deps: { mlflow: MlflowClient; logger: Logger }): TenantScopes {
  const scopes = new Map<Tenant, TenantScope>();
  let listing: "ok" | "failing" = "ok";

  function scope(tenant: Tenant): TenantScope {
    let found = scopes.get(tenant);
    if (!found) {
      const mlflow = deps.mlflow.inWorkspace(tenant);
      found = { tenant, mlflow, store: createModelStore({ mlflow, cache: createModelCache(tenant) }) };
      scopes.set(tenant, found);
    }
    return found;
  }

  return {
    scope,
    all: () => [...scopes.values()],
    async list() {
      let names: string[];
      try {
        names = (await deps.mlflow.listWorkspaces()).map((w) => w.name);
        if (listing === "failing") deps.logger.info("MLflow lists its workspaces again");
        listing = "ok";
      } catch (err) {
        // One line per outage. Default is still served: it needs no workspace support.
        if (listing === "ok") {
          deps.logger.warn({ err: describe(err) }, "MLflow did not list its workspaces (is it started with --enable-workspaces?); following the default tenant only");
        }
        listing = "failing";
        return { tenants: [DEFAULT_TENANT], listed: false };
      }
      // A workspace whose name is no tenant name was not made by the platform: no key can reach it.
      const tenants = names.filter((n) => n !== DEFAULT_TENANT && TenantSchema.safeParse(n).success);
      return { tenants: [DEFAULT_TENANT, ...[...new Set(tenants)].sort()], listed: true };
    },
    retain(tenants) {
      const keep = new Set(tenants);
      for (const tenant of scopes.keys()) if (!keep.has(tenant)) scopes.delete(tenant);
    },
  };
}
