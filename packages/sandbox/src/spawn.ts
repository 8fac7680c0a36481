import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { closeSync, lchownSync, openSync, readdirSync, realpathSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";
import { assertSandboxPath, buildBwrapArgs, encodeArgs, type SandboxIdentity } from "./bwrap-args.js";
import { scriptEnvironment } from "./environment.js";
import { SandboxError } from "./errors.js";
import { inheritableFds, stdioCovering, type StdioEntry } from "./fds.js";
import { describeHost, findExecutable, findSystemExecutable, runningAsRoot } from "./host.js";
import { pidNamespaceLink, signalGroup, signalNamespace, signalPid } from "./kill.js";
import { LineSplitter } from "./lines.js";

/**
 * - `bwrap` (default): bubblewrap sandbox — own PID, IPC and UTS namespaces (and network when
 *   `network: false`), a minimal read-only root, the script as `uid`/`gid`. Everything the
 *   script starts, `setsid` daemons included, dies with it.
 * - `process-group`: no sandbox, for machines without bubblewrap and only when the operator
 *   opts in. The script runs in its own process group, as `uid`/`gid` when the runner is
 *   root (otherwise as the runner's own user, so it can read the runner's
 *   `/proc/<pid>/environ`). It sees the host's whole filesystem, a double-forked `setsid`
 *   daemon escapes the group and outlives the job, and a SIGKILLed runner leaves the script
 *   running.
 */
export type SandboxMode = "bwrap" | "process-group";

/** Why the runner stops a script early. */
export type StopReason = "timeout" | "cancel";

export interface RunScriptOptions {
  /** The executable, absolute (e.g. `<env>/bin/python`); it must lie in `readOnlyPaths` or the system dirs. */
  command: string;
  /** Its arguments, e.g. `["-u", "train.py"]`. */
  args: string[];
  /**
   * A fresh working directory for this job, bound read-write at the same path. When the runner
   * is root it is chowned (recursively, symlinks not followed) to `uid`/`gid` before start.
   * In process-group mode its host parents must be traversable by `uid`.
   */
  cwd: string;
  /**
   * The script's COMPLETE environment (an allow-list the caller built); nothing of the
   * runner's environment is added, apart from `HOME` (= `cwd` unless given) and `PWD` (= `cwd`).
   * bwrap itself is started with this same environment, because inside the sandbox pid 1 is
   * bwrap and its environment is what `/proc/1/environ` shows.
   */
  env: Record<string, string>;
  /**
   * Host paths bound read-only at the same path: the Python environment and the base
   * interpreter's prefix (a venv's `bin/python` is a symlink into it). A path that is a
   * symlink is bound at its real path too.
   */
  readOnlyPaths: string[];
  /** Identity of the script; default 65534 (nobody/nogroup). */
  uid?: number;
  gid?: number;
  /** Wall-clock limit; then SIGTERM to every process of the job, SIGKILL after `graceMs`. */
  timeoutMs: number;
  /** Default 5000. */
  graceMs?: number;
  /** Aborting it stops the script like `kill("cancel")`. */
  signal?: AbortSignal;
  /**
   * Receives every output line, in order per stream, without its newline (and without a
   * trailing CR); a line longer than 64 KiB arrives in several pieces. Must not throw: if it
   * does, the script is stopped and `done` rejects with that error.
   */
  onLine: (stream: "stdout" | "stderr", line: string) => void;
  /** Default true (egress policy belongs to the deployment); false gives the script only its own loopback. */
  network?: boolean;
  /** Default "bwrap"; see {@link SandboxMode}. */
  mode?: SandboxMode;
}

export interface RunResult {
  /**
   * The exit status. In bwrap mode a script killed by signal N reports 128+N here (bwrap
   * forwards its child's status as an exit code), and `signal` is set only when bwrap itself
   * was killed — at the end of a grace period.
   */
  exitCode: number | null;
  /** The signal that ended the process we spawned (bwrap, or the script in process-group mode). */
  signal: string | null;
  /** Stopped because `timeoutMs` elapsed. */
  timedOut: boolean;
  /** Stopped through `signal` or `kill("cancel")`. */
  cancelled: boolean;
  /** From start until the process we spawned exited. */
  durationMs: number;
}

export interface RunningScript {
  /** The pid we spawned: bwrap's in bwrap mode (the script has its own inside the namespace), else the script's. */
  readonly pid: number;
  /** Resolves once the script has exited and its output has been delivered. */
  readonly done: Promise<RunResult>;
  /**
   * SIGTERM to the script and all its descendants, SIGKILL after the grace period.
   * Idempotent; the first reason wins.
   */
  kill(reason: StopReason): void;
}

const DEFAULT_ID = 65534;
const DEFAULT_GRACE_MS = 5000;
/** setTimeout's limit; a larger delay would fire after 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/**
 * How long output is still read after the spawned process exited. In bwrap mode the pipes
 * close with the namespace; in process-group mode an escaped daemon can hold them for ever.
 */
const DRAIN_MS = 2000;
const ARGS_FD = 3;
const INFO_FD = 4;

/** What each mode provides to the common run loop. */
interface Launched {
  child: ChildProcess;
  /** SIGTERM to the script and its descendants. */
  terminate(): void;
  /** SIGKILL to everything the job started. */
  destroy(): void;
  /** Once the spawned process exited: removes whatever it left behind. */
  afterExit(): void;
}

/** Starts `command` in a sandbox (see {@link RunScriptOptions}); throws {@link SandboxError} when it cannot. */
export function runScript(opts: RunScriptOptions): RunningScript {
  const mode = opts.mode ?? "bwrap";
  const uid = opts.uid ?? DEFAULT_ID;
  const gid = opts.gid ?? DEFAULT_ID;
  const graceMs = opts.graceMs ?? DEFAULT_GRACE_MS;
  checkDelay(opts.timeoutMs, "timeoutMs", 1);
  checkDelay(graceMs, "graceMs", 0);
  for (const id of [uid, gid]) {
    if (!Number.isInteger(id) || id < 0) throw new TypeError(`uid/gid must be non-negative integers, got ${id}`);
  }
  if (opts.command.length === 0) throw new TypeError("command must not be empty");
  assertSandboxPath(opts.cwd, "cwd");
  if (mode !== "bwrap" && mode !== "process-group") {
    // Never fall back to running unsandboxed on a misspelt setting.
    throw new TypeError(`mode must be "bwrap" or "process-group", got ${JSON.stringify(mode)}`);
  }
  const env = scriptEnvironment(opts.env, opts.cwd);

  const started = performance.now();
  const launched =
    mode === "bwrap"
      ? launchBwrap(opts, env, uid, gid)
      : launchProcessGroup(opts, env, uid, gid);
  const { child } = launched;
  const pid = child.pid as number;

  let exited = false;
  let stopReason: StopReason | "callback" | null = null;
  let callbackError: unknown = null;
  let graceTimer: NodeJS.Timeout | undefined;

  const stop = (reason: StopReason | "callback"): void => {
    if (exited || stopReason !== null) return;
    stopReason = reason;
    launched.terminate();
    graceTimer = setTimeout(() => {
      if (!exited) launched.destroy();
    }, graceMs);
  };

  const deliver = (stream: "stdout" | "stderr", line: string): void => {
    if (callbackError !== null) return;
    try {
      opts.onLine(stream, line);
    } catch (err) {
      callbackError = err;
      stop("callback");
    }
  };
  const outputDone = [
    readLines(child.stdout as Readable, (line) => deliver("stdout", line)),
    readLines(child.stderr as Readable, (line) => deliver("stderr", line)),
  ];

  const timeoutTimer = setTimeout(() => stop("timeout"), opts.timeoutMs);
  const onAbort = (): void => stop("cancel");
  opts.signal?.addEventListener("abort", onAbort, { once: true });

  const done = new Promise<RunResult>((resolve, reject) => {
    child.once("exit", (code, signal) => {
      exited = true;
      const durationMs = Math.round(performance.now() - started);
      clearTimeout(timeoutTimer);
      clearTimeout(graceTimer);
      opts.signal?.removeEventListener("abort", onAbort);
      launched.afterExit();
      void drain(outputDone).then(() => {
        for (const s of child.stdio) s?.destroy();
        if (callbackError !== null) {
          reject(callbackError);
          return;
        }
        resolve({
          exitCode: code,
          signal,
          timedOut: stopReason === "timeout",
          cancelled: stopReason === "cancel",
          durationMs,
        });
      });
    });
  });

  if (opts.signal?.aborted) stop("cancel");
  return { pid, done, kill: stop };
}

function checkDelay(ms: number, name: string, min: number): void {
  if (!Number.isFinite(ms) || ms < min || ms > MAX_TIMER_MS) {
    throw new RangeError(`${name} must be between ${min} and ${MAX_TIMER_MS} ms, got ${ms}`);
  }
}

/** Makes the working directory the script's own, so that it can write there as `uid`. */
function prepareCwd(cwd: string, uid: number, gid: number): void {
  let isDir: boolean;
  try {
    isDir = statSync(cwd).isDirectory();
  } catch (err) {
    throw new SandboxError("SPAWN_FAILED", `working directory ${cwd} is not accessible`, { cause: err });
  }
  if (!isDir) throw new SandboxError("SPAWN_FAILED", `working directory ${cwd} is not a directory`);
  // Without root the script runs as the runner's own uid (bwrap maps it), which owns cwd already.
  if (runningAsRoot()) chownTree(cwd, uid, gid);
}

/** lchown, recursively, never following symlinks: the tree is the caller's fresh job directory. */
function chownTree(dir: string, uid: number, gid: number): void {
  lchownSync(dir, uid, gid);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) chownTree(path, uid, gid);
    else lchownSync(path, uid, gid);
  }
}

