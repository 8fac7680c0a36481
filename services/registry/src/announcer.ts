import { randomUUID } from "node:crypto";
import type { Bus } from "@asgard/bus";
import { EVENTS, type ModelAliasChanged, type ModelRegistered, type RegistrationFailed, type Tenant } from "@asgard/contracts";
import { tagsToRecord, type MlflowClient, type ModelVersion } from "@asgard/mlflow";
import { traceFields, traceHeaders, type Logger, type TraceContext } from "@asgard/telemetry";
import { describe } from "./errors.js";
import { aliasChangedEventId, registeredEventId, registrationFailedEventId } from "./event-ids.js";
import { VERSION_TAGS } from "./filters.js";
import { isoFromMs } from "./mapping.js";
import type { AliasChange } from "./model-cache.js";
import { readMlmodel } from "./model-source.js";
import { readMlmodelSignature, type SignatureSummary } from "./signature.js";

/**
 * Publishes the registry's events; every id is derived from the fact it announces. Every
 * event names the tenant whose model it is about.
 */
export interface Announcer {
  /**
   * Announces a READY version of the tenant's model as model.registered. The job id is the
   * given one, else the version's `asgard.job_id` tag, so that a poller's copy of a job's event
   * is the same event. `trace`: the span that registered it; the event carries it on as its
   * `traceparent`.
   */
  registered(tenant: Tenant, mv: ModelVersion, opts?: { jobId?: string | null; aliases?: string[]; trace?: TraceContext }): Promise<ModelRegistered>;
  /** True once this process announced the tenant's version (the poller skips it). */
  wasAnnounced(tenant: Tenant, name: string, version: string): boolean;
  aliasChanged(change: AliasChange, via: ModelAliasChanged["via"]): Promise<void>;
  registrationFailed(
    failure: { tenant: Tenant; jobId: string; modelName: string; runId: string | null; error: string },
    trace?: TraceContext,
  ): Promise<void>;
}

/** Versions remembered as announced; older ones are forgotten first (the poller's watermark covers them). */
const ANNOUNCED_MEMORY = 10_000;
const SIGNATURE_TIMEOUT_MS = 5_000;

/** `mlflowFor`: MLflow in a tenant's workspace (the version's MLmodel is read there). */
export function createAnnouncer(deps: { bus: Bus; mlflowFor(tenant: Tenant): MlflowClient; logger: Logger }): Announcer {
  const announced = new Set<string>();
  const keyOf = (tenant: Tenant, name: string, version: string) => `${tenant}\u0000${name}\u0000${version}`;

  /** Best effort: a version whose MLmodel cannot be read is announced without a signature. */
  async function signatureOf(tenant: Tenant, mv: ModelVersion): Promise<SignatureSummary | null> {
    try {
      const text = await readMlmodel(deps.mlflowFor(tenant), mv, SIGNATURE_TIMEOUT_MS);
      return text === null ? null : readMlmodelSignature(text);
    } catch (err) {
      deps.logger.debug({ model: mv.name, version: mv.version, err: describe(err) }, "could not read the version's signature");
      return null;
    }
  }

  return {
    async registered(tenant, mv, opts = {}) {
      const jobId = opts.jobId !== undefined ? opts.jobId : (tagsToRecord(mv.tags)[VERSION_TAGS.jobId] ?? null);
      const event: ModelRegistered = {
        event_id: registeredEventId(tenant, mv.name, mv.version, jobId),
        schema_version: EVENTS.modelRegistered.schemaVersion,
        occurred_at: new Date().toISOString(),
        tenant,
        model_name: mv.name,
        version: mv.version,
        run_id: mv.run_id || null,
        job_id: jobId,
        source: mv.source,
        aliases: [...(opts.aliases ?? mv.aliases)].sort(),
        signature: await signatureOf(tenant, mv),
        registered_at: isoFromMs(mv.creation_timestamp),
      };
      const ack = await deps.bus.publish(EVENTS.modelRegistered, event, {
        msgId: event.event_id,
        ...(opts.trace ? { headers: traceHeaders(opts.trace) } : {}),
      });
      announced.add(keyOf(tenant, mv.name, mv.version));
      if (announced.size > ANNOUNCED_MEMORY) {
        const oldest = announced.values().next().value;
        if (oldest !== undefined) announced.delete(oldest);
      }
      deps.logger.info(
        { tenant, job_id: jobId, run_id: event.run_id, model: mv.name, version: mv.version, duplicate: ack.duplicate, ...(opts.trace ? traceFields(opts.trace) : {}) },
        "announced model.registered",
      );
      return event;
    },
    wasAnnounced: (tenant, name, version) => announced.has(keyOf(tenant, name, version)),
    async aliasChanged(change, via) {
      const event: ModelAliasChanged = {
        // A change seen in MLflow is seen by every replica's poller: one id for all of them. A
        // change made through the API is one request, announced once by the replica that made it.
        event_id:
          via === "mlflow" ? aliasChangedEventId(change.tenant, change.modelName, change.alias, change.previousVersion, change.version) : randomUUID(),
        schema_version: EVENTS.modelAliasChanged.schemaVersion,
        occurred_at: new Date().toISOString(),
        tenant: change.tenant,
        model_name: change.modelName,
        alias: change.alias,
        version: change.version,
        previous_version: change.previousVersion,
        via,
        changed_at: new Date().toISOString(),
      };
      await deps.bus.publish(EVENTS.modelAliasChanged, event, { msgId: event.event_id });
      deps.logger.info({ tenant: change.tenant, model: change.modelName, alias: change.alias, version: change.version, previous: change.previousVersion, via }, "announced alias change");
    },
    async registrationFailed(failure, trace) {
      const event: RegistrationFailed = {
        event_id: registrationFailedEventId(failure.tenant, failure.jobId),
        schema_version: EVENTS.registrationFailed.schemaVersion,
        occurred_at: new Date().toISOString(),
        tenant: failure.tenant,
        job_id: failure.jobId,
        model_name: failure.modelName,
        run_id: failure.runId,
        error: failure.error,
      };
      await deps.bus.publish(EVENTS.registrationFailed, event, { msgId: event.event_id, ...(trace ? { headers: traceHeaders(trace) } : {}) });
      deps.logger.warn(
        { tenant: failure.tenant, job_id: failure.jobId, run_id: failure.runId, model: failure.modelName, error: failure.error, ...(trace ? traceFields(trace) : {}) },
        "announced registration failure",
      );
    },
  };
}
