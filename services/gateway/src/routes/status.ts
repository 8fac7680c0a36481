import type { FastifyInstance } from "fastify";
import type { StatusCache } from "../status-cache.js";
import { HttpError } from "../http-errors.js";

export function statusRoutes(app: FastifyInstance, opts: { statusCache: StatusCache; retryAfterSeconds: number }): void {
  app.get("/mlops/status", async (_req, reply) => {
    const cached = opts.statusCache.current();
    if (!cached) {
      throw new HttpError("UNAVAILABLE", "no status snapshot yet: the status service has not reported; retry shortly", {
        retryAfterSeconds: opts.retryAfterSeconds,
      });
    }
    return reply.type("application/json; charset=utf-8").send(cached.json);
  });
}