/** Every read-only path, plus its real path where it is a symlink or lies under one. */
function expandReadOnlyPaths(paths: string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    assertSandboxPath(p, "readOnlyPaths entry");
    let real: string;
    try {
      real = realpathSync(p);
    } catch (err) {
      throw new SandboxError("SPAWN_FAILED", `read-only path ${p} does not exist`, { cause: err });
    }
    out.push(p);
    if (real !== p) out.push(real);
  }
  return out;
}

function launchBwrap(opts: RunScriptOptions, env: Record<string, string>, uid: number, gid: number): Launched {
  const bwrapPath = findExecutable("bwrap");
  if (bwrapPath === null) {
    throw new SandboxError("UNAVAILABLE", "bubblewrap not installed: apt-get install bubblewrap");
  }
  let identity: SandboxIdentity;
  if (runningAsRoot()) {
    const setprivPath = findSystemExecutable("setpriv");
    if (setprivPath === null) {
      throw new SandboxError("UNAVAILABLE", "setpriv not found in /usr/bin or /bin: apt-get install util-linux");
    }
    identity = { kind: "setpriv", setprivPath, uid, gid };
  } else {
    identity = { kind: "userns", uid, gid };
  }
  const invocation = buildBwrapArgs({
    layout: describeHost(),
    identity,
    command: opts.command,
    args: opts.args,
    cwd: opts.cwd,
    env,
    readOnlyPaths: expandReadOnlyPaths(opts.readOnlyPaths),
    network: opts.network ?? true,
    argsFd: ARGS_FD,
    infoFd: INFO_FD,
  });
  const payload = encodeArgs(invocation.setupArgs);

  prepareCwd(opts.cwd, uid, gid);
  const child = startChild(bwrapPath, invocation.argv, {
    cwd: "/",
    env,
    stdio: ["ignore", "pipe", "pipe", "pipe", "pipe"],
  });
  const argsPipe = child.stdio[ARGS_FD] as Writable;
  // EPIPE when bwrap dies before reading; its exit status tells the story.
  argsPipe.on("error", () => {});
  argsPipe.end(payload);
  const info = readInfo(child.stdio[INFO_FD] as Readable);

  const alive = (): boolean => child.exitCode === null && child.signalCode === null;
  return {
    child,
    terminate() {
      void info.then((i) => {
        // The namespace's pid 1 is bwrap's reaper: once the script exits it exits too, and the
        // kernel kills what is left in the namespace.
        if (i !== null && alive()) signalNamespace(i.pidNamespace, "SIGTERM", [i.childPid]);
      });
    },
    destroy() {
      // Killing the namespace's init kills every process in it; killing the outer bwrap
      // covers the moment before bwrap reported its child.
      void info.then((i) => {
        if (i !== null && alive()) signalPid(i.childPid, "SIGKILL");
      });
      if (alive()) signalPid(child.pid as number, "SIGKILL");
    },
    afterExit() {},
  };
}

