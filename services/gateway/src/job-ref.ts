import { JobRefSchema } from "@asgard/contracts";
import { HttpError } from "./http-errors.js";

/**
 * The job id of a path as the scheduler's endpoints take it. Any string is a possible id;
 * one the request schema cannot carry (empty, too long) names no job, so it is a 404 here
 * rather than a validation error — the contract says malformed ids are 404.
 */
export function jobRef(jobId: string): { job_id: string } {
  const ref = { job_id: jobId };
  if (!JobRefSchema.safeParse(ref).success) {
    const shown = jobId.length > 60 ? `${jobId.slice(0, 60)}…` : jobId;
    throw new HttpError("NOT_FOUND", `no training job has the id ${JSON.stringify(shown)}`);
  }
  return ref;
}
