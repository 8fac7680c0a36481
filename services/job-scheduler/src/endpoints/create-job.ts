import { randomUUID } from "node:crypto";
import { BusError, type RpcHandler } from "@asgard/bus";
import type { RPC, RpcRequest, RpcResponse } from "@asgard/contracts";
import { isUniqueViolation } from "@asgard/db";
import { putContentAddressed } from "@asgard/storage";
import { continueTrace, formatTraceparent, traceFields } from "@asgard/telemetry";
import {
  countLiveJobs,
  findJobByIdempotencyKey,
  IDEMPOTENCY_CONSTRAINT,
  insertJob,
  lockTenantCreates,
  releaseIdempotencyKey,
  type NewJob,
} from "../db/jobs.js";
import type { JobRow } from "../db/schema.js";
import { deadlineOf } from "../domain/state-machine.js";
import { publishSubmitted } from "../outbox.js";
import { SCRIPTS_PREFIX, type SchedulerContext } from "../context.js";
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
    const stored = await putContentAddressed(ctx.blobs, SCRIPTS_PREFIX, script);
    const now = ctx.now();
    const admitted = await admit(ctx, {
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
      await publishSubmitted(ctx, row);
    } catch (err) {
      log.warn({ job_id: row.job_id, err }, "training.submitted not published yet; the outbox relay will retry");
      ctx.wakeRelay();
    }
    return { job: await jobView(ctx, row), existing: false };
  };
}

type Admission = { kind: "created" | "existing"; row: JobRow } | { kind: "refused"; active: number };

/** Whether an idempotency key still names its job. */
function keyLive(ctx: SchedulerContext, holder: Pick<JobRow, "created_at">): boolean {
  return holder.created_at.getTime() > ctx.now().getTime() - ctx.config.idempotencyKeyTtlMs;
}

/**
 * Inserts the job unless its tenant is at its bound of live jobs, or its idempotency key
 * names a job already. Under the tenant's lock the count and the insert cannot interleave
 * with another create of the tenant; a job ending meanwhile only lowers the count. Without a
 * bound there is nothing to count and no lock: the key's unique constraint settles races.
 */
async function admit(ctx: SchedulerContext, job: NewJob): Promise<Admission> {
  const limit = ctx.config.maxActiveJobsPerTenant;
  try {
    return await ctx.db.transaction().execute(async (trx): Promise<Admission> => {
      if (limit > 0) await lockTenantCreates(trx, job.tenant);
      if (job.idempotency_key !== null) {
        const holder = await findJobByIdempotencyKey(trx, job.tenant, job.idempotency_key);
        if (holder && keyLive(ctx, holder)) return { kind: "existing", row: holder };
        if (holder) await releaseIdempotencyKey(trx, holder.job_id);
      }
      if (limit > 0) {
        const active = await countLiveJobs(trx, job.tenant);
        if (active >= limit) return { kind: "refused", active };
      }
      return { kind: "created", row: await insertJob(trx, job) };
    });
  } catch (err) {
    // Two creates with one key raced (with a limit, the lock orders them and this is a second line): the key's winner answers.
    if (job.idempotency_key !== null && isUniqueViolation(err, IDEMPOTENCY_CONSTRAINT)) {
      const winner = await findJobByIdempotencyKey(ctx.db, job.tenant, job.idempotency_key);
      if (winner) return { kind: "existing", row: winner };
    }
    throw err;
  }
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