function launchProcessGroup(opts: RunScriptOptions, env: Record<string, string>, uid: number, gid: number): Launched {
  prepareCwd(opts.cwd, uid, gid);
  const child = startChild(opts.command, opts.args, {
    cwd: opts.cwd,
    env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    ...(runningAsRoot() ? { uid, gid } : {}),
  });
  const pgid = child.pid as number;
  return {
    child,
    terminate: () => void signalGroup(pgid, "SIGTERM"),
    destroy: () => void signalGroup(pgid, "SIGKILL"),
    // Background children left in the group die with the job, as they do in bwrap mode. The
    // group id could in theory have been reused after the leader was reaped; a new group only
    // takes a pid no process and no group uses, and ours may still have members.
    afterExit: () => void signalGroup(pgid, "SIGKILL"),
  };
}

function startChild(
  command: string,
  args: string[],
  options: Omit<SpawnOptions, "stdio"> & { stdio: StdioEntry[] },
): ChildProcess {
  const leaked = inheritableFds().filter((fd) => fd >= options.stdio.length);
  const devNull = leaked.length > 0 ? openSync("/dev/null", "r+") : -1;
  let child: ChildProcess;
  try {
    child = spawn(command, args, { ...options, stdio: stdioCovering(options.stdio, devNull, leaked) });
  } catch (err) {
    throw new SandboxError("SPAWN_FAILED", `could not start ${command}`, { cause: err });
  } finally {
    if (devNull >= 0) closeSync(devNull);
  }
  // Node reports ENOENT/EACCES as an 'error' event on the next tick; without a listener it
  // would crash the runner. The missing pid already tells us.
  child.on("error", () => {});
  if (child.pid === undefined) {
    throw new SandboxError("SPAWN_FAILED", `could not start ${command}: not found or not executable`);
  }
  return child;
}

