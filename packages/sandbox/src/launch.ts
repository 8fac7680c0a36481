import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { accessSync, closeSync, constants, lchownSync, mkdtempSync, openSync, readdirSync, realpathSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { isAbsolute, join } from "node:path";
import { assertSandboxPath, PRIVATE_TMP } from "./bwrap-args.js";
import { launchBwrap } from "./bwrap-launch.js";
import { scriptEnvironment } from "./environment.js";
import { SandboxError } from "./errors.js";
import { inheritableFds, stdioCovering, type StdioEntry } from "./fds.js";
import { findSystemExecutable, runningAsRoot } from "./host.js";
import { signalGroup } from "./kill.js";
import type { Launched, MlflowAccess } from "./launched.js";
import { resolveLimits, rlimitOptions, type ResourceLimits } from "./limits.js";
import { assertWorkspaceName } from "./mlflow-proxy.js";
import type { RunScriptOptions } from "./spawn.js";

/** The uid and gid sandboxed code runs as when the host side is root (nobody/nogroup). */
export const DEFAULT_SANDBOX_ID = 65534;
export const DEFAULT_GRACE_MS = 5000;
const DEFAULT_MLFLOW_PORT = 5000;
/** setTimeout's limit; a larger delay would fire after 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export function checkDelay(ms: number, name: string, min: number): void {
  if (!Number.isFinite(ms) || ms < min || ms > MAX_TIMER_MS) {
    throw new RangeError(`${name} must be between ${min} and ${MAX_TIMER_MS} ms, got ${ms}`);
  }
}

/** What a sandbox is built from: {@link RunScriptOptions} without how the run is supervised. */
export type SandboxRequest = Pick<RunScriptOptions, "command" | "args" | "env" | "readOnlyPaths" | "uid" | "gid" | "mlflow" | "internet" | "limits" | "mode"> & {
  /** As in {@link RunScriptOptions}; null: nothing of the host is writable, the command works in a private temporary directory. */
  cwd: string | null;
};

/**
 * Checks `req` and starts its command in the sandbox of its mode, stdout and stderr on pipes,
 * stdin a pipe or /dev/null: the one way `runScript` and `spawnSandboxed` build a sandbox.
 * Throws {@link SandboxError} when it cannot.
 */
export function launchSandbox(req: SandboxRequest, stdin: "pipe" | "ignore"): Launched {
  const mode = req.mode ?? "bwrap";
  const uid = req.uid ?? DEFAULT_SANDBOX_ID;
  const gid = req.gid ?? DEFAULT_SANDBOX_ID;
  for (const id of [uid, gid]) {
    if (!Number.isInteger(id) || id < 0) throw new TypeError(`uid/gid must be non-negative integers, got ${id}`);
  }
  if (req.command.length === 0) throw new TypeError("command must not be empty");
  if (req.cwd !== null) assertSandboxPath(req.cwd, "cwd");
  if (mode !== "bwrap" && mode !== "process-group") {
    // Never fall back to running unsandboxed on a misspelt setting.
    throw new TypeError(`mode must be "bwrap" or "process-group", got ${JSON.stringify(mode)}`);
  }
  const limits = resolveLimits(req.limits);
  const mlflow = mlflowAccess(req.mlflow);
  if (mode === "process-group") return launchProcessGroup(req, stdin, uid, gid, limits, mlflow);

  const cwd = req.cwd;
  return launchBwrap({
    command: req.command,
    args: req.args,
    cwd,
    env: scriptEnvironment(req.env, cwd ?? PRIVATE_TMP),
    readOnlyPaths: expandReadOnlyPaths(req.readOnlyPaths),
    uid,
    gid,
    limits,
    internet: req.internet ?? false,
    mlflow,
    prepareCwd: () => {
      if (cwd !== null) prepareCwd(cwd, uid, gid);
    },
    start: (command, args, childEnv, stdioCount) =>
      startChild(command, args, {
        cwd: "/",
        env: childEnv,
        stdio: [stdin, ...Array.from({ length: stdioCount - 1 }, () => "pipe" as const)],
      }),
  });
}

function mlflowAccess(requested: RunScriptOptions["mlflow"]): MlflowAccess | null {
  if (requested === undefined) return null;
  assertWorkspaceName(requested.workspace);
  const port = requested.port ?? DEFAULT_MLFLOW_PORT;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`mlflow.port must be 1-65535, got ${port}`);
  return { url: requested.url, workspace: requested.workspace, port, credentials: requested.credentials ?? null };
}

/**
 * Without a network namespace the script calls MLflow itself: it gets the server, its
 * workspace and, on a server with auth, its tenant's credentials (which MLflow confines to
 * that workspace; the workspace header is then the script's to choose, the grant is not).
 */
function processGroupMlflowEnv(mlflow: MlflowAccess): Record<string, string> {
  const env: Record<string, string> = { MLFLOW_TRACKING_URI: mlflow.url, MLFLOW_WORKSPACE: mlflow.workspace };
  if (mlflow.credentials) {
    env.MLFLOW_TRACKING_USERNAME = mlflow.credentials.username;
    env.MLFLOW_TRACKING_PASSWORD = mlflow.credentials.password;
  }
  return env;
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

function launchProcessGroup(
  req: SandboxRequest,
  stdin: "pipe" | "ignore",
  uid: number,
  gid: number,
  limits: ResourceLimits,
  mlflow: MlflowAccess | null,
): Launched {
  const prlimit = findSystemExecutable("prlimit");
  if (prlimit === null) throw new SandboxError("UNAVAILABLE", "prlimit not found in /usr/bin or /bin: apt-get install util-linux");
  // prlimit would start and then fail to exec: say so now, as spawning the command would.
  if (isAbsolute(req.command) && !isExecutableFile(req.command)) {
    throw new SandboxError("SPAWN_FAILED", `could not start ${req.command}: not found or not executable`);
  }
  // Without a working directory of the caller's, a fresh one stands in for bwrap's private /tmp.
  const ownCwd = req.cwd === null ? mkdtempSync(join(tmpdir(), "asgard-process-")) : null;
  const cwd = req.cwd ?? (ownCwd as string);
  const removeOwnCwd = (): void => {
    if (ownCwd !== null) rmSync(ownCwd, { recursive: true, force: true });
  };
  let child: ChildProcess;
  try {
    const env = scriptEnvironment(req.env, cwd);
    const childEnv = mlflow ? { ...env, ...processGroupMlflowEnv(mlflow) } : env;
    prepareCwd(cwd, uid, gid);
    // prlimit sets the limits and execs the command in place: the pid and group stay the script's.
    child = startChild(prlimit, [...rlimitOptions(limits, false), "--", req.command, ...req.args], {
      cwd,
      env: childEnv,
      detached: true,
      stdio: [stdin, "pipe", "pipe"],
      ...(runningAsRoot() ? { uid, gid } : {}),
    });
  } catch (err) {
    removeOwnCwd();
    throw err;
  }
  const pgid = child.pid as number;
  return {
    child,
    terminate: () => void signalGroup(pgid, "SIGTERM"),
    destroy: () => void signalGroup(pgid, "SIGKILL"),
    processIds: async () => (child.exitCode === null && child.signalCode === null ? [pgid] : []),
    // Background children left in the group die with the job, as they do in bwrap mode. The
    // group id could in theory have been reused after the leader was reaped; a new group only
    // takes a pid no process and no group uses, and ours may still have members.
    afterExit: async () => {
      signalGroup(pgid, "SIGKILL");
      removeOwnCwd();
      return { oomKills: 0, pidsRefused: 0, peakMemoryBytes: null, setupError: null };
    },
  };
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
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
