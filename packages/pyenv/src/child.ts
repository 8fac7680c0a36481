import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { cancelled } from "./errors.js";

/** How much of stderr is kept for error messages and `PyEnvError.output`. */
const TAIL_CHARS = 8_000;

export interface ChildResult {
  code: number | null;
  stdout: string;
  /** The last {@link TAIL_CHARS} characters of stderr. */
  stderr: string;
}

export interface ChildOptions {
  /** The complete environment of the child (see `buildChildEnv`); never defaulted to process.env. */
  env: Record<string, string>;
  /** Written to the child's stdin, which is then closed; stdin is /dev/null without it. */
  stdin?: string;
  /** Each line of stdout and stderr as it arrives. */
  onLine?: (line: string) => void;
  /** False when stdout is data rather than progress (the lock `uv pip compile` prints). Default true. */
  logStdout?: boolean;
  /** Kills the child's whole process group and rejects with CANCELLED. */
  signal?: AbortSignal;
  /** Names the step in the CANCELLED message. */
  what: string;
}

/**
 * Runs a command to completion and resolves with its exit code and output, whatever the
 * code. The child leads its own process group so an abort also kills what it started
 * (uv runs build backends as children).
 */
export function runChild(command: string, args: readonly string[], opts: ChildOptions): Promise<ChildResult> {
  if (opts.signal?.aborted) return Promise.reject(cancelled(opts.what));
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: opts.env,
      detached: true,
      stdio: [opts.stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let aborted = false;
    const kill = () => {
      aborted = true;
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        /* the group is already gone */
      }
    };
    opts.signal?.addEventListener("abort", kill, { once: true });

    // Both are pipes (see stdio above); the union type of spawn's result cannot say so.
    const out = child.stdout as Readable;
    const err = child.stderr as Readable;
    out.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    err.setEncoding("utf8").on("data", (d: string) => {
      stderr = (stderr + d).slice(-TAIL_CHARS);
    });
    if (opts.onLine) {
      const onLine = opts.onLine;
      const safe = (line: string) => {
        try {
          onLine(line);
        } catch {
          /* a failing log sink must not break the build */
        }
      };
      if (opts.logStdout !== false) createInterface({ input: out }).on("line", safe);
      createInterface({ input: err }).on("line", safe);
    }
    if (opts.stdin !== undefined && child.stdin) {
      // EPIPE when the child exits before reading all of stdin; its exit code tells the story.
      child.stdin.on("error", () => undefined);
      child.stdin.end(opts.stdin);
    }
    child.once("error", (error) => {
      opts.signal?.removeEventListener("abort", kill);
      reject(error);
    });
    child.once("close", (code) => {
      opts.signal?.removeEventListener("abort", kill);
      // Signal the group once more: a grandchild may have been forked while the leader died.
      if (aborted) {
        kill();
        reject(cancelled(opts.what));
      } else resolve({ code, stdout, stderr });
    });
  });
}
