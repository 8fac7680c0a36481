import { BusError } from "@asgard/bus";
import type { RegisterModelRequest, RegisteredVersion, Tenant } from "@asgard/contracts";
import { MlflowError, MlflowRegistrationTimeoutError, type MlflowClient, type ModelSource } from "@asgard/mlflow";
import { traceFields, type Logger, type TraceContext } from "@asgard/telemetry";
import type { Announcer } from "./announcer.js";
import type { RegistryConfig } from "./config.js";
import { describe, fromMlflowError } from "./errors.js";
import { VERSION_TAGS } from "./filters.js";
import { isoFromMs } from "./mapping.js";
import type { TenantScopes } from "./tenants.js";

/**
 * What a registration needs. `scopes` give each tenant's MLflow workspace and model cache;
 * `changed` re-reads a tenant's model after a write and tells the other replicas.
 */
export interface RegisterDeps {
  scopes: TenantScopes;
  announcer: Announcer;
  config: RegistryConfig;
  logger: Logger;
  changed(tenant: Tenant, modelName: string): Promise<void>;
}

const LOG_MODEL_HINT =
  'log one in the training script, e.g. `mlflow.sklearn.log_model(model, name="model")` (or `mlflow.sklearn.log_model(model, "model")`), then register the run again';

/** The run, or NOT_FOUND naming it. */
async function requireRun(mlflow: MlflowClient, runId: string): Promise<void> {
  try {
    const run = await mlflow.getRun(runId);
    if (run.info.lifecycle_stage === "deleted") {
      throw new BusError("NOT_FOUND", `MLflow run ${JSON.stringify(runId)} was deleted; restore it in MLflow or register another run`);
    }
  } catch (err) {
    if (err instanceof MlflowError && err.code === "NOT_FOUND") {
      throw new BusError("NOT_FOUND", `no MLflow run has the id ${JSON.stringify(runId)}; send the run_id of an existing run (a training job's run_id is in GET /mlops/training/jobs/{job_id})`);
    }
    throw err;
  }
}

/** Where the run's model is, as `mlflow.register_model("runs:/<run_id>/model")` resolves it; 422 when it logged none. */
export async function resolveRunModel(mlflow: MlflowClient, runId: string): Promise<ModelSource> {
  try {
    return await mlflow.resolveRunModelSource(runId, "model");
  } catch (err) {
    if (err instanceof MlflowError && err.code === "NOT_FOUND") {
      throw new BusError("UNPROCESSABLE", `run ${runId} logged no model, so there is nothing to register: ${LOG_MODEL_HINT}`);
    }
    if (err instanceof MlflowError && err.code === "VALIDATION_FAILED") {
      throw new BusError("UNPROCESSABLE", `the model of run ${runId} cannot be chosen: ${err.message}`);
    }
    throw err;
  }
}

/** A registration's READY wait ran out: the version exists and keeps going on its own. */
export function notReadyError(name: string, version: string, err: MlflowRegistrationTimeoutError, waitedMs: number): BusError {
  return new BusError(
    "TIMEOUT",
    `version ${version} of model ${JSON.stringify(name)} was created but is still ${err.lastStatus ?? "pending"} after ${Math.round(waitedMs / 1000)} s; ` +
      "it becomes READY (or fails) on its own — GET /mlops/models/{model_name} shows it. Do not register again: that makes another version.",
    { cause: err },
  );
}

/**
 * `POST /mlops/registry`: registers the model the run logged as a new version — every call
 * makes a new one — and answers once MLflow reports it READY. Both the run and the model are
 * the tenant's: a run of another tenant is as unknown as a missing one. `trace`: the request's
 * span, carried on by model.registered and named in the log.
 */
export async function registerFromRun(deps: RegisterDeps, req: RegisterModelRequest, trace: TraceContext): Promise<RegisteredVersion> {
  const { config } = deps;
  const { tenant, mlflow, store } = deps.scopes.scope(req.tenant);
  const traced = { tenant, ...traceFields(trace) };
  try {
    await requireRun(mlflow, req.run_id);
    const source = await resolveRunModel(mlflow, req.run_id);
    await store.ensureRegisteredModel(req.model_name);
    const created = await mlflow.createModelVersion({
      name: req.model_name,
      source: source.source,
      runId: source.runId,
      ...(source.modelId ? { modelId: source.modelId } : {}),
      ...(req.description !== null ? { description: req.description } : {}),
      tags: { ...req.tags, [VERSION_TAGS.registeredVia]: "api" },
    });
    let ready;
    try {
      ready = await mlflow.waitForModelVersionReady(created.name, created.version, { timeoutMs: config.readyTimeoutMs, intervalMs: config.readyPollMs });
    } catch (err) {
      if (err instanceof MlflowRegistrationTimeoutError) throw notReadyError(created.name, created.version, err, config.readyTimeoutMs);
      throw err;
    }
    // The version is READY: announcing and re-reading are best effort. The poller announces a
    // version this process did not (so a NATS hiccup here delays the event, never loses it).
    await deps.announcer.registered(tenant, ready, { jobId: null, trace }).catch((err: unknown) =>
      deps.logger.warn({ model: ready.name, version: ready.version, err: describe(err), ...traced }, "model.registered not published now; the poller will"),
    );
    await deps.changed(tenant, ready.name).catch((err: unknown) => deps.logger.warn({ model: ready.name, err: describe(err), ...traced }, "could not re-read the model"));
    return {
      model_name: ready.name,
      version: ready.version,
      run_id: ready.run_id || req.run_id,
      status: "registered",
      created_at: isoFromMs(ready.creation_timestamp),
      source: ready.source,
    };
  } catch (err) {
    throw fromMlflowError(err, "register the model");
  }
}
