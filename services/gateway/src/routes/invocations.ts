import type { FastifyInstance } from "fastify";
import {
  MODEL_VERSION_HEADER,
  RPC,
  ROUTES,
  parseInvocationsParams,
  parseInvocationsRequest,
  toFastifyPath,
  type InvocationsResponse,
  type InvokeRequest,
} from "@asgard/contracts";
import { connectedBus, type BusRef } from "../bus-ref.js";
import { traced } from "../trace.js";
import { bodyLength, refuseOversizedPredict } from "./inference.js";

/**
 * `POST /mlops/models/{model_name}/versions/{version}/invocations`: MLflow's scoring-server
 * protocol (`dataframe_split`, `dataframe_records`, `instances`, `inputs`), answered as
 * `{"predictions": …}` like `mlflow models serve`, so its clients switch by changing the URL.
 * The version that answered is in a header (useful for `latest` and `@alias`).
 */
export function invocationRoutes(app: FastifyInstance, opts: { bus: BusRef }): void {
  app.post(toFastifyPath(ROUTES.invokeModel.path), async (req, reply) => {
    // Fastify's params object has its own prototype; a copy is the plain object the parser expects.
    const params = parseInvocationsParams({ ...(req.params as object) });
    if (!params.ok) return reply.code(params.status).send(params.body);
    const body = parseInvocationsRequest(req.body);
    if (!body.ok) return reply.code(body.status).send(body.body);
    const request: InvokeRequest = {
      model_name: params.value.model_name,
      model_ref: params.value.version,
      format: body.value.format,
      data: body.value.data,
      params: body.value.params,
    };
    refuseOversizedPredict(request, bodyLength(req.headers["content-length"]));
    const { predictions, model_version } = await connectedBus(opts.bus).request(RPC.invokeModel, request, traced(req));
    const answer: InvocationsResponse = { predictions };
    return reply.header(MODEL_VERSION_HEADER, model_version).send(answer);
  });
}
