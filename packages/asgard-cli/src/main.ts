import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import type { Context } from "./context.js";
import { run } from "./run.js";

/** Set by the bundle build; read from package.json when run from the sources. */
declare const ASGARD_CLI_VERSION: string | undefined;

const version =
  typeof ASGARD_CLI_VERSION === "string" ? ASGARD_CLI_VERSION : (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;

function ask(question: string, signal: AbortSignal): Promise<boolean | null> {
  if (!process.stdin.isTTY || !process.stderr.isTTY) return Promise.resolve(null);
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr });
    const done = (answer: boolean | null) => {
      signal.removeEventListener("abort", abort);
      rl.close();
      resolve(answer);
    };
    const abort = () => done(null);
    signal.addEventListener("abort", abort, { once: true });
    rl.on("SIGINT", () => {
      process.stderr.write("\n");
      done(null);
    });
    rl.question(question, (answer) => done(/^y(es)?$/i.test(answer.trim())));
  });
}

// A reader that goes away first (`asgard jobs ls | head`) is not a failure of ours: stop quietly
// instead of dying on EPIPE with a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
    process.exit(process.exitCode ?? 0);
  });
}

const ctx: Context = { io: { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env }, interrupts: process, ask, exitCode: 0 };
const exitCode = await run(process.argv.slice(2), ctx, version);
// The outcome is known now: a Ctrl-C while open sockets and timers wind down must not turn
// it into "killed by SIGINT" (130).
process.on("SIGINT", () => {});
process.exitCode = exitCode;
