import { BusError, type RpcHandler } from "@asgard/bus";
import type { JobRef, RPC } from "@asgard/contracts";
import { findJob, listJobs } from "../db/jobs.js";
import type { JobRow } from "../db/schema.js";
import { readLogPage } from "../db/logs.js";
import { fitPage } from "../domain/log-plan.js";
import { toJobSummary, toLogLine } from "../domain/mapper.js";
import { decodePageToken, encodePageToken } from "../domain/page-token.js";
import { canSee, listFilterProblem } from "../domain/scope.js";
import { isTerminal } from "../domain/state-machine.js";
import type { SchedulerContext } from "../context.js";
import { jobNotFound } from "./errors.js";
import { jobView, readScript } from "./job-view.js";

/** The job the caller refers to; another tenant's job is NOT_FOUND, word for word as a missing one. */
async function visibleJob(ctx: SchedulerContext, ref: JobRef): Promise<JobRow> {
  const row = await findJob(ctx.db, ref.job_id);
  if (!row || !canSee(ref.scope, row)) throw jobNotFound(ref.job_id);
  return row;
}

export function getJobHandler(ctx: SchedulerContext): RpcHandler<typeof RPC.getJob> {
  return async (req) => jobView(ctx, await visibleJob(ctx, req));
}

export function listJobsHandler(ctx: SchedulerContext): RpcHandler<typeof RPC.listJobs> {
  return async (req) => {
    const after = req.page_token === undefined ? null : decodePageToken(req.page_token);
    if (req.page_token !== undefined && after === null) {
      throw new BusError("VALIDATION_FAILED", "page_token is not a token this list returned", {
        issues: [{ field: "page_token", message: "pass the next_page_token of a previous page unchanged, or leave it out" }],
      });
    }
    const problem = listFilterProblem(req.scope, req.tenant);
    if (problem) throw new BusError("FORBIDDEN", problem, { issues: [{ field: "tenant", message: problem }] });
    // One extra row says whether another page exists.
    const rows = await listJobs(ctx.db, {
      scope: req.scope,
      tenant: req.tenant,
      status: req.status,
      experimentName: req.experiment_name,
      after,
      limit: req.limit + 1,
    });
    const page = rows.slice(0, req.limit);
    const last = page[page.length - 1];
    return {
      jobs: page.map(toJobSummary),
      next_page_token:
        rows.length > req.limit && last ? encodePageToken({ createdAt: last.created_at, jobId: last.job_id }) : null,
    };
  };
}

export function getJobScriptHandler(ctx: SchedulerContext): RpcHandler<typeof RPC.getJobScript> {
  return async (req) => {
    const row = await visibleJob(ctx, req);
    return {
      job_id: row.job_id,
      script_name: row.script_name,
      script_b64: Buffer.from(await readScript(ctx, row), "utf8").toString("base64"),
      sha256: row.script_sha256,
      bytes: row.script_bytes,
    };
  };
}

export function getJobLogsHandler(ctx: SchedulerContext): RpcHandler<typeof RPC.getJobLogs> {
  return async (req) => {
    // The job first: once it reads terminal, every line it will ever have is stored.
    const row = await visibleJob(ctx, req);
    const rows = await readLogPage(ctx.db, req.job_id, req.offset, req.limit);
    const lines = fitPage(rows.map(toLogLine), ctx.config.logReplyBytes);
    const nextOffset = req.offset + lines.length;
    return {
      job_id: row.job_id,
      attempt: row.attempt,
      offset: req.offset,
      next_offset: nextOffset,
      lines,
      status: row.status,
      complete: isTerminal(row.status) && nextOffset >= row.log_lines,
    };
  };
}
