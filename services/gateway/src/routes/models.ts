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
type AliasParams = { Params: { model_name: string; alias: string } };

/**
 * Reading registered models and moving their aliases. The registry service answers lists from
 * its cache (never MLflow on the request path); alias changes go to MLflow and are announced.
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
      return reply.type("application/json; charset=utf-8").send(await list.allModelsJson(bus, traced(req)));
    }
    const page = await bus.request(RPC.listModels, { max_results: max_results ?? null, page_token: page_token ?? null }, traced(req));
    if (page.next_page_token !== null) void reply.header(NEXT_PAGE_TOKEN_HEADER, page.next_page_token);
    return page.models;
  });

  app.get<ModelParams>(toFastifyPath(ROUTES.getModel.path), async (req) => {
    return connectedBus(opts.bus).request(RPC.getModel, { model_name: req.params.model_name }, traced(req));
  });

  // Path parameters, like the query, come on a prototype of Fastify's own: parsers get a plain copy.
  app.put<AliasParams>(toFastifyPath(ROUTES.setModelAlias.path), async (req, reply) => {
    const params = parseAliasParams({ ...req.params });
    if (!params.ok) return reply.code(params.status).send(params.body);
    const body = parseSetAliasRequest(req.body);
    if (!body.ok) return reply.code(body.status).send(body.body);
    const { model_name, alias } = params.value;
    return connectedBus(opts.bus).request(RPC.setModelAlias, { model_name, alias, version: body.value.version }, traced(req));
  });

  app.delete<AliasParams>(toFastifyPath(ROUTES.deleteModelAlias.path), async (req, reply) => {
    const params = parseAliasParams({ ...req.params });
    if (!params.ok) return reply.code(params.status).send(params.body);
    await connectedBus(opts.bus).request(RPC.deleteModelAlias, params.value, traced(req));
    return reply.code(204).send();
  });
}
