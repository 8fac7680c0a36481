import type { Readable } from "node:stream";
import { checkDelay, DEFAULT_GRACE_MS, launchSandbox } from "./launch.js";
import { judgeLimits, type LimitName, type ResourceLimits } from "./limits.js";
import { drain, readLines } from "./lines.js";

/**
 * - `bwrap` (default): bubblewrap sandbox — own PID, IPC, UTS and network namespaces, a
 *   minimal read-only root, the script as `uid`/`gid` under a seccomp filter, in a cgroup
 *   of its own with its {@link ResourceLimits}. Its network holds a private loopback and,
 *   with `mlflow`, MLflow; with `internet`, a route out. Everything the script starts,
 *   `setsid` daemons included, dies with it.
 * - `process-group`: no sandbox, for machines without bubblewrap and only when the operator
 *   opts in. The script runs in its own process group, as `uid`/`gid` when the runner is
 *   root (otherwise as the runner's own user, so it can read the runner's
 *   `/proc/<pid>/environ`). It sees the host's whole filesystem and network (`mlflow` only
 *   sets `MLFLOW_TRACKING_URI` and `MLFLOW_WORKSPACE`, which the script may ignore), only the
 *   rlimits of {@link ResourceLimits} apply, a double-forked `setsid` daemon escapes the
 *   group and outlives the job, and a SIGKILLed runner leaves the script running.
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
   * runner's environment is added, apart from `HOME` (= `cwd` unless given), `PWD` (= `cwd`)
   * and, with `mlflow`, `MLFLOW_TRACKING_URI`. bwrap itself is started with this same
   * environment, because inside the sandbox pid 1 is bwrap and its environment is what
   * `/proc/1/environ` shows.
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
  /**
   * MLflow, the one service the script reaches: `url` is the real server, `workspace` the
   * tenant every request is scoped to (the script cannot pick another), `port` where the
   * script finds it on its own 127.0.0.1 (default 5000). `MLFLOW_TRACKING_URI` is set to
   * `http://127.0.0.1:<port>`. `credentials`, the tenant's MLflow user on a server with basic
   * auth, are added by the proxy to every request (bwrap: the script never sees them) or, in
   * process-group mode, given as `MLFLOW_TRACKING_USERNAME`/`_PASSWORD`. Omitted: the script
   * reaches no service at all.
   */
  mlflow?: { url: string; workspace: string; port?: number; credentials?: { username: string; password: string } };
  /**
   * Outbound internet (a deployment setting), default false: through slirp4netns, which keeps
   * the host's loopback unreachable but not what the host serves on its other addresses.
   */
  internet?: boolean;
  /** Per-sandbox limits; each omitted field takes its default (see {@link ResourceLimits}). */
  limits?: Partial<ResourceLimits>;
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
  /**
   * The limit to blame when the script failed because of one: `"memory"` when the kernel
   * killed a process of the sandbox at its memory limit, `"file_size"` when one was killed
   * for writing past RLIMIT_FSIZE (exit status 153 — also what `exit(153)` gives), `"pids"`
   * when a fork or thread was refused at the process limit, `"disk"` when it reported ENOSPC
   * (its working directory, `/tmp` or `/dev/shm` was full). Null when the script succeeded,
   * was stopped (timeout, cancel) or failed for another reason.
   */
  limitExceeded: LimitName | null;
  /** Every limit the script ran into, even if it survived it or failed for another reason. */
  limitsHit: LimitName[];
  /** The sandbox's peak memory use (its cgroup's), bytes; null without a cgroup. */
  peakMemoryBytes: number | null;
}

export interface RunningScript {
  /** The pid we spawned: bwrap's in bwrap mode (the script has its own inside the namespace), else the script's. */
  readonly pid: number;
  /**
   * Resolves once the script has exited and its output has been delivered. Rejects with a
   * {@link SandboxError} when the sandbox could not be set up (the script never ran).
   */
  readonly done: Promise<RunResult>;
  /**
   * SIGTERM to the script and all its descendants, SIGKILL after the grace period.
   * Idempotent; the first reason wins.
   */
  kill(reason: StopReason): void;
}

/** How Python, the C library and Node word ENOSPC. */
const NO_SPACE = /No space left on device|ENOSPC|\[Errno 28\]/;

/** Starts `command` in a sandbox (see {@link RunScriptOptions}); throws {@link SandboxError} when it cannot. */
export function runScript(opts: RunScriptOptions): RunningScript {
  const graceMs = opts.graceMs ?? DEFAULT_GRACE_MS;
  checkDelay(opts.timeoutMs, "timeoutMs", 1);
  checkDelay(graceMs, "graceMs", 0);
  const started = performance.now();
  const launched = launchSandbox(opts, "ignore");
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

  // A full tmpfs (work directory, /tmp, /dev/shm) leaves no trace once the sandbox is gone: the
  // script's own report of ENOSPC is the evidence. A script faking it only misnames its own failure.
  let noSpace = false;
  const deliver = (stream: "stdout" | "stderr", line: string): void => {
    if ((opts.mode ?? "bwrap") === "bwrap" && stream === "stderr" && !noSpace && NO_SPACE.test(line)) noSpace = true;
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
      void Promise.all([launched.afterExit(), drain(outputDone)]).then(([report]) => {
        for (const s of child.stdio) s?.destroy();
        if (callbackError !== null) {
          reject(callbackError);
          return;
        }
        if (report.setupError !== null) {
          reject(report.setupError);
          return;
        }
        const stopped = stopReason === "timeout" || stopReason === "cancel";
        resolve({
          exitCode: code,
          signal,
          timedOut: stopReason === "timeout",
          cancelled: stopReason === "cancel",
          durationMs,
          ...judgeLimits({ exitCode: code, signal, stopped, oomKills: report.oomKills, pidsRefused: report.pidsRefused, noSpace }),
          peakMemoryBytes: report.peakMemoryBytes,
        });
      }, reject);
    });
  });

  if (opts.signal?.aborted) stop("cancel");
  return { pid, done, kill: stop };
}
