import type { FastifyInstance } from "fastify";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import { buildAsyncApiDocument } from "@asgard/contracts";

/**
 * `/openapi.json` is generated from the contracts' route catalog; `/docs` is Swagger UI over it.
 * @fastify/swagger runs in static mode with that document, so the UI shows exactly the
 * contract rather than a second description inferred from the routes. `/asyncapi.json` is
 * the AsyncAPI 3 document of the public events, generated from the contracts' event catalog.
 */
export async function docsRoutes(app: FastifyInstance, opts: { document: object }): Promise<void> {
  const json = JSON.stringify(opts.document);
  const asyncapi = JSON.stringify(buildAsyncApiDocument());
  await app.register(swagger, { mode: "static", specification: { document: opts.document as never } });
  await app.register(swaggerUi, { routePrefix: "/docs" });
  app.get("/openapi.json", { schema: { hide: true } }, async (_req, reply) =>
    reply.type("application/json; charset=utf-8").send(json),
  );
  app.get("/asyncapi.json", { schema: { hide: true } }, async (_req, reply) =>
    reply.type("application/json; charset=utf-8").send(asyncapi),
  );
}
