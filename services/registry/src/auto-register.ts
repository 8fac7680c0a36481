import { BusError, type ConsumedMessage } from "@asgard/bus";
import type { RunCompleted } from "@asgard/contracts";
import { MlflowError, MlflowRegistrationTimeoutError, tagsToRecord, type MlflowClient, type ModelVersion } from "@asgard/mlflow";
import { backoffDelayMs, type BackoffPolicy } from "@asgard/retry";
import { continueTrace, traceFields, type TraceContext } from "@asgard/telemetry";
import type { JobClaims } from "./claims.js";
import { describe, isRetryable } from "./errors.js";
import { jobVersionFilter, runVersionFilter, VERSION_TAGS } from "./filters.js";
import type { RegistryMetrics } from "./metrics.js";
import { loggedModelIdOf } from "./model-source.js";
import type { RegisterDeps } from "./register.js";
import type { TenantScope } from "./tenants.js";

/** What automatic registration needs on top of a manual one. */
export interface AutoRegisterDeps extends RegisterDeps {
  claims: JobClaims;
  metrics: RegistryMetrics;
}

/** How a delivery of run.completed was handled. */
export type AutoOutcome = "registered" | "adopted" | "existing" | "nothing_to_register" | "busy" | "retry" | "failed";

/** Nak delay while another delivery holds the job's claim. */
const CLAIM_BUSY_DELAY_MS = 2_000;
/** working() cadence: a third of the consumer's 30 s ack wait. */
const WORKING_EVERY_MS = 10_000;
/** Nak delay after the n-th delivery failed on a retryable fault: 1 s doubling to 30 s. */
const RETRY_BACKOFF: BackoffPolicy = { initialMs: 1_000, maxMs: 30_000 };

/** The job's version and how this delivery came by it (for the outcome, logs and metrics). */
type Found = { mv: ModelVersion; how: "existing" | "adopted" | "registered" };

/** The version already registered for this job (its `asgard.job_id` tag), if any. */
async function findJobVersion(mlflow: MlflowClient, modelName: string, jobId: string): Promise<ModelVersion | null> {
  const filter = jobVersionFilter(jobId);
  if (filter === null) throw new BusError("VALIDATION_FAILED", `job id ${JSON.stringify(jobId)} cannot be searched for in MLflow`);
  const { modelVersions } = await mlflow.searchModelVersions({ filter, maxResults: 100 });
  const mine = modelVersions.filter((mv) => mv.name === modelName).sort((a, b) => Number(a.version) - Number(b.version));
  return mine[0] ?? null;
}

/**
 * A version the script registered itself under the job's model name from the job's run (e.g.
 * `log_model(..., registered_model_name=...)`): not made by the platform. It is tagged with
 * the job id, so later deliveries find it as the job's version.
 */
async function adoptScriptVersion(mlflow: MlflowClient, event: RunCompleted, runId: string): Promise<ModelVersion | null> {
  const filter = runVersionFilter(runId);
  if (filter === null) return null;
  const { modelVersions } = await mlflow.searchModelVersions({ filter, maxResults: 100 });
  const candidates = modelVersions.filter((mv) => {
    const tags = tagsToRecord(mv.tags);
    return mv.name === event.model_name && tags[VERSION_TAGS.jobId] === undefined && tags[VERSION_TAGS.registeredVia] === undefined;
  });
  const newest = candidates.sort((a, b) => Number(b.version) - Number(a.version))[0];
  if (!newest) return null;
  await mlflow.setModelVersionTag(newest.name, newest.version, VERSION_TAGS.jobId, event.job_id);
  return { ...newest, tags: [...newest.tags, { key: VERSION_TAGS.jobId, value: event.job_id }] };
}

/**
 * The job's LoggedModel must exist and hold its files. Checked first because MLflow answers a
 * version of a missing LoggedModel with a 500, which would read as "MLflow unavailable, retry".
 */
async function requireLoggedModel(mlflow: MlflowClient, modelId: string): Promise<void> {
  let model;
  try {
    model = await mlflow.getLoggedModel(modelId);
  } catch (err) {
    if (err instanceof MlflowError && err.code === "NOT_FOUND") {
      throw new BusError("UNPROCESSABLE", `the run's logged model ${modelId} does not exist in MLflow`, { cause: err });
    }
    throw err;
  }
  if (model.info.status === "LOGGED_MODEL_UPLOAD_FAILED") {
    throw new BusError("UNPROCESSABLE", `the upload of logged model ${modelId} failed${model.info.status_message ? `: ${model.info.status_message}` : ""}`);
  }
}

async function createJobVersion(deps: AutoRegisterDeps, scope: TenantScope, event: RunCompleted, runId: string, claimedAt: number): Promise<ModelVersion> {
  const source = event.logged_model_uri as string;
  const modelId = event.logged_model_id ?? loggedModelIdOf(source);
  if (modelId) await requireLoggedModel(scope.mlflow, modelId);
  await scope.store.ensureRegisteredModel(event.model_name);
  // The claim is a lease: past this point another delivery may hold it, so do not create.
  if (Date.now() - claimedAt > deps.config.claimUseWithinMs) {
    throw new BusError("UNAVAILABLE", `the claim on job ${event.job_id} ran out before its version was created; retrying`);
  }
  return scope.mlflow.createModelVersion({
    name: event.model_name,
    source,
    runId,
    ...(modelId ? { modelId } : {}),
    // In the same call as the creation: a version of this job can never exist untagged.
    tags: { [VERSION_TAGS.jobId]: event.job_id, [VERSION_TAGS.registeredVia]: "job" },
  });
}

