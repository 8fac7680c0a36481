import { basename } from "node:path";
import { Command, Option } from "commander";
import { clientFor, globals, type Context } from "../context.js";
import { collect, keyValues, positiveInt, readInput, requirementLines } from "../files.js";
import { followJob } from "../follow.js";
import { details, writeJson } from "../output.js";
import type { UploadBody } from "../client.js";

interface TrainOptions {
  requirement: string[];
  requirementsFile?: string;
  experiment: string;
  model: string;
  env: string[];
  timeout?: number;
  follow?: boolean;
}

export function trainCommand(ctx: Context): Command {
  return new Command("train")
    .description("upload a Python training script as a job (with --follow: stream its output until it ends)")
    .argument("<file>", "the training script (.py)")
    .option("-r, --requirement <req>", "a package the script needs, as pip writes it (repeatable), e.g. -r scikit-learn -r 'pandas>=2'", collect, [])
    .option("--requirements-file <file>", "a requirements.txt to read packages from (package lines only)")
    .requiredOption("--experiment <name>", "MLflow experiment of the run (created if missing)")
    .requiredOption("--model <name>", "registered-model name the trained model is registered under")
    .option("--env <name=value>", "an environment variable for the script (repeatable)", collect, [])
    .addOption(new Option("--timeout <seconds>", "seconds the script may run (60..3600; the API's default is 300)").argParser(positiveInt("--timeout")))
    .option("-f, --follow", "stream the job's output and wait for it to end; the exit code says how it ended")
    .action(async (file: string, opts: TrainOptions, cmd: Command) => {
      const client = clientFor(cmd);
      const script = await readInput(file, ctx.io.stdin, "training script");
      const fromFile = opts.requirementsFile ? requirementLines((await readInput(opts.requirementsFile, ctx.io.stdin, "requirements file")).toString("utf8")) : [];
      const body: UploadBody = {
        script_name: file === "-" ? "train.py" : basename(file),
        script_content: script.toString("base64"),
        experiment_name: opts.experiment,
        model_name: opts.model,
        requirements: [...fromFile, ...opts.requirement],
      };
      if (opts.env.length > 0) body.environment_vars = keyValues(opts.env, "--env");
      if (opts.timeout !== undefined) body.timeout = opts.timeout;
      const job = await client.upload(body);
      const json = globals(cmd).output === "json";
      for (const warning of job.warnings ?? []) ctx.io.stderr.write(`warning: ${warning}\n`);
      if (opts.follow) {
        if (!json) ctx.io.stderr.write(`Job ${job.job_id} queued (experiment ${job.experiment_name}, model ${job.model_name}).\n`);
        ctx.exitCode = await followJob(client, ctx.io, job.job_id, { json, interrupts: ctx.interrupts, ask: ctx.ask });
        return;
      }
      if (json) return writeJson(ctx.io, job);
      ctx.io.stdout.write(
        details(ctx.io, [
          ["job", job.job_id],
          ["status", job.status],
          ["experiment", job.experiment_name],
          ["model", job.model_name],
        ]) + `Follow it: asgard jobs logs ${job.job_id} --follow\n`,
      );
    });
}
