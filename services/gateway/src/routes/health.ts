import type { FastifyInstance } from "fastify";
import type { BusRef } from "../bus-ref.js";
import type { Registry } from "@asgard/telemetry";
import type { KeyStoreRef } from "../auth/key-store.js";
import type { StatusCache } from "../status-cache.js";

export function healthRoutes(app: FastifyInstance, opts: { bus: BusRef; statusCache: StatusCache; metrics: Registry; keys?: KeyStoreRef }): void {
  app.get("/healthz", async () => ({ status: "ok" }));

  // Ready once we hold a snapshot, NATS and the API keys: after that, MLflow's state never matters here.
  app.get("/readyz", async (_req, reply) => {
    const checks = {
      nats: opts.bus.current?.isConnected() ?? false,
      status_snapshot: opts.statusCache.current() !== null,
      ...(opts.keys ? { api_keys: opts.keys.current !== null } : {}),
    };
    const ready = Object.values(checks).every(Boolean);
    return reply.code(ready ? 200 : 503).send({ status: ready ? "ready" : "not_ready", checks });
  });

  app.get("/metrics", async (_req, reply) => {
    return reply.type(opts.metrics.contentType).send(await opts.metrics.metrics());
  });
}
