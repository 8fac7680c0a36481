import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, existsSync } from "node:fs";
import { join } from "node:path";
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
  /** Makes the process die with this one however this one ends, SIGKILL included (see `tiedToParent`). */
  dieWithParent?: DeathTie;
}

/**
 * How a child is tied to its parent's life. `signal` is what the kernel sends it the moment
 * the parent dies (PR_SET_PDEATHSIG, set by util-linux `setpriv --pdeathsig` just before
 * the exec). `tree` also gives it a PID namespace of its own (util-linux `unshare --pid
 * --fork --kill-child`; root only), so its own children die with it too: when the first
 * process of a PID namespace dies, the kernel kills every other one.
 */
export interface DeathTie {
  signal: "SIGTERM" | "SIGKILL";
  tree?: boolean;
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
  const [command, args] = options.dieWithParent
    ? tiedToParent(options.command, options.args, options.dieWithParent)
    : [options.command, options.args];
  const child = spawn(command, args, {
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

/**
 * The command line that ties `command` to this process (see DeathTie). Why the kernel
 * rather than a watchdog of ours: PDEATHSIG and PID namespaces act whatever kills the
 * parent, even SIGKILL, with nothing of ours left running to notice. Where util-linux is
 * missing the command runs as is, and only the exit hook and the services' own parent
 * watch remain.
 */
export function tiedToParent(command: string, args: string[], tie: DeathTie): [string, string[]] {
  const setpriv = onPath("setpriv");
  if (!setpriv) return [command, args];
  const unshare = tie.tree && process.getuid?.() === 0 ? onPath("unshare") : null;
  if (unshare) {
    // unshare ignores SIGTERM while it waits, so it is tied with SIGKILL; --kill-child then
    // kills the namespace's first process, and with it the whole namespace.
    return [setpriv, ["--pdeathsig", "KILL", "--", unshare, "--pid", "--fork", "--kill-child=SIGKILL", "--", command, ...args]];
  }
  return [setpriv, ["--pdeathsig", tie.signal.replace(/^SIG/, ""), "--", command, ...args]];
}

const found = new Map<string, string | null>();
function onPath(name: string): string | null {
  if (!found.has(name)) {
    const dirs = [...(process.env.PATH ?? "").split(":"), "/usr/bin", "/bin"].filter(Boolean);
    found.set(name, dirs.map((d) => join(d, name)).find((p) => existsSync(p)) ?? null);
  }
  return found.get(name) ?? null;
}

/** SIGKILL to a whole process group, e.g. what a dead leader left running. */
export function killGroup(pgid: number): void {
  signalGroup(pgid, "SIGKILL");
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
