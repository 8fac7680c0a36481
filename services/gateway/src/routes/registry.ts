import type { FastifyInstance } from "fastify";
import { RPC, ROUTES, parseRegisterRequest, toFastifyPath, type RegisterResponse } from "@asgard/contracts";
import { connectedBus, type BusRef } from "../bus-ref.js";
import { traced } from "../trace.js";

/**
 * `POST /mlops/registry` → 201 with the new, READY version of the caller's tenant's model,
 * from a run of that tenant (another tenant's run is as unknown as a missing one). Validation is the contract's
 * (`parseRegisterRequest`: unknown fields become warnings); the registry service resolves the
 * run's model, registers it and waits for READY. Its coded errors become statuses in the
 * error handler: unknown run 404, no logged model 422, MLflow unreachable 503 + Retry-After.
 */
export function registryRoutes(app: FastifyInstance, opts: { bus: BusRef }): void {
  app.post(toFastifyPath(ROUTES.registerModel.path), async (req, reply) => {
    const parsed = parseRegisterRequest(req.body);
    if (!parsed.ok) return reply.code(parsed.status).send(parsed.body);
    const { model_name, run_id, description, tags } = parsed.value;
    const version = await connectedBus(opts.bus).request(RPC.registerModel, { tenant: req.caller.tenant, model_name, run_id, description, tags }, traced(req));
    req.audit("model.version_registered", { model_name: version.model_name, version: version.version, run_id: version.run_id });
    const body: RegisterResponse = { ...version, warnings: parsed.warnings };
    return reply.code(201).send(body);
  });
}
