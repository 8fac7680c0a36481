import { Command, Option } from "commander";
import type { Job } from "@asgard/contracts";
import { clientFor, globals, type Context } from "../context.js";
import { positiveInt } from "../files.js";
import { followJob } from "../follow.js";
import { colours, dash, details, formatDuration, formatTime, statusColour, table, writeJson, type Io } from "../output.js";

const STATUSES = ["queued", "running", "completed", "failed", "cancelled"];

export function jobsCommand(ctx: Context): Command {
  const jobs = new Command("jobs").description("list, inspect, follow and cancel training jobs");

  jobs
    .command("ls")
    .alias("list")
    .description("training jobs, newest first")
    .addOption(new Option("--status <status>", "only jobs with this status").choices(STATUSES))
    .option("--experiment <name>", "only jobs of this experiment")
    .addOption(new Option("--limit <n>", "at most this many jobs (1..200)").argParser(positiveInt("--limit")).default(50))
    .action(async (opts: { status?: string; experiment?: string; limit: number }, cmd: Command) => {
      const page = await clientFor(cmd).listJobs({ status: opts.status, experiment_name: opts.experiment, limit: opts.limit });
      if (globals(cmd).output === "json") return writeJson(ctx.io, page);
      const c = colours(ctx.io.stdout, ctx.io.env);
      const rows = page.jobs.map((j) => [
        j.job_id,
        statusColour(c, j.status === "running" && j.phase ? phaseWord(j.phase) : j.status),
        j.experiment_name,
        j.model_name,
        dash(j.model_version),
        formatTime(j.created_at),
        j.duration_seconds === null ? "-" : formatDuration(j.duration_seconds),
      ]);
      ctx.io.stdout.write(table(ctx.io, ["JOB", "STATUS", "EXPERIMENT", "MODEL", "VERSION", "CREATED", "TOOK"], rows));
      if (page.next_page_token && ctx.io.stdout.isTTY) ctx.io.stderr.write(`(more jobs: raise --limit or filter with --status/--experiment)\n`);
    });

  jobs
    .command("show")
    .description("one job: status, run, model version, error")
    .argument("<job-id>")
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const job = await clientFor(cmd).getJob(id);
      if (globals(cmd).output === "json") return writeJson(ctx.io, job);
      ctx.io.stdout.write(jobDetails(ctx.io, job));
    });

  jobs
    .command("logs")
    .description("a job's output (with --follow: live, until the job ends)")
    .argument("<job-id>")
    .option("-f, --follow", "stream the output live until the job ends; the exit code says how it ended")
    .action(async (id: string, opts: { follow?: boolean }, cmd: Command) => {
      const client = clientFor(cmd);
      const json = globals(cmd).output === "json";
      if (opts.follow) {
        ctx.exitCode = await followJob(client, ctx.io, id, { json, interrupts: ctx.interrupts, ask: ctx.ask });
        return;
      }
      const job = await client.getJob(id);
      if (json) return writeJson(ctx.io, { job_id: job.job_id, status: job.status, logs: job.logs, logs_truncated: job.logs_truncated });
      ctx.io.stdout.write(job.logs.endsWith("\n") || job.logs === "" ? job.logs : `${job.logs}\n`);
      if (job.logs_truncated) ctx.io.stderr.write(`(output truncated; \`asgard jobs logs ${id} --follow\` streams all of it)\n`);
    });

  jobs
    .command("cancel")
    .description("cancel a queued or running job")
    .argument("<job-id>")
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const job = await clientFor(cmd).cancelJob(id);
      if (globals(cmd).output === "json") return writeJson(ctx.io, job);
      ctx.io.stdout.write(
        job.status === "cancelled" ? `Job ${id} cancelled.\n` : `Cancellation of job ${id} requested; its runner stops it shortly (asgard jobs show ${id}).\n`,
      );
    });

  jobs
    .command("script")
    .description("the exact script a job ran (to stdout)")
    .argument("<job-id>")
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const script = await clientFor(cmd).getScript(id);
      if (globals(cmd).output === "json") return writeJson(ctx.io, { job_id: id, script });
      ctx.io.stdout.write(script);
    });

  return jobs;
}

const phaseWord = (phase: string) => (phase === "building_env" ? "building environment" : phase);

function jobDetails(io: Io, job: Job): string {
  const c = colours(io.stdout, io.env);
  const pairs: [string, string][] = [
    ["job", job.job_id],
    ["status", statusColour(c, job.status) + (job.phase && job.phase !== job.status ? ` (${phaseWord(job.phase)})` : "")],
    ["script", job.script_name],
    ["experiment", job.experiment_name],
    ["model", job.model_name],
    ["model version", dash(job.model_version)],
    ["run", dash(job.run_id)],
    ["requirements", job.requirements.join(" ") || "-"],
    ["timeout", `${job.timeout}s`],
    ["created", formatTime(job.created_at)],
    ["started", formatTime(job.started_at)],
    ["completed", formatTime(job.completed_at)],
    ["took", job.duration_seconds === null ? "-" : formatDuration(job.duration_seconds)],
  ];
  if (job.exit_code !== null) pairs.push(["exit code", String(job.exit_code)]);
  if (job.error) pairs.push(["error", c.red(job.error)]);
  if (job.registration_error) pairs.push(["registration error", c.yellow(job.registration_error)]);
  if (job.cancel_requested && job.status !== "cancelled") pairs.push(["cancel", "requested"]);
  return details(io, pairs);
}
