import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { FROM_SOURCES } from "@asgard/test-support";
import { runScript, type RunResult, type RunScriptOptions } from "../src/index.js";

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, "../../..");

export interface Python {
  /** The interpreter binary. */
  executable: string;
  /** Its prefix and base prefix, to bind read-only. */
  prefixes: string[];
}

/** The python3 on PATH, resolved to its real binary and prefixes. */
export function findPython(): Python {
  return pythonAt("python3");
}

/** The interpreter `executable` (a virtualenv's, say), with the prefixes a sandbox must bind. */
export function pythonAt(interpreter: string): Python {
  const out = execFileSync(
    interpreter,
    ["-c", "import sys; print(sys.prefix); print(sys.base_prefix); print(sys.executable)"],
    { encoding: "utf8" },
  );
  const [prefix, basePrefix, executable] = out.trim().split("\n");
  if (!prefix || !basePrefix || !executable) throw new Error(`unexpected python3 output: ${out}`);
  return { executable, prefixes: [...new Set([prefix, basePrefix])] };
}

/** A fresh job directory, removed by `cleanup`. */
export function makeJobDir(): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), "sandbox-job-"));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function uniqueMarker(): string {
  return `sbxmark-${randomBytes(6).toString("hex")}`;
}

export interface Collected {
  result: RunResult;
  stdout: string[];
  stderr: string[];
}

/** runScript, collecting every line. */
export async function collect(opts: Omit<RunScriptOptions, "onLine">): Promise<Collected> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const run = runScript({ ...opts, onLine: (s, l) => (s === "stdout" ? stdout : stderr).push(l) });
  return { result: await run.done, stdout, stderr };
}

/** `ps` lines of every live process whose command line contains `marker`. */
export function processesWith(marker: string): string[] {
  return execFileSync("ps", ["-eo", "pid,stat,args"], { encoding: "utf8" })
    .split("\n")
    .filter((l) => l.includes(marker));
}

/**
 * Polls until no process carries `marker` (a bounded number of polls, never a time limit in
 * an assertion); returns what is left, so the test can show it.
 */
export async function remainingAfterPolls(marker: string, polls = 100): Promise<string[]> {
  let left = processesWith(marker);
  for (let i = 0; i < polls && left.length > 0; i++) {
    await sleep(100);
    left = processesWith(marker);
  }
  return left;
}

/** The fd number at which `leakFd` reaches the runner. */
export const LEAKED_FD = 40;

/**
 * stdio for the child runner; `leakFd` is handed to it as fd 40 without O_CLOEXEC, as a
 * careless supervisor would. (Node marks low inherited fds close-on-exec at start-up, so a
 * leak below ~20 would not show.)
 */
function runnerStdio(leakFd: number | undefined): Array<"ignore" | "pipe" | "inherit" | number> {
  const stdio: Array<"ignore" | "pipe" | "inherit" | number> = ["ignore", "pipe", "inherit"];
  if (leakFd === undefined) return stdio;
  while (stdio.length < LEAKED_FD) stdio.push("ignore");
  stdio[LEAKED_FD] = leakFd;
  return stdio;
}

export interface ChildRunner {
  process: ChildProcess;
  /** Every JSON object the runner reported so far. */
  reports: Array<Record<string, unknown>>;
  /** Resolves with the first report matching `match`, or rejects when the runner exits first. */
  waitFor(match: (r: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  exited: Promise<void>;
}

/** Starts test/fixtures/child-runner.ts (a separate Node process running runScript). */
export function startChildRunner(
  opts: Omit<RunScriptOptions, "onLine" | "signal">,
  spawnOpts: { env?: NodeJS.ProcessEnv; uid?: number; gid?: number; leakFd?: number } = {},
): ChildRunner {
  const child = spawn(
    process.execPath,
    [...FROM_SOURCES, join(here, "fixtures/child-runner.ts"), JSON.stringify(opts)],
    {
      cwd: repoRoot,
      env: spawnOpts.env ?? process.env,
      stdio: runnerStdio(spawnOpts.leakFd),
      ...(spawnOpts.uid === undefined ? {} : { uid: spawnOpts.uid, gid: spawnOpts.gid ?? spawnOpts.uid }),
    },
  );
  const reports: Array<Record<string, unknown>> = [];
  const waiters: Array<{ match: (r: Record<string, unknown>) => boolean; resolve: (r: Record<string, unknown>) => void }> = [];
  createInterface({ input: child.stdout! }).on("line", (line) => {
    const report = JSON.parse(line) as Record<string, unknown>;
    reports.push(report);
    for (const w of waiters.filter((w) => w.match(report))) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(report);
    }
  });
  const exited = new Promise<void>((res) => child.once("close", () => res()));
  return {
    process: child,
    reports,
    exited,
    waitFor(match) {
      const seen = reports.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((res, rej) => {
        waiters.push({ match, resolve: res });
        void exited.then(() => rej(new Error(`child runner exited; reports: ${JSON.stringify(reports)}`)));
      });
    },
  };
}
