import type { Readable, Writable } from "node:stream";
import { checkDelay, DEFAULT_GRACE_MS, launchSandbox } from "./launch.js";
import { judgeLimits, type LimitName, type ResourceLimits } from "./limits.js";
import { drain, readLines } from "./lines.js";
import type { SandboxMode } from "./spawn.js";

export interface SpawnSandboxedOptions {
  /** The executable, absolute (e.g. `<env>/bin/python`); it must lie in `readOnlyPaths` or the system dirs. */
  command: string;
  args: string[];
  /**
   * The process's COMPLETE environment (an allow-list the caller built); only `HOME` (its
   * private `/tmp` unless given) and `PWD` are added, nothing of the caller's own.
   */
  env: Record<string, string>;
  /**
   * Host paths bound read-only at the same path (the Python environment, the base
   * interpreter's prefix, the files it serves); a symlink is bound at its real path too.
   * Nothing of the host is writable: the process works in its private, sized `/tmp`.
   */
  readOnlyPaths: string[];
  /** Identity of the process; default 65534 (nobody/nogroup). */
  uid?: number;
  gid?: number;
  /** Between SIGTERM and SIGKILL in `kill("graceful")`; default 5000. */
  graceMs?: number;
  /** Per-sandbox limits; each omitted field takes its default (see {@link ResourceLimits}). */
  limits?: Partial<ResourceLimits>;
  /** Default "bwrap"; see {@link SandboxMode}. */
  mode?: SandboxMode;
  /**
   * Receives every stderr line, in order, as `runScript`'s `onLine` does. Must not throw: if it
   * does, the process is killed and `done` rejects with that error.
   */
  onStderrLine: (line: string) => void;
}

export interface SandboxedExit {
  /** As {@link RunResult}'s: in bwrap mode a process killed by signal N reports 128+N here. */
  exitCode: number | null;
  signal: string | null;
  /** Ended by `kill()`. */
  killed: boolean;
  durationMs: number;
  /** The limit to blame when it failed because of one (see {@link RunResult}). */
  limitExceeded: LimitName | null;
  limitsHit: LimitName[];
  peakMemoryBytes: number | null;
}

/**
 * A long-lived sandboxed process talking over raw pipes: the caller writes `stdin` and reads
 * `stdout` in whatever protocol it likes.
 */
export interface SandboxedProcess {
  /** The pid we spawned: bwrap's in bwrap mode. */
  readonly pid: number;
  /** A write after the process ended fails silently: `done` reports the end. */
  readonly stdin: Writable;
  /** Ends when the process (in bwrap mode, its whole sandbox) has ended. */
  readonly stdout: Readable;
  /**
   * Resolves once the process has exited and the sandbox is gone. Rejects with a
   * {@link SandboxError} when the sandbox could not be set up (the command never ran).
   */
  readonly done: Promise<SandboxedExit>;
  /**
   * `"graceful"`: SIGTERM to every process of the sandbox, SIGKILL after `graceMs`; `"now"`:
   * SIGKILL at once. Idempotent, but `"now"` still cuts a grace period short.
   */
  kill(how: "graceful" | "now"): void;
  /** Host pids of the command and everything it started (to read their memory); empty once ended. */
  processIds(): Promise<number[]>;
}

/**
 * Starts a long-lived process in the same sandbox as {@link runScript} (namespaces, seccomp,
 * unprivileged uid, cgroup and rlimits) but with no network at all: neither MLflow nor the
 * internet. Throws {@link SandboxError} when it cannot.
 */
export function spawnSandboxed(opts: SpawnSandboxedOptions): SandboxedProcess {
  const graceMs = opts.graceMs ?? DEFAULT_GRACE_MS;
  checkDelay(graceMs, "graceMs", 0);
  const started = performance.now();
  const launched = launchSandbox({ ...opts, cwd: null }, "pipe");
  const { child } = launched;
  const stdin = child.stdin as Writable;
  stdin.on("error", () => undefined);

  let exited = false;
  let killed = false;
  let callbackError: unknown = null;
  let graceTimer: NodeJS.Timeout | undefined;

  const kill = (how: "graceful" | "now"): void => {
    if (exited) return;
    if (how === "now") {
      killed = true;
      clearTimeout(graceTimer);
      launched.destroy();
      return;
    }
    if (killed) return;
    killed = true;
    launched.terminate();
    graceTimer = setTimeout(() => {
      if (!exited) launched.destroy();
    }, graceMs);
  };

  const stderrDone = readLines(child.stderr as Readable, (line) => {
    if (callbackError !== null) return;
    try {
      opts.onStderrLine(line);
    } catch (err) {
      callbackError = err;
      kill("now");
    }
  });

  const done = new Promise<SandboxedExit>((resolve, reject) => {
    child.once("exit", (code, signal) => {
      exited = true;
      const durationMs = Math.round(performance.now() - started);
      clearTimeout(graceTimer);
      void Promise.all([launched.afterExit(), drain([stderrDone])]).then(([report]) => {
        child.stderr?.destroy();
        if (callbackError !== null) return reject(callbackError);
        if (report.setupError !== null) return reject(report.setupError);
        resolve({
          exitCode: code,
          signal,
          killed,
          durationMs,
          // A worker that fills its /tmp fails its own request; only kernel evidence names a limit here.
          ...judgeLimits({ exitCode: code, signal, stopped: killed, oomKills: report.oomKills, pidsRefused: report.pidsRefused, noSpace: false }),
          peakMemoryBytes: report.peakMemoryBytes,
        });
      }, reject);
    });
  });

  return {
    pid: child.pid as number,
    stdin,
    stdout: child.stdout as Readable,
    done,
    kill,
    processIds: () => launched.processIds(),
  };
}
