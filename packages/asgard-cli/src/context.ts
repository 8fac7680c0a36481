import type { Command } from "commander";
import { createClient, type AsgardClient } from "./client.js";
import type { Interrupts } from "./follow.js";
import type { Io, OutputFormat } from "./output.js";

/** The API the CLI talks to when neither ASGARD_URL nor --url says otherwise: `npm start`'s gateway. */
export const DEFAULT_URL = "http://127.0.0.1:8000";

/** Options every command accepts (declared on the program). */
export interface GlobalOptions {
  url: string;
  apiKey?: string;
  output: OutputFormat;
}

/** What commands need from the outside world; `main.ts` passes the process's. */
export interface Context {
  io: Io;
  interrupts: Interrupts;
  /** A y/N question on the terminal; null when there is none, on a second Ctrl-C, or once `signal` aborts. */
  ask: (question: string, signal: AbortSignal) => Promise<boolean | null>;
  /** Set by a command whose outcome is not plain success (a failed job). */
  exitCode: number;
}

export function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals<GlobalOptions>();
}

export function clientFor(cmd: Command): AsgardClient {
  const { url, apiKey } = globals(cmd);
  return createClient({ url, apiKey: apiKey || undefined });
}
