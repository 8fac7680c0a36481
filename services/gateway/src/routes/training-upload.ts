import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import {
  IDEMPOTENCY_KEY_HEADER,
  RPC,
  ROUTES,
  idempotencyKeyProblem,
  parseUploadRequest,
  resolveJobResources,
  toFastifyPath,
  DEFAULT_UPLOAD_LIMITS,
  type CreateJobRequest,
  type JobScope,
  type UploadParseOptions,
  type UploadRequest,
  type UploadResponse,
} from "@asgard/contracts";
import { connectedBus, type BusRef } from "../bus-ref.js";
import { HttpError } from "../http-errors.js";
import { jobScope } from "../job-ref.js";
import { depthCheckedJsonParser } from "../json-body.js";
import { requestHash } from "../request-hash.js";
import { traced } from "../trace.js";
import { uploadResult, type TrainingMetrics } from "../training-metrics.js";

/**
 * Largest encoded create-job request. It travels in one NATS message (1 MiB by default) with
 * headers around it; the script alone is bounded, but environment variables and tags are not.
 */
export const MAX_CREATE_JOB_BYTES = 900 * 1024;

/** Sent on a 202 that returns the job of an earlier upload with the same Idempotency-Key. */
export const IDEMPOTENT_REPLAYED_HEADER = "idempotent-replayed";

const JSON_HINT = "send the upload as a JSON object with Content-Type: application/json";

/**
 * `POST /mlops/training/upload` → 202 with the queued job. Validation is the contract's
 * (`parseUploadRequest`); the job-scheduler stores the job and answers it.
 */
export async function trainingUploadRoutes(
  app: FastifyInstance,
  opts: { bus: BusRef; limits: UploadParseOptions; metrics: TrainingMetrics },
): Promise<void> {
  // Encapsulated so the body rules below apply to this route only.
  await app.register(async (scope) => {
    acceptJsonOnly(scope);
    scope.post(toFastifyPath(ROUTES.uploadTrainingScript.path), {
      onResponse: async (_req, reply) => {
        opts.metrics.uploads.inc({ result: uploadResult(reply.statusCode), status: String(reply.statusCode) });
      },
      handler: (req, reply) => upload(req, reply, opts),
    });
  });
}

async function upload(req: FastifyRequest, reply: FastifyReply, opts: { bus: BusRef; limits: UploadParseOptions }) {
  const idempotencyKey = readIdempotencyKey(req.headers[IDEMPOTENCY_KEY_HEADER]);
  const parsed = parseUploadRequest(req.body, opts.limits);
  if (!parsed.ok) return reply.code(parsed.status).send(parsed.body);
  const request = createJobRequest(parsed.value, idempotencyKey, jobScope(req.caller), opts.limits);
  refuseOversized(request);
  const { job, existing } = await connectedBus(opts.bus).request(RPC.createJob, request, traced(req));
  req.audit("job.submitted", { job_id: job.job_id, experiment_name: job.experiment_name, model_name: job.model_name, replayed: existing });
  req.log.info({ job_id: job.job_id, model: job.model_name, experiment: job.experiment_name, existing }, "job submitted");
  if (existing) void reply.header(IDEMPOTENT_REPLAYED_HEADER, "true");
  const body: UploadResponse = { ...job, warnings: parsed.warnings };
  return reply.code(202).send(body);
}

/**
 * JSON only: other media types are a 415 saying what to send. A body without Content-Type
 * is read as JSON, as the original API (FastAPI) did for clients posting `data=json.dumps(…)`.
 */
function acceptJsonOnly(scope: FastifyInstance): void {
  const json = depthCheckedJsonParser(scope);
  scope.removeContentTypeParser("text/plain");
  scope.addContentTypeParser("*", { parseAs: "string" }, (req, body, done) => {
    const type = req.headers["content-type"];
    if (type === undefined || /^[^;]*\+json\s*(;|$)/i.test(type)) {
      json(req, typeof body === "string" ? body : body.toString("utf8"), done);
      return;
    }
    const shown = type.length > 80 ? `${type.slice(0, 80)}…` : type;
    done(new HttpError("BAD_REQUEST", `Content-Type ${JSON.stringify(shown)} is not accepted: ${JSON_HINT}`, { status: 415 }), undefined);
  });
}

function readIdempotencyKey(header: string | string[] | undefined): string | null {
  if (header === undefined) return null;
  const values = Array.isArray(header) ? header : [header];
  const problem =
    values.length === 1 ? idempotencyKeyProblem(values[0] ?? "") : "was sent more than once: send one Idempotency-Key header";
  if (problem === null) return values[0] ?? null;
  throw new HttpError("VALIDATION_FAILED", `The Idempotency-Key header ${problem}`, {
    issues: [{ field: "Idempotency-Key", message: problem }],
  });
}

function createJobRequest(upload: UploadRequest, idempotencyKey: string | null, scope: JobScope, limits: UploadParseOptions): CreateJobRequest {
  return {
    scope,
    script_name: upload.script_name,
    script_b64: Buffer.from(upload.script, "utf8").toString("base64"),
    experiment_name: upload.experiment_name,
    model_name: upload.model_name,
    requirements: upload.requirements,
    environment_vars: upload.environment_vars,
    timeout: upload.timeout,
    tags: upload.tags,
    idempotency_key: idempotencyKey,
    request_hash: requestHash(upload),
    resources: resolveJobResources(upload.resources, limits.resourceMaxima ?? DEFAULT_UPLOAD_LIMITS.resourceMaxima),
  };
}

/** 413 when the job would not fit one NATS message, naming the fields that can be shrunk. */
function refuseOversized(request: CreateJobRequest): void {
  const total = Buffer.byteLength(JSON.stringify(request), "utf8");
  if (total <= MAX_CREATE_JOB_BYTES) return;
  const kib = (bytes: number) => `${Math.ceil(bytes / 1024)} KiB`;
  const sizes = {
    environment_vars: Buffer.byteLength(JSON.stringify(request.environment_vars), "utf8"),
    tags: Buffer.byteLength(JSON.stringify(request.tags), "utf8"),
    script_content: request.script_b64.length,
  };
  const limit = `the whole upload must stay under ${kib(MAX_CREATE_JOB_BYTES)} once encoded (it is ${kib(total)})`;
  const issues = [
    { field: "environment_vars", message: `takes ${kib(sizes.environment_vars)}; ${limit}: pass large values as files or data the script loads at run time` },
    ...(sizes.tags > 1024 ? [{ field: "tags", message: `takes ${kib(sizes.tags)}; ${limit}: shorten the tag values` }] : []),
  ];
  throw new HttpError(
    "PAYLOAD_TOO_LARGE",
    `The upload is too large to queue: ${limit}. environment_vars take ${kib(sizes.environment_vars)}, tags ${kib(sizes.tags)}, the script ${kib(sizes.script_content)} (base64)`,
    { issues },
  );
}
