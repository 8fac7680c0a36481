import { CommanderError } from "commander";
import type { Context } from "./context.js";
import { describeError, EXIT } from "./errors.js";
import { colours } from "./output.js";
import { createProgram } from "./program.js";

/** Runs one command line; answers the exit code. Errors are printed as messages, never stacks. */
export async function run(argv: string[], ctx: Context, version: string): Promise<number> {
  const program = createProgram(ctx, version);
  try {
    await program.parseAsync(argv, { from: "user" });
    return ctx.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander printed its own message (or the help, or the version).
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    const { message, exitCode } = describeError(error);
    ctx.io.stderr.write(`${colours(ctx.io.stderr, ctx.io.env).red("error:")} ${message}\n`);
    if (ctx.io.env.ASGARD_DEBUG && error instanceof Error) ctx.io.stderr.write(`${error.stack}\n`);
    return exitCode;
  }
}
