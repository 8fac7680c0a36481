import { BusError, type Bus, type Consumption } from "@asgard/bus";
import { CONSUMERS, modelNameProblems, RPC, SIGNALS, STREAMS, type ModelInfo, type Tenant } from "@asgard/contracts";
import type { MlflowClient } from "@asgard/mlflow";
import { continueTrace, type Logger, type Registry as MetricsRegistry } from "@asgard/telemetry";
import { deleteAlias, setAlias, type AliasDeps } from "./aliases.js";
import { createAnnouncer } from "./announcer.js";
import { runCompletedHandler, type AutoRegisterDeps } from "./auto-register.js";
import { createJobClaims } from "./claims.js";
import { resolveConfig, type RegistryConfig } from "./config.js";
import { describe, fromMlflowError } from "./errors.js";
import { createRegistryMetrics } from "./metrics.js";
import { registerFromRun } from "./register.js";
import { runDetails } from "./run-details.js";
import { createTenantScopes } from "./tenants.js";
import { listVersions, versionSignature } from "./versions.js";
import { createWatcher, type Watcher } from "./watcher.js";

export interface RegistryDeps {
  bus: Bus;
  /** MLflow, unscoped: the registry derives each tenant's workspace client from it. */
  mlflow: MlflowClient;
  logger: Logger;
  metrics?: MetricsRegistry;
  /** Overrides of the defaults (`DEFAULT_CONFIG`). */
  config?: Partial<RegistryConfig>;
}

export interface Registry {
  /** Declares streams and consumers, serves the endpoints, consumes run.completed, starts polling MLflow. */
  start(): Promise<void>;
  /** Stops consuming and polling and waits for work in flight. */
  stop(): Promise<void>;
  /** One poll round now (tests, and a restart that wants to catch up at once). */
  pollOnce(): Promise<void>;
  readonly config: RegistryConfig;
}

/**
 * Owns every conversation with MLflow's model registry: registrations (asked for over
 * request/reply, or automatic from run.completed), the model list (from a cache), aliases,
 * the model.registered / model.alias.changed / model.registration_failed events, and the
 * API's reads of runs, versions and signatures (the gateway never talks to MLflow). Each
 * tenant is an MLflow workspace: every request names one and is answered from it alone.
 */
