import type { FastifyInstance } from "fastify";
import {
  NEXT_PAGE_TOKEN_HEADER,
  RPC,
  ROUTES,
  parseAliasParams,
  parseModelListQuery,
  parseSetAliasRequest,
  toFastifyPath,
} from "@asgard/contracts";
import { connectedBus, type BusRef } from "../bus-ref.js";
import { traced } from "../trace.js";
import { createModelListReader } from "../model-list.js";
import { queryObject } from "../query-object.js";

type ModelParams = { Params: { model_name: string } };
type VersionParams = { Params: { model_name: string; version: string } };
type AliasParams = { Params: { model_name: string; alias: string } };

/**
 * A name longer than the registry's request can carry names nothing; cut, it still breaks
 * MLflow's length rule, so the registry answers NOT_FOUND rather than the request failing.
 */
const fit = (s: string, max: number) => s.slice(0, max);

/**
 * Reading registered models and moving their aliases, in the caller's tenant: another tenant's
 * model or alias is a 404 like a missing one. The registry service answers lists from its cache
 * (never MLflow on the request path); alias changes go to MLflow and are announced.
 */
export function modelRoutes(app: FastifyInstance, opts: { bus: BusRef }): void {
  const list = createModelListReader();
  app.get(toFastifyPath(ROUTES.listModels.path), async (req, reply) => {
    const query = parseModelListQuery(queryObject(req.query));
    if (!query.ok) return reply.code(query.status).send(query.body);
    const bus = connectedBus(opts.bus);
    const { max_results, page_token } = query.value;
    // Without paging parameters, every model in one bare array, as the original answered.
    if (max_results === undefined && page_token === undefined) {
      return reply.type("application/json; charset=utf-8").send(await list.allModelsJson(bus, req.caller.tenant, traced(req)));
    }
    const page = await bus.request(RPC.listModels, { tenant: req.caller.tenant, max_results: max_results ?? null, page_token: page_token ?? null }, traced(req));
    if (page.next_page_token !== null) void reply.header(NEXT_PAGE_TOKEN_HEADER, page.next_page_token);
    return page.models;
  });

  app.get<ModelParams>(toFastifyPath(ROUTES.getModel.path), async (req) => {
    return connectedBus(opts.bus).request(RPC.getModel, { tenant: req.caller.tenant, model_name: req.params.model_name }, traced(req));
  });

  app.get<ModelParams>(toFastifyPath(ROUTES.listModelVersions.path), async (req) => {
    return connectedBus(opts.bus).request(RPC.listModelVersions, { tenant: req.caller.tenant, model_name: fit(req.params.model_name, 1_000) }, traced(req));
  });

  app.get<VersionParams>(toFastifyPath(ROUTES.getModelSignature.path), async (req) => {
    const { model_name, version } = req.params;
    return connectedBus(opts.bus).request(RPC.getModelSignature, { tenant: req.caller.tenant, model_name: fit(model_name, 1_000), version: fit(version, 100) }, traced(req));
  });

  // Path parameters, like the query, come on a prototype of Fastify's own: parsers get a plain copy.
  app.put<AliasParams>(toFastifyPath(ROUTES.setModelAlias.path), async (req, reply) => {
    const params = parseAliasParams({ ...req.params });
    if (!params.ok) return reply.code(params.status).send(params.body);
    const body = parseSetAliasRequest(req.body);
    if (!body.ok) return reply.code(body.status).send(body.body);
    const { model_name, alias } = params.value;
    req.audit("model.alias_set", { model_name, alias, version: body.value.version });
    return connectedBus(opts.bus).request(RPC.setModelAlias, { tenant: req.caller.tenant, model_name, alias, version: body.value.version }, traced(req));
  });

  app.delete<AliasParams>(toFastifyPath(ROUTES.deleteModelAlias.path), async (req, reply) => {
    const params = parseAliasParams({ ...req.params });
    if (!params.ok) return reply.code(params.status).send(params.body);
    req.audit("model.alias_deleted", params.value);
    await connectedBus(opts.bus).request(RPC.deleteModelAlias, { tenant: req.caller.tenant, ...params.value }, traced(req));
    return reply.code(204).send();
  });
}
