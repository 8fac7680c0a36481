import type { Job } from "@asgard/contracts";
import { BusError } from "@asgard/bus";
import { readLogTexts } from "../db/logs.js";
import type { JobRow } from "../db/schema.js";
import { joinLogs } from "../domain/log-plan.js";
import { toJob } from "../domain/mapper.js";
import { SCRIPTS_PREFIX, type SchedulerContext } from "../context.js";

/** The job as the API shows it, with its stored logs. Never call inside a job transaction. */
export async function jobView(ctx: SchedulerContext, row: JobRow): Promise<Job> {
  const texts = await readLogTexts(ctx.db, row.job_id);
  return toJob(row, joinLogs(texts, ctx.config.logReplyBytes));
}

/** The stored script of a job. */
export async function readScript(ctx: SchedulerContext, row: Pick<JobRow, "job_id" | "script_sha256">): Promise<string> {
  const bytes = await ctx.blobs.get(`${SCRIPTS_PREFIX}/${row.script_sha256}`);
  if (bytes === null) {
    throw new BusError("INTERNAL", `the script of job ${row.job_id} (sha256 ${row.script_sha256}) is missing from the blob store`);
  }
  return bytes.toString("utf8");
}
