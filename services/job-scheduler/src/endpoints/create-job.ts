import { randomUUID } from "node:crypto";
import { BusError, type RpcHandler } from "@asgard/bus";
import type { RPC, RpcRequest, RpcResponse } from "@asgard/contracts";
import { isUniqueViolation } from "@asgard/db";
import { putContentAddressed } from "@asgard/storage";
import { continueTrace, formatTraceparent, traceFields } from "@asgard/telemetry";
import { findJobByIdempotencyKey, IDEMPOTENCY_CONSTRAINT, insertJob } from "../db/jobs.js";
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
 */
export function createJobHandler(ctx: SchedulerContext): RpcHandler<typeof RPC.createJob> {
  const repeat = async (existing: JobRow, req: CreateRequest): Promise<CreateResponse> => {
    if (existing.request_hash !== req.request_hash) {
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
    if (req.idempotency_key !== null) {
      const existing = await findJobByIdempotencyKey(ctx.db, req.idempotency_key);
      if (existing) return repeat(existing, req);
    }
    // Before the row: a stored job always has its script.
    const stored = await putContentAddressed(ctx.blobs, SCRIPTS_PREFIX, script);
    const now = ctx.now();
    let row: JobRow;
    try {
      row = await insertJob(ctx.db, {
        job_id: randomUUID(),
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
      });
    } catch (err) {
      // Two creates with one key raced and the other inserted first: answer with its job.
      if (req.idempotency_key !== null && isUniqueViolation(err, IDEMPOTENCY_CONSTRAINT)) {
        const winner = await findJobByIdempotencyKey(ctx.db, req.idempotency_key);
        if (winner) return repeat(winner, req);
      }
      throw err;
    }
    ctx.metrics.jobCreated();
    log.info(
      { job_id: row.job_id, model: row.model_name, experiment: row.experiment_name, scriptSha256: row.script_sha256 },
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
