import type { FastifyInstance } from "fastify";
import {
  MODEL_VERSION_HEADER,
  RPC,
  SERVED_BY_HEADER,
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
 * `POST /mlops/models/{model_name}/versions/{version}/invocations` of the caller's tenant's
 * model: MLflow's scoring-server protocol (`dataframe_split`, `dataframe_records`, `instances`, `inputs`), answered as
 * `{"predictions": …}` like `mlflow models serve`, so its clients switch by changing the URL.
 * The version that answered is in a header (useful for `latest` and `@alias`), and so is the
 * path that computed the predictions (`python` or `onnx`). `GET …/serving` says which path
 * serves a version and, when it is not ONNX Runtime, why.
 */
export function invocationRoutes(app: FastifyInstance, opts: { bus: BusRef }): void {
  app.post(toFastifyPath(ROUTES.invokeModel.path), async (req, reply) => {
    // Fastify's params object has its own prototype; a copy is the plain object the parser expects.
    const params = parseInvocationsParams({ ...(req.params as object) });
    if (!params.ok) return reply.code(params.status).send(params.body);
    const body = parseInvocationsRequest(req.body);
    if (!body.ok) return reply.code(body.status).send(body.body);
    const request: InvokeRequest = {
      tenant: req.caller.tenant,
      model_name: params.value.model_name,
      model_ref: params.value.version,
      format: body.value.format,
      data: body.value.data,
      params: body.value.params,
    };
    refuseOversizedPredict(request, bodyLength(req.headers["content-length"]));
    const { predictions, model_version, served_by } = await connectedBus(opts.bus).request(RPC.invokeModel, request, traced(req));
    const answer: InvocationsResponse = { predictions };
    reply.header(MODEL_VERSION_HEADER, model_version);
    // MLflow's body stays exactly its own: which path answered goes in a header.
    if (served_by !== undefined) reply.header(SERVED_BY_HEADER, served_by);
    return reply.send(answer);
  });

  // Which path serves the version on the replica that answers; nothing is loaded for it.
  app.get(toFastifyPath(ROUTES.getModelServing.path), async (req, reply) => {
    const params = parseInvocationsParams({ ...(req.params as object) });
    if (!params.ok) return reply.code(params.status).send(params.body);
    const { model_name, version } = params.value;
    return connectedBus(opts.bus).request(RPC.modelServing, { tenant: req.caller.tenant, model_name, model_ref: version }, traced(req));
  });
}