/** Finds, adopts or creates the job's version; null when another delivery holds the claim. */
async function jobVersion(deps: AutoRegisterDeps, scope: TenantScope, event: RunCompleted, runId: string): Promise<Found | null> {
  const existing = await findJobVersion(scope.mlflow, event.model_name, event.job_id);
  if (existing) return { mv: existing, how: "existing" };
  const claim = await deps.claims.claim(scope.tenant, event.job_id);
  if (!claim.claimed) return null;
  // Another delivery may have finished between the first look and the claim.
  const raced = await findJobVersion(scope.mlflow, event.model_name, event.job_id);
  if (raced) return { mv: raced, how: "existing" };
  const adopted = await adoptScriptVersion(scope.mlflow, event, runId);
  if (adopted) return { mv: adopted, how: "adopted" };
  return { mv: await createJobVersion(deps, scope, event, runId, claim.at), how: "registered" };
}

/**
 * Registers the model of a succeeded job that logged one, under the job's model name in the
 * job's tenant (the event's; its run is in that tenant's workspace), and announces it (model.registered with the job id), or announces why it cannot be
 * (model.registration_failed). Idempotent on the job id: a redelivered or re-published event
 * finds the version tagged with the job id and announces it again instead of creating one.
 */
export async function handleRunCompleted(
  deps: AutoRegisterDeps,
  event: RunCompleted,
  deliveryCount: number,
  working: () => void,
  trace: TraceContext,
): Promise<{ outcome: AutoOutcome; delayMs?: number }> {
  // Nothing to register: the job failed, or its run logged no model (the scheduler completes it).
  if (event.outcome !== "succeeded" || event.logged_model_uri === null || event.run_id === null) return { outcome: "nothing_to_register" };
  const runId = event.run_id;
  const scope = deps.scopes.scope(event.tenant);
  const log = {
    tenant: event.tenant,
    job_id: event.job_id,
    attempt: event.attempt,
    model: event.model_name,
    run_id: runId,
    delivery: deliveryCount,
    ...traceFields(trace),
  };
  const timer = setInterval(working, WORKING_EVERY_MS);
  try {
    const found = await jobVersion(deps, scope, event, runId);
    if (!found) {
      deps.logger.info(log, "another delivery is registering this job; checking again shortly");
      return { outcome: "busy", delayMs: CLAIM_BUSY_DELAY_MS };
    }
    let ready: ModelVersion;
    try {
      ready = await scope.mlflow.waitForModelVersionReady(found.mv.name, found.mv.version, {
        timeoutMs: deps.config.readyTimeoutMs,
        intervalMs: deps.config.readyPollMs,
      });
    } catch (err) {
      // Still pending: a later delivery finds the version by its tag and waits again.
      if (err instanceof MlflowRegistrationTimeoutError) throw new BusError("TIMEOUT", err.message, { cause: err });
      throw err;
    }
    await deps.announcer.registered(event.tenant, ready, { jobId: event.job_id, trace });
    await deps.changed(event.tenant, ready.name).catch((err: unknown) => deps.logger.warn({ ...log, err: describe(err) }, "could not re-read the model"));
    deps.metrics.registrations.inc({ via: "job", result: found.how });
    deps.logger.info({ ...log, version: ready.version, how: found.how }, "registered the job's model");
    return { outcome: found.how };
  } catch (err) {
    const age = Date.now() - Date.parse(event.occurred_at);
    if (isRetryable(err) && age < deps.config.autoRegisterGiveUpMs) {
      const delayMs = backoffDelayMs(deliveryCount, RETRY_BACKOFF);
      deps.logger.warn({ ...log, err: describe(err), delayMs }, "registration failed for now; retrying");
      return { outcome: "retry", delayMs };
    }
    const reason = isRetryable(err)
      ? `gave up after ${Math.round(age / 1000)} s of retries: ${describe(err)}`
      : describe(err);
    await deps.announcer.registrationFailed(
      { tenant: event.tenant, jobId: event.job_id, modelName: event.model_name, runId, error: `registering the model failed: ${reason}` },
      trace,
    );
    deps.metrics.registrations.inc({ via: "job", result: "failed" });
    return { outcome: "failed" };
  } finally {
    clearInterval(timer);
  }
}

/**
 * The consumer's handler: acks what is done, naks with a delay what is to be retried. Each
 * delivery is a span of the job's trace (run.completed carries it), logged and passed on.
 */
export function runCompletedHandler(deps: AutoRegisterDeps): (msg: ConsumedMessage<RunCompleted>) => Promise<void> {
  return async (msg) => {
    const trace = continueTrace(msg.headers);
    const { outcome, delayMs } = await handleRunCompleted(deps, msg.data, msg.deliveryCount, () => msg.working(), trace);
    if (outcome === "busy" || outcome === "retry") msg.nak(delayMs);
    else await msg.ack();
  };
}
