import { RPC, type RpcDef } from "@asgard/contracts";
import type { RpcHandler } from "@asgard/bus";
import type { SchedulerContext } from "../context.js";
import { cancelJobHandler } from "./cancel-job.js";
import { claimJobHandler } from "./claim-job.js";
import { createJobHandler } from "./create-job.js";
import { guarded } from "./errors.js";
import { getJobHandler, getJobLogsHandler, getJobScriptHandler, listJobsHandler } from "./read-jobs.js";
import { reportProgressHandler } from "./report-progress.js";

/** Serves every job endpoint of the scheduler; returns their stoppers. */
export function serveJobEndpoints(ctx: SchedulerContext): Array<{ stop(): Promise<void> }> {
  const serve = <D extends RpcDef>(def: D, handler: RpcHandler<D>) => ctx.bus.serve(def, guarded(handler));
  return [
    serve(RPC.createJob, createJobHandler(ctx)),
    serve(RPC.getJob, getJobHandler(ctx)),
    serve(RPC.listJobs, listJobsHandler(ctx)),
    serve(RPC.cancelJob, cancelJobHandler(ctx)),
    serve(RPC.getJobScript, getJobScriptHandler(ctx)),
    serve(RPC.getJobLogs, getJobLogsHandler(ctx)),
    serve(RPC.claimJob, claimJobHandler(ctx)),
    serve(RPC.reportProgress, reportProgressHandler(ctx)),
  ];
}