interface BwrapInfo {
  childPid: number;
  pidNamespace: string;
}

/** bwrap's `--info-fd` report: the namespace init's pid and the PID namespace's inode. */
function readInfo(stream: Readable): Promise<BwrapInfo | null> {
  return new Promise((resolve) => {
    let text = "";
    const finish = (value: BwrapInfo | null): void => {
      stream.removeAllListeners("data");
      resolve(value);
    };
    stream.on("data", (chunk: Buffer) => {
      text += chunk.toString("utf8");
      try {
        const parsed = JSON.parse(text) as Record<string, unknown>;
        const childPid = parsed["child-pid"];
        const pidNs = parsed["pid-namespace"];
        if (typeof childPid === "number" && typeof pidNs === "number") {
          finish({ childPid, pidNamespace: pidNamespaceLink(pidNs) });
        } else {
          finish(null);
        }
      } catch {
        // Incomplete so far.
      }
    });
    stream.once("end", () => finish(null));
    stream.once("close", () => finish(null));
    stream.once("error", () => finish(null));
  });
}

/** Feeds a stream into `onLine` line by line; resolves when the stream has ended. */
function readLines(stream: Readable, onLine: (line: string) => void): { ended: Promise<void>; flush(): void } {
  const splitter = new LineSplitter(onLine);
  let flushed = false;
  const flush = (): void => {
    if (flushed) return;
    flushed = true;
    stream.removeAllListeners("data");
    splitter.end();
  };
  stream.on("data", (chunk: Buffer) => splitter.push(chunk));
  const ended = new Promise<void>((resolve) => {
    const finish = (): void => {
      flush();
      resolve();
    };
    stream.once("end", finish);
    stream.once("close", finish);
    stream.once("error", finish);
  });
  return { ended, flush };
}

async function drain(outputs: Array<{ ended: Promise<void>; flush(): void }>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, DRAIN_MS);
  });
  await Promise.race([Promise.all(outputs.map((o) => o.ended)), deadline]);
  clearTimeout(timer);
  for (const o of outputs) o.flush();
}
