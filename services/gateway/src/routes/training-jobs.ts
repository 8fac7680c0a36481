import type { FastifyInstance } from "fastify";
import { RPC, ROUTES, parseJobListQuery, toFastifyPath } from "@asgard/contracts";
import { connectedBus, type BusRef } from "../bus-ref.js";
import { traced } from "../trace.js";
import { inlineDisposition } from "../content-disposition.js";
import { jobRef, jobScope } from "../job-ref.js";
import { queryObject } from "../query-object.js";
import { HttpError } from "../http-errors.js";

type JobParams = { Params: { job_id: string } };

/**
 * Reading and cancelling training jobs. The job-scheduler owns them; each route is one
 * request to it, in the caller's scope (another tenant's job is its NOT_FOUND), and its coded
 * errors (NOT_FOUND, CONFLICT, UNAVAILABLE) become HTTP statuses in the error handler.
 */
export function trainingJobRoutes(app: FastifyInstance, opts: { bus: BusRef }): void {
  app.get<JobParams>(toFastifyPath(ROUTES.getJob.path), async (req) => {
    return connectedBus(opts.bus).request(RPC.getJob, jobRef(req, req.params.job_id), traced(req));
  });

  app.get(toFastifyPath(ROUTES.listJobs.path), async (req, reply) => {
    const query = parseJobListQuery(queryObject(req.query));
    if (!query.ok) return reply.code(query.status).send(query.body);
    return connectedBus(opts.bus).request(RPC.listJobs, { ...query.value, scope: jobScope(req.caller) }, traced(req));
  });

  app.delete<JobParams>(toFastifyPath(ROUTES.cancelJob.path), async (req, reply) => {
    const job = await connectedBus(opts.bus).request(RPC.cancelJob, jobRef(req, req.params.job_id), traced(req));
    req.audit("job.cancelled", { job_id: job.job_id });
    // A queued job is cancelled at once (200); a running one only once its runner stopped it (202).
    return reply.code(job.status === "cancelled" ? 200 : 202).send(job);
  });

  // The scheduler says whose job it is and which run it made; the registry, which owns MLflow
  // reads, reads that run in the job's tenant's workspace.
  app.get<JobParams>(toFastifyPath(ROUTES.getJobRun.path), async (req) => {
    const bus = connectedBus(opts.bus);
    const job = await bus.request(RPC.getJob, jobRef(req, req.params.job_id), traced(req));
    if (job.run_id === null) {
      throw new HttpError("NOT_FOUND", `training job ${job.job_id} has no MLflow run yet (it is ${job.status}); its script makes one when it starts`);
    }
    return bus.request(RPC.getRun, { tenant: job.tenant, run_id: job.run_id, job_id: job.job_id }, traced(req));
  });

  app.get<JobParams>(toFastifyPath(ROUTES.getJobScript.path), async (req, reply) => {
    const script = await connectedBus(opts.bus).request(RPC.getJobScript, jobRef(req, req.params.job_id), traced(req));
    return reply
      .code(200)
      .type("text/x-python; charset=utf-8")
      .header("content-disposition", inlineDisposition(script.script_name))
      .header("x-script-sha256", script.sha256)
      .send(Buffer.from(script.script_b64, "base64").toString("utf8"));
  });
}
