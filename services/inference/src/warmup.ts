import type { Bus, ConsumedMessage, ConsumerHandlers } from "@asgard/bus";
import { CONSUMERS, SIGNALS, type InferenceModelChanged, type ModelAliasChanged, type ModelRegistered } from "@asgard/contracts";
import { continueTrace, traceFields, type Logger } from "@asgard/telemetry";
import type { InferenceConfig } from "./config.js";
import { describe } from "./errors.js";
import type { ModelPool } from "./model-pool.js";
import type { VersionResolver } from "./resolver.js";

type Change = Omit<InferenceModelChanged, "origin">;

/** Registry events as the changes inference acts on. */
function registeredChange(event: ModelRegistered): Change {
  return { tenant: event.tenant, model_name: event.model_name, change: "registered", version: event.version, alias: null };
}

function aliasChange(event: ModelAliasChanged): Change {
  return { tenant: event.tenant, model_name: event.model_name, change: "alias", version: event.version, alias: event.alias };
}

export interface WarmupDeps {
  bus: Bus;
  resolver: VersionResolver;
  pool: ModelPool;
  config: InferenceConfig;
  logger: Logger;
}

/**
 * Follows the registry, each event in its tenant (the model is warmed from the tenant's
 * workspace). The replicas share one durable consumer (so an event that arrived
 * while every replica was down is still seen); the replica that gets an event acts on it and
 * tells the others with a signal, so each forgets what `latest` or the alias resolved to and
 * warms the version — the first request after a registration then finds the model loaded.
 */
export function startWarmup(deps: WarmupDeps, opts: { pullTimeoutMs?: number } = {}): { stop(): Promise<void> } {
  const { bus, resolver, pool, config, logger } = deps;

  /** `traced`: the trace fields of the event that announced the change (none for a replica's signal). */
  const apply = async (change: Change, warm: boolean, traced: object = {}): Promise<void> => {
    if (change.change === "registered") resolver.noteRegistered(change.tenant, change.model_name);
    else if (change.alias !== null) resolver.noteAlias(change.tenant, change.model_name, change.alias, change.version);
    if (!warm || !config.warmOnRegister || change.version === null) return;
    try {
      const mv = await resolver.resolve(change.tenant, change.model_name, { kind: "version", version: change.version });
      pool.warm(mv);
      logger.info({ tenant: change.tenant, model: change.model_name, version: change.version, change: change.change, ...traced }, "warming model");
    } catch (err) {
      logger.warn({ tenant: change.tenant, model: change.model_name, version: change.version, err: describe(err), ...traced }, "could not warm the model; it loads on its first request");
    }
  };

  /** Acts on the change and tells the other replicas; an event older than `maxEventAgeMs` is not warmed. */
  const follow =
    <T extends { occurred_at: string }>(toChange: (event: T) => Change) =>
    async (msg: ConsumedMessage<T>): Promise<void> => {
      const change = toChange(msg.data);
      const fresh = Date.now() - Date.parse(msg.data.occurred_at) <= config.maxEventAgeMs;
      try {
        bus.publishSignal(SIGNALS.inferenceModelChanged, { ...change, origin: config.instanceId });
      } catch (err) {
        logger.warn({ tenant: change.tenant, model: change.model_name, err: describe(err) }, "could not tell the other inference replicas; their caches expire on their own");
      }
      await apply(change, fresh, traceFields(continueTrace(msg.headers)));
    };

  const handlers: ConsumerHandlers<typeof CONSUMERS.inferenceModels> = {
    modelRegistered: follow(registeredChange),
    modelAliasChanged: follow(aliasChange),
    // Nothing was registered: there is no version to warm.
    registrationFailed: null,
  };
  const consumption = bus.consume(
    CONSUMERS.inferenceModels,
    handlers,
    opts.pullTimeoutMs === undefined ? {} : { pullTimeoutMs: opts.pullTimeoutMs },
  );

  const signal = bus.subscribeSignal(SIGNALS.inferenceModelChanged, (payload) => {
    if (payload.origin === config.instanceId) return;
    return apply(payload, true);
  });

  return {
    async stop() {
      await consumption.stop();
      await signal.stop();
    },
  };
}
