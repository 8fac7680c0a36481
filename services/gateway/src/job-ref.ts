import type { FastifyRequest } from "fastify";
import { JobIdSchema, type Caller, type JobRef, type JobScope } from "@asgard/contracts";
import { HttpError } from "./http-errors.js";

/** Whose request it is, as the scheduler's endpoints take it: the caller's tenant and reach. */
export function jobScope(caller: Caller): JobScope {
  return { tenant: caller.tenant, admin: caller.admin };
}

/**
 * The job a path names, as the caller refers to it. Any string is a possible id; one the
 * request schema cannot carry (empty, too long) names no job, so it is a 404 here rather
 * than a validation error — the contract says malformed ids are 404.
 */
export function jobRef(req: FastifyRequest, jobId: string): JobRef {
  if (!JobIdSchema.safeParse(jobId).success) {
    const shown = jobId.length > 60 ? `${jobId.slice(0, 60)}…` : jobId;
    throw new HttpError("NOT_FOUND", `no training job has the id ${JSON.stringify(shown)}`);
  }
  return { job_id: jobId, scope: jobScope(req.caller) };
}
