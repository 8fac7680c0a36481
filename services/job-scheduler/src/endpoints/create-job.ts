import { randomUUID } from "node:crypto";
import { BusError, type RpcHandler } from "@asgard/bus";
import type { RPC, RpcRequest, RpcResponse } from "@asgard/contracts";
import { continueTrace, formatTraceparent, traceFields } from "@asgard/telemetry";
import { keyLive } from "../admission.js";
import { findJobByIdempotencyKey } from "../db/jobs.js";
import type { JobRow } from "../db/schema.js";
import { deadlineOf } from "../domain/state-machine.js";
import { publishSubmitted } from "../outbox.js";
import type { SchedulerContext } from "../context.js";
import { toJob } from "../domain/mapper.js";
import { jobView } from "./job-view.js";

type CreateRequest = RpcRequest<typeof RPC.createJob>;
type CreateResponse = RpcResponse<typeof RPC.createJob>;

const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Buffer.from(…, "base64") skips what it cannot read; a script must decode exactly. */
function decodeScript(b64: string): Buffer {
  if (!STRICT_BASE64.test(b64)) {
    throw new BusError("VALIDATION_FAILED", "script_b64 is not strict base64", {
      issues: [{ field: "script_b64", message: "must be base64 with the standard alphabet and padding" }],
    });
  }
  return Buffer.from(b64, "base64");
}

/**
 * Stores the script, then the queued job, then publishes training.submitted. A publish that
 * fails still answers: the row is the record, and the outbox relay publishes it. The job keeps
 * this request's span as its trace context: every event about it continues that trace.
 *
 * The job belongs to the caller's tenant; so do its Idempotency-Key (a key names a job for
 * `idempotencyKeyTtlMs`, then makes a new one) and the bound on the tenant's live jobs, which
 * is checked and kept in one transaction under the tenant's lock, so a burst cannot pass it.
 * Concurrent creates share that transaction (see admission.ts): the answer still comes only
 * once this job's row is committed.
 */
export function createJobHandler(ctx: SchedulerContext): RpcHandler<typeof RPC.createJob> {
  const repeat = async (existing: JobRow, req: CreateRequest): Promise<CreateResponse> => {
    if (existing.request_hash !== req.request_hash) {
      // The key is looked up in the caller's tenant only: the job named here is the caller's own.
      throw new BusError(
        "CONFLICT",
        `Idempotency-Key ${JSON.stringify(req.idempotency_key)} was used with a different request (job ${existing.job_id}); use a new key for a new job`,
      );
    }
    return { job: await jobView(ctx, existing), existing: true };
  };

  return async (req, rpc) => {
    const trace = continueTrace(rpc.headers);
    const log = ctx.logger.child(traceFields(trace));
    const script = decodeScript(req.script_b64);
    const tenant = req.scope.tenant;
    if (req.idempotency_key !== null) {
      // A repeat answers without storing anything or waiting for the tenant's lock.
      const existing = await findJobByIdempotencyKey(ctx.db, tenant, req.idempotency_key);
      if (existing && keyLive(ctx, existing)) return repeat(existing, req);
    }
    // Before the row: a stored job always has its script.
    const stored = await ctx.scripts.put(script);
    const now = ctx.now();
    // Stored together with the jobs of concurrent creates; answered once its transaction committed.
    const admitted = await ctx.admissions.submit({
      job_id: randomUUID(),
      tenant,
      script_name: req.script_name,
      script_sha256: stored.sha256,
      script_bytes: stored.size,
      experiment_name: req.experiment_name,
      model_name: req.model_name,
      requirements: req.requirements,
      environment_vars: req.environment_vars,
      tags: req.tags,
      timeout_seconds: req.timeout,
      idempotency_key: req.idempotency_key,
      request_hash: req.request_hash,
      created_at: now,
      deadline_at: deadlineOf.queued(now, ctx.config),
      traceparent: formatTraceparent(trace),
      tracestate: trace.tracestate ?? null,
      resources: req.resources ?? null,
    });
    if (admitted.kind === "refused") {
      ctx.metrics.jobRefused("tenant_limit");
      log.info({ tenant, active: admitted.active, limit: ctx.config.maxActiveJobsPerTenant }, "job refused: the tenant's live job limit is reached");
      throw tenantLimitReached(ctx, tenant, admitted.active);
    }
    if (admitted.kind === "existing") return repeat(admitted.row, req);
    const row = admitted.row;
    ctx.metrics.jobCreated();
    log.info(
      { job_id: row.job_id, tenant: row.tenant, model: row.model_name, experiment: row.experiment_name, scriptSha256: row.script_sha256 },
      "job created",
    );
    try {
      const { marked } = await publishSubmitted(ctx, row);
      // The answer waits for the stream's ack, not for the mark: a lost mark only means a re-publish the stream drops.
      marked.catch((err: unknown) => log.warn({ job_id: row.job_id, err }, "training.submitted published but not marked; the relay will publish it again"));
    } catch (err) {
      log.warn({ job_id: row.job_id, err }, "training.submitted not published yet; the outbox relay will retry");
      ctx.wakeRelay();
    }
    // A job just created has no logs to read.
    return { job: toJob(row, { logs: "", cut: false }), existing: false };
  };
}

function tenantLimitReached(ctx: SchedulerContext, tenant: string, active: number): BusError {
  const limit = ctx.config.maxActiveJobsPerTenant;
  return new BusError(
    "LIMIT_EXCEEDED",
    `tenant ${JSON.stringify(tenant)} has ${active} queued or running jobs, the most it may have at once ` +
      `(MAX_ACTIVE_JOBS_PER_TENANT = ${limit}): wait until some of them end, or cancel those you no longer need ` +
      `(DELETE /mlops/training/jobs/{job_id}), then submit again`,
    { retryAfterSeconds: ctx.config.activeJobsRetryAfterSeconds },
  );
}
