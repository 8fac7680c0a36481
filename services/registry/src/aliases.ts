import { BusError } from "@asgard/bus";
import type { AliasResponse, DeleteModelAliasRequest, DeleteModelAliasResponse, SetModelAliasRequest, Tenant } from "@asgard/contracts";
import { MlflowError, type MlflowClient, type RegisteredModel } from "@asgard/mlflow";
import { describe, fromMlflowError } from "./errors.js";
import { aliasMap } from "./mapping.js";
import type { AliasChange } from "./model-cache.js";
import type { RegisterDeps } from "./register.js";

/** What alias changes need: each tenant's MLflow, the announcer, and a way to re-read the model afterwards. */
export type AliasDeps = Pick<RegisterDeps, "scopes" | "announcer" | "logger"> & {
  /** Re-reads the tenant's model into its cache, tells the other replicas, and returns the alias changes it saw. */
  changedAliases(tenant: Tenant, modelName: string): Promise<AliasChange[]>;
};

/** The tenant's model; another tenant's is as unknown as a missing one. */
async function requireModel(mlflow: MlflowClient, name: string): Promise<RegisteredModel> {
  try {
    return await mlflow.getRegisteredModel(name);
  } catch (err) {
    if (err instanceof MlflowError && (err.code === "NOT_FOUND" || err.code === "VALIDATION_FAILED")) {
      throw new BusError("NOT_FOUND", `no registered model is named ${JSON.stringify(name)}`);
    }
    throw err;
  }
}

/**
 * Announces our own change as `api` and anything else the re-read shows (moved in MLflow
 * meanwhile) as `mlflow`. Best effort: the alias is already where it should be.
 */
async function announce(deps: AliasDeps, tenant: Tenant, name: string, own: { alias: string; version: string | null; previous: string | null }): Promise<void> {
  try {
    const seen = await deps.changedAliases(tenant, name).catch((err: unknown) => {
      deps.logger.warn({ tenant, model: name, err: describe(err) }, "could not re-read the model after an alias change");
      return [] as AliasChange[];
    });
    await deps.announcer.aliasChanged({ tenant, modelName: name, alias: own.alias, version: own.version, previousVersion: own.previous }, "api");
    for (const change of seen) {
      if (change.alias !== own.alias) await deps.announcer.aliasChanged(change, "mlflow");
    }
  } catch (err) {
    deps.logger.error({ tenant, model: name, alias: own.alias, err: describe(err) }, "alias change not announced");
    throw new BusError("UNAVAILABLE", `the alias ${JSON.stringify(own.alias)} was changed in MLflow, but announcing it failed (${describe(err)}); send the same request again to announce it`);
  }
}

/** Points the alias at the version, creating or moving it; announces a move. */
export async function setAlias(deps: AliasDeps, req: SetModelAliasRequest): Promise<AliasResponse> {
  const { mlflow } = deps.scopes.scope(req.tenant);
  try {
    const model = await requireModel(mlflow, req.model_name);
    const previous = aliasMap(model)[req.alias] ?? null;
    try {
      await mlflow.getModelVersion(req.model_name, req.version);
    } catch (err) {
      if (err instanceof MlflowError && err.code === "NOT_FOUND") {
        throw new BusError("NOT_FOUND", `model ${JSON.stringify(req.model_name)} has no version ${req.version}`);
      }
      throw err;
    }
    if (previous !== req.version) {
      await mlflow.setAlias(req.model_name, req.alias, req.version);
      await announce(deps, req.tenant, req.model_name, { alias: req.alias, version: req.version, previous });
    }
    return { model_name: req.model_name, alias: req.alias, version: req.version, previous_version: previous };
  } catch (err) {
    throw fromMlflowError(err, "change the alias");
  }
}

/** Deletes the alias (NOT_FOUND when the model has none by that name); announces it. */
export async function deleteAlias(deps: AliasDeps, req: DeleteModelAliasRequest): Promise<DeleteModelAliasResponse> {
  const { mlflow } = deps.scopes.scope(req.tenant);
  try {
    const model = await requireModel(mlflow, req.model_name);
    const previous = aliasMap(model)[req.alias];
    if (previous === undefined) {
      throw new BusError("NOT_FOUND", `model ${JSON.stringify(req.model_name)} has no alias ${JSON.stringify(req.alias)}`);
    }
    await mlflow.deleteAlias(req.model_name, req.alias);
    await announce(deps, req.tenant, req.model_name, { alias: req.alias, version: null, previous });
    return { model_name: req.model_name, alias: req.alias, previous_version: previous };
  } catch (err) {
    throw fromMlflowError(err, "delete the alias");
  }
}
