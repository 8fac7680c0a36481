import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream } from "node:fs";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Resolves once the process has exited. */
  readonly exited: Promise<number | null>;
  /** SIGTERM to the whole process group, SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export interface SpawnOptions {
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Where stdout/stderr go; a file path, or "inherit". Default: discarded. */
  logFile?: string | "inherit";
  /** Called with each output line (in addition to `logFile`). */
  onLine?: (line: string) => void;
}

const live = new Set<ManagedProcess>();
let exitHookInstalled = false;

/**
 * Kills every process group we started when this process exits, so an aborted test run
 * or a crashed orchestrator leaves nothing behind.
 */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const p of live) {
      try {
        process.kill(-p.pid, "SIGKILL");
      } catch {
        /* already gone */
      }
    }
  });
}

/** Starts a process in its own process group and tracks it until it exits. */
export function spawnManaged(options: SpawnOptions): ManagedProcess {
  installExitHook();
  const inherit = options.logFile === "inherit";
  const child = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    detached: true,
    stdio: inherit ? "inherit" : ["ignore", "pipe", "pipe"],
  });
  if (!inherit && options.logFile) {
    const out = createWriteStream(options.logFile, { flags: "a" });
    child.stdout?.pipe(out);
    child.stderr?.pipe(out);
  }
  if (!inherit && options.onLine) {
    for (const stream of [child.stdout, child.stderr]) {
      if (stream) createInterface({ input: stream }).on("line", options.onLine);
    }
  } else if (!inherit && !options.logFile) {
    child.stdout?.resume();
    child.stderr?.resume();
  }
  if (child.pid === undefined) {
    throw new Error(`${options.name}: could not start ${options.command}`);
  }
  const pid = child.pid;
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", (code) => resolve(code));
    child.once("error", () => resolve(null));
  });
  const managed: ManagedProcess = {
    name: options.name,
    pid,
    child,
    exited,
    async stop(graceMs = 5_000) {
      if (child.exitCode !== null || child.signalCode !== null) {
        live.delete(managed);
        return;
      }
      signalGroup(pid, "SIGTERM");
      const done = await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)]);
      if (!done) {
        signalGroup(pid, "SIGKILL");
        await exited;
      }
      // Children of the leader may outlive it; the group is ours, so clear it.
      signalGroup(pid, "SIGKILL");
      live.delete(managed);
    },
  };
  live.add(managed);
  void exited.then(() => live.delete(managed));
  return managed;
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    /* the group is already gone */
  }
}

/**
 * Polls `probe` until it resolves true, the process exits, or `timeoutMs` passes.
 * The error names the process so a failed start-up says what did not come up.
 */
export async function waitUntilReady(
  proc: ManagedProcess | undefined,
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs: number,
  intervalMs = 200,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitCode: number | null | undefined;
  void proc?.exited.then((code) => {
    exitCode = code;
  });
  for (;;) {
    if (exitCode !== undefined) {
      throw new Error(`${what} exited with code ${exitCode} before it became ready`);
    }
    try {
      if (await probe()) return;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error(`${what} was not ready within ${timeoutMs} ms`);
    await sleep(intervalMs);
  }
}

/** Runs a command to completion; rejects with its output when it fails. */
export function run(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
      timeout: options.timeoutMs,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.once("error", reject);
    child.once("close", (code, signal) => {
      if (code === 0) resolve({ stdout, stderr });
      else
        reject(
          new Error(
            `${command} ${args.join(" ")} failed (${signal ?? `exit ${code}`}):\n${stderr.slice(-4000) || stdout.slice(-4000)}`,
          ),
        );
    });
  });
}
