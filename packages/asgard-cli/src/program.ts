import { Command, Option } from "commander";
import { trainCommand } from "./commands/train.js";
import { jobsCommand } from "./commands/jobs.js";
import { keysCommand } from "./commands/keys.js";
import { modelsCommand } from "./commands/models.js";
import { predictCommand } from "./commands/predict.js";
import { statusCommand } from "./commands/status.js";
import { completionScript } from "./completion.js";
import { DEFAULT_URL, type Context } from "./context.js";

const EPILOG = `
Environment:
  ASGARD_URL       the gateway (default ${DEFAULT_URL}, where \`npm start\` serves it)
  ASGARD_API_KEY   an API key, sent as Authorization: Bearer (not needed in local mode)
  NO_COLOR         no colours even on a terminal

Exit codes: 0 success (a followed job completed), 1 a request or the job failed,
2 wrong arguments or input, 3 the job was cancelled, 130 stopped following (Ctrl-C).

Example (the seed workflow):
  asgard train train.py -r scikit-learn --experiment my-experiment --model my-model --follow
  asgard models ls
  asgard predict my-model --json '{"inputs": {"f0": [0.1], "f1": [1.2]}}'`;

/** The whole command tree; commands reach the world only through `ctx`. */
export function createProgram(ctx: Context, version: string): Command {
  const program = new Command("asgard")
    .description("Train, follow, register and query models on an Asgard platform, over its HTTP API.")
    .version(version, "-V, --version")
    .addOption(new Option("--url <url>", "the Asgard API (gateway) to talk to").env("ASGARD_URL").default(DEFAULT_URL))
    .addOption(new Option("--api-key <key>", "API key (prefer the environment variable: flags show in `ps`)").env("ASGARD_API_KEY"))
    .addOption(new Option("-o, --output <format>", "table (people) or json (scripts)").choices(["table", "json"]).default("table"))
    .addHelpText("after", EPILOG);

  for (const command of [trainCommand(ctx), jobsCommand(ctx), modelsCommand(ctx), predictCommand(ctx), statusCommand(ctx), keysCommand(ctx)]) {
    program.addCommand(command);
  }
  program
    .command("completion")
    .description("print a shell completion script: eval \"$(asgard completion bash)\"")
    .argument("<shell>", "bash or zsh")
    .action((shell: string) => {
      ctx.io.stdout.write(completionScript(program, shell));
    });
  configureAll(program, ctx);
  return program;
}

/** Commander copies settings only to subcommands made after them: set them on every level. */
function configureAll(cmd: Command, ctx: Context): void {
  cmd
    .exitOverride()
    .showSuggestionAfterError()
    .configureOutput({ writeOut: (s) => ctx.io.stdout.write(s), writeErr: (s) => ctx.io.stderr.write(s) });
  for (const sub of cmd.commands) configureAll(sub, ctx);
}