export function createRegistry(deps: RegistryDeps): Registry {
  const { bus, logger } = deps;
  const config = resolveConfig(deps.config);
  const metrics = createRegistryMetrics(deps.metrics);
  const scopes = createTenantScopes({ mlflow: deps.mlflow, logger });
  const announcer = createAnnouncer({ bus, mlflowFor: (tenant) => scopes.scope(tenant).mlflow, logger });
  const stoppers: Array<{ stop(): Promise<void> }> = [];
  let consumption: Consumption | null = null;
  const watcher: Watcher = createWatcher({ bus, scopes, announcer, metrics, logger, intervalMs: config.pollIntervalMs });

  /** After our own write: re-read the model here, and have the other replicas re-read it too. */
  async function changedAliases(tenant: Tenant, name: string) {
    const { changes } = await scopes.scope(tenant).store.refreshModel(name);
    try {
      bus.publishSignal(SIGNALS.registryModelChanged, { tenant, model_name: name, origin: config.instanceId });
    } catch (err) {
      logger.warn({ tenant, model: name, err: describe(err) }, "could not tell the other replicas about a change; their next poll will");
    }
    return changes;
  }
  /** After a registration: besides re-reading, announce aliases that moved in MLflow meanwhile. */
  async function changed(tenant: Tenant, name: string): Promise<void> {
    for (const change of await changedAliases(tenant, name)) await announcer.aliasChanged(change, "mlflow");
  }

  const registerDeps = { scopes, announcer, config, logger, changed };
  const autoDeps: AutoRegisterDeps = { ...registerDeps, claims: createJobClaims({ bus, instanceId: config.instanceId }), metrics };
  const aliasDeps: AliasDeps = { scopes, announcer, logger, changedAliases };

  /** The tenant's model; another tenant's is as unknown as a missing one. */
  async function getModel(tenant: Tenant, name: string): Promise<ModelInfo> {
    const notFound = () => new BusError("NOT_FOUND", `no registered model is named ${JSON.stringify(name)}`);
    // A name MLflow would refuse names no model: not found, not a validation error.
    if (modelNameProblems(name).length > 0) throw notFound();
    const { store } = scopes.scope(tenant);
    const cached = store.cache.get(name);
    if (cached) return cached;
    // Made in MLflow since the last poll, perhaps: ask it.
    try {
      const { model } = await store.refreshModel(name);
      if (!model) throw notFound();
      return model;
    } catch (err) {
      throw fromMlflowError(err, "read the model");
    }
  }

  function serveEndpoints(): void {
    stoppers.push(
      bus.serve(RPC.registerModel, async (req, rpc) => {
        try {
          const result = await registerFromRun(registerDeps, req, continueTrace(rpc.headers));
          metrics.registrations.inc({ via: "api", result: "registered" });
          return result;
        } catch (err) {
          metrics.registrations.inc({ via: "api", result: err instanceof BusError ? err.code.toLowerCase() : "error" });
          throw err;
        }
      }),
      bus.serve(RPC.listModels, async (req) => {
        const { store } = scopes.scope(req.tenant);
        try {
          await store.ensureLoaded();
        } catch (err) {
          throw new BusError("UNAVAILABLE", `the registry has not read MLflow's model list yet (${describe(err)}); retry shortly`, { cause: err });
        }
        const generation = store.cache.generation();
        const refreshed_at = (store.cache.refreshedAt() ?? new Date()).toISOString();
        if (req.if_generation === generation) {
          return { models: [], next_page_token: null, refreshed_at, generation, not_modified: true };
        }
        const page = store.cache.page(req.page_token, req.max_results, config.listPageBytes);
        return { models: page.models, next_page_token: page.nextPageToken, refreshed_at, generation, not_modified: false };
      }),
      bus.serve(RPC.getModel, (req) => getModel(req.tenant, req.model_name)),
      bus.serve(RPC.setModelAlias, (req) => setAlias(aliasDeps, req)),
      bus.serve(RPC.deleteModelAlias, (req) => deleteAlias(aliasDeps, req)),
      // Reads for the console: each in the tenant's workspace, so another tenant's run or model is not found.
      bus.serve(RPC.getRun, (req) => runDetails(scopes.scope(req.tenant).mlflow, req)),
      bus.serve(RPC.listModelVersions, (req) => listVersions(scopes.scope(req.tenant).mlflow, req)),
      bus.serve(RPC.getModelSignature, (req) => versionSignature(scopes.scope(req.tenant).mlflow, req)),
      bus.subscribeSignal(SIGNALS.registryModelChanged, (signal) => {
        if (signal.origin === config.instanceId) return;
        scopes.scope(signal.tenant).store.refreshModel(signal.model_name).catch((err: unknown) =>
          logger.warn({ tenant: signal.tenant, model: signal.model_name, err: describe(err) }, "could not re-read a model another replica changed"),
        );
      }),
    );
  }

  return {
    config,
    pollOnce: () => watcher.pollOnce(),
    async start() {
      await bus.ensureStream(STREAMS.registryClaims);
      // The scheduler owns the job-outcome and model-event streams; a registry started first waits for them.
      for (const stream of [STREAMS.runs, STREAMS.models]) await bus.awaitStream(stream);
      await bus.ensureConsumer(CONSUMERS.registryRuns);
      serveEndpoints();
      // A round trip makes the server process our subscriptions first: a request sent on
      // another connection right after start() then finds the endpoints.
      await bus.rtt();
      consumption = bus.consume(CONSUMERS.registryRuns, { runCompleted: runCompletedHandler(autoDeps) });
      await watcher.start();
      logger.info({ instanceId: config.instanceId, pollIntervalMs: config.pollIntervalMs }, "registry started");
    },
    async stop() {
      await watcher.stop();
      await consumption?.stop();
      for (const s of stoppers.splice(0)) await s.stop();
      logger.info("registry stopped");
    },
  };
}
