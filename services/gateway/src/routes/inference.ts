import type { FastifyInstance } from "fastify";
import { RPC, ROUTES, parseInferenceRequest, toFastifyPath, type InferenceResponse, type PredictRequest } from "@asgard/contracts";
import { connectedBus, type BusRef } from "../bus-ref.js";
import { traced } from "../trace.js";
import { HttpError } from "../http-errors.js";

/**
 * Largest predict request sent to the inference service: it travels in one NATS message
 * (1 MiB by default) with headers around it. Bigger inputs are a 413 saying to split them.
 */
export const MAX_PREDICT_REQUEST_BYTES = 900 * 1024;

/**
 * 413 when a request to the inference service would not fit one NATS message. The request
 * holds a subset of the body re-encoded, so a body well under the limit needs no measuring —
 * encoding every request only to count its bytes showed in the gateway's profile.
 */
export function refuseOversizedPredict(request: unknown, bodyBytes: number): void {
  if (bodyBytes < MAX_PREDICT_REQUEST_BYTES / 2) return;
  const bytes = Buffer.byteLength(JSON.stringify(request), "utf8");
  if (bytes <= MAX_PREDICT_REQUEST_BYTES) return;
  throw new HttpError(
    "PAYLOAD_TOO_LARGE",
    `The inputs take ${Math.ceil(bytes / 1024)} KiB; at most ${MAX_PREDICT_REQUEST_BYTES / 1024} KiB go in one request: split the rows over several requests`,
  );
}

/** The body's size from Content-Length; unknown (chunked) counts as large, so it gets measured. */
export function bodyLength(header: string | undefined): number {
  const n = Number(header);
  return Number.isFinite(n) && n >= 0 ? n : Number.POSITIVE_INFINITY;
}

/**
 * `POST /mlops/inference`: the contract's parser checks the body (unknown fields become
 * warnings); the model name is the caller's tenant's (another tenant's model is a 404 like a
 * missing one, and nothing is loaded for it); the inference service answers over NATS request/reply in its queue group, so
 * any number of replicas share the load. Its coded errors (NOT_FOUND, VALIDATION_FAILED,
 * UNPROCESSABLE, UNAVAILABLE) become HTTP statuses in the one error handler.
 */
export function inferenceRoutes(app: FastifyInstance, opts: { bus: BusRef }): void {
  app.post(toFastifyPath(ROUTES.predict.path), async (req, reply) => {
    const parsed = parseInferenceRequest(req.body);
    if (!parsed.ok) return reply.code(parsed.status).send(parsed.body);
    const { model_name, model_ref, inputs, return_probabilities } = parsed.value;
    const request: PredictRequest = { tenant: req.caller.tenant, model_name, model_ref, inputs, return_probabilities };
    refuseOversizedPredict(request, bodyLength(req.headers["content-length"]));
    // Built from a body the contract just parsed (its rules are stricter than the internal
    // schema's), so the bus sends it without a second parse; the inference service validates it.
    const result = await connectedBus(opts.bus).request(RPC.predict, request, { ...traced(req), validated: true });
    const body: InferenceResponse = { ...result, warnings: parsed.warnings };
    return body;
  });
}
