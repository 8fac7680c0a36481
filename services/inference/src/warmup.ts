import { z } from "zod";
import type { Bus } from "@asgard/bus";
import {
  CONSUMERS,
  EVENTS,
  ModelAliasChangedSchema,
  ModelRegisteredSchema,
  SIGNALS,
  type EventDef,
  type InferenceModelChanged,
} from "@asgard/contracts";
import { continueTrace, traceFields, type Logger } from "@asgard/telemetry";
import type { InferenceConfig } from "./config.js";
import { describe } from "./errors.js";
import type { ModelPool } from "./model-pool.js";
import type { VersionResolver } from "./resolver.js";

/**
 * The MODELS stream carries several payloads (registered, alias changed, registration
 * failed) under one consumer; each is checked against its own schema by subject below.
 */
const MODEL_EVENTS = {
  ...EVENTS.modelRegistered,
  subject: "model.>",
  schema: z.unknown(),
  description: "Every event of the MODELS stream, dispatched by subject.",
} as const satisfies EventDef;

type Change = Omit<InferenceModelChanged, "origin"> & { occurredAt: string };

/** A MODELS event as a change inference acts on; null for the others. */
export function toChange(subject: string, data: unknown): Change | null {
  if (subject === EVENTS.modelRegistered.subject) {
    const event = ModelRegisteredSchema.parse(data);
    return { model_name: event.model_name, change: "registered", version: event.version, alias: null, occurredAt: event.occurred_at };
  }
  if (subject === EVENTS.modelAliasChanged.subject) {
    const event = ModelAliasChangedSchema.parse(data);
    return { model_name: event.model_name, change: "alias", version: event.version, alias: event.alias, occurredAt: event.occurred_at };
  }
  return null;
}

export interface WarmupDeps {
  bus: Bus;
  resolver: VersionResolver;
  pool: ModelPool;
  config: InferenceConfig;
  logger: Logger;
}

/**
 * Follows the registry. The replicas share one durable consumer (so an event that arrived
 * while every replica was down is still seen); the replica that gets an event acts on it and
 * tells the others with a signal, so each forgets what `latest` or the alias resolved to and
 * warms the version — the first request after a registration then finds the model loaded.
 */
export function startWarmup(deps: WarmupDeps, opts: { pullTimeoutMs?: number } = {}): { stop(): Promise<void> } {
  const { bus, resolver, pool, config, logger } = deps;

  /** `traced`: the trace fields of the event that announced the change (none for a replica's signal). */
  const apply = async (change: Omit<InferenceModelChanged, "origin">, warm: boolean, traced: object = {}): Promise<void> => {
    if (change.change === "registered") resolver.noteRegistered(change.model_name);
    else if (change.alias !== null) resolver.noteAlias(change.model_name, change.alias, change.version);
    if (!warm || !config.warmOnRegister || change.version === null) return;
    try {
      const mv = await resolver.resolve(change.model_name, { kind: "version", version: change.version });
      pool.warm(mv);
      logger.info({ model: change.model_name, version: change.version, change: change.change, ...traced }, "warming model");
    } catch (err) {
      logger.warn({ model: change.model_name, version: change.version, err: describe(err), ...traced }, "could not warm the model; it loads on its first request");
    }
  };

  const consumption = bus.consume(
    CONSUMERS.inferenceModels,
    MODEL_EVENTS,
    async (msg) => {
      let change: Change | null;
      try {
        change = toChange(msg.subject, msg.data);
      } catch (err) {
        // It can never pass; acked so it does not come back.
        logger.warn({ subject: msg.subject, seq: msg.seq, err: describe(err) }, "ignored a MODELS event that does not match its schema");
        return;
      }
      if (!change) return;
      const { occurredAt, ...payload } = change;
      const fresh = Date.now() - Date.parse(occurredAt) <= config.maxEventAgeMs;
      try {
        bus.publishSignal(SIGNALS.inferenceModelChanged, { ...payload, origin: config.instanceId });
      } catch (err) {
        logger.warn({ model: payload.model_name, err: describe(err) }, "could not tell the other inference replicas; their caches expire on their own");
      }
      await apply(payload, fresh, traceFields(continueTrace(msg.headers)));
    },
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
