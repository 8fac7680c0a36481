import { type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { buildBwrapArgs, encodeArgs, RUNTIME_DIR, type SandboxIdentity } from "./bwrap-args.js";
import { cgroupSupport, SandboxCgroup } from "./cgroups.js";
import { SandboxError } from "./errors.js";
import { describeHost, findExecutable, findSystemExecutable, runningAsRoot } from "./host.js";
import { SLIRP_NAMESERVER, startInternet, type Internet } from "./internet.js";
import { pidNamespaceLink, pidsInNamespace, signalNamespace, signalPid } from "./kill.js";
import { rlimitOptions, type ResourceLimits } from "./limits.js";
import { startMlflowProxy, type MlflowProxy } from "./mlflow-proxy.js";
import { seccompProgram } from "./seccomp.js";
import type { Launched, MlflowAccess } from "./launched.js";

const ARGS_FD = 3;
const INFO_FD = 4;
const BLOCK_FD = 5;
const SECCOMP_FD = 6;
const INIT_SOURCE = fileURLToPath(new URL("./sandbox-python/sandbox_init.py", import.meta.url));
const INIT_FILE = "init.py";
const SOCKET_FILE = "mlflow.sock";
const RESOLV_FILE = "resolv.conf";
/** The init is the namespace's second process: bwrap's reaper is pid 1 and forks it first. */
const INIT_PID_INSIDE = 2;

export interface BwrapLaunchOptions {
  command: string;
  args: string[];
  /** Bound read-write as the working directory; null: the private /tmp instead. */
  cwd: string | null;
  env: Record<string, string>;
  readOnlyPaths: string[];
  uid: number;
  gid: number;
  limits: ResourceLimits;
  internet: boolean;
  mlflow: MlflowAccess | null;
  /** Starts the process (see spawn.ts: fds beyond stdio are covered there). */
  start(command: string, args: string[], env: Record<string, string>, stdioCount: number): ChildProcess;
  /** Prepares the working directory for `uid`, right before the sandbox starts. */
  prepareCwd(): void;
}

interface Tools {
  bwrap: string;
  identity: SandboxIdentity;
  prlimit: string;
  slirp: string | null;
  python: string | null;
  seccomp: Buffer;
}

/** Everything the sandbox needs from the host, or a SandboxError naming what is missing. */
function findTools(o: BwrapLaunchOptions): Tools {
  const bwrap = findExecutable("bwrap");
  if (bwrap === null) throw new SandboxError("UNAVAILABLE", "bubblewrap not installed: apt-get install bubblewrap");
  let identity: SandboxIdentity;
  if (runningAsRoot()) {
    const setprivPath = findSystemExecutable("setpriv");
    if (setprivPath === null) throw new SandboxError("UNAVAILABLE", "setpriv not found in /usr/bin or /bin: apt-get install util-linux");
    identity = { kind: "setpriv", setprivPath, uid: o.uid, gid: o.gid };
  } else {
    identity = { kind: "userns", uid: o.uid, gid: o.gid };
  }
  const prlimit = findSystemExecutable("prlimit");
  if (prlimit === null) throw new SandboxError("UNAVAILABLE", "prlimit not found in /usr/bin or /bin: apt-get install util-linux");
  const slirp = o.internet ? findSystemExecutable("slirp4netns") : null;
  if (o.internet && slirp === null) {
    throw new SandboxError("UNAVAILABLE", "internet access for sandboxes needs slirp4netns: apt-get install slirp4netns");
  }
  const python = o.mlflow ? findSystemExecutable("python3") : null;
  if (o.mlflow && python === null) {
    throw new SandboxError("UNAVAILABLE", "the sandbox's MLflow forwarder needs python3 in /usr/bin or /bin: apt-get install python3");
  }
  return { bwrap, identity, prlimit, slirp, python, seccomp: seccompProgram() };
}

/**
 * The host directory the sandbox sees read-only at /asgard: the init program, the MLflow
 * proxy's socket and, with internet, a resolv.conf naming slirp4netns's resolver. Only the
 * script's uid can enter it.
 */
function makeRuntimeDir(o: BwrapLaunchOptions): string {
  const dir = mkdtempSync(join(tmpdir(), "asgard-sandbox-"));
  try {
    if (o.mlflow) copyFileSync(INIT_SOURCE, join(dir, INIT_FILE));
    if (o.internet) writeFileSync(join(dir, RESOLV_FILE), `nameserver ${SLIRP_NAMESERVER}\n`);
    chmodSync(dir, 0o700);
    if (runningAsRoot()) chownSync(dir, o.uid, o.gid);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new SandboxError("SPAWN_FAILED", "could not prepare the sandbox's runtime directory", { cause: err });
  }
  return dir;
}

/** Starts `command` in bubblewrap with its network, seccomp filter, cgroup and rlimits. */
export function launchBwrap(o: BwrapLaunchOptions): Launched {
  const tools = findTools(o);
  const support = cgroupSupport();
  const needsRuntimeDir = o.mlflow !== null || o.internet;
  const runtimeDir = needsRuntimeDir ? makeRuntimeDir(o) : null;
  let group: SandboxCgroup | null = null;
  try {
    group = support.kind === "none" ? null : SandboxCgroup.create(support, o.limits);
  } catch (err) {
    if (runtimeDir !== null) rmSync(runtimeDir, { recursive: true, force: true });
    throw err;
  }

  const env = { ...o.env };
  const wrappers = [tools.prlimit, ...rlimitOptions(o.limits, group !== null), "--"];
  if (o.mlflow && tools.python !== null) {
    // Replaces whatever the caller set: inside, MLflow is only reachable here.
    env.MLFLOW_TRACKING_URI = `http://127.0.0.1:${o.mlflow.port}`;
    wrappers.push(tools.python, "-I", "-S", `${RUNTIME_DIR}/${INIT_FILE}`, String(o.mlflow.port), `${RUNTIME_DIR}/${SOCKET_FILE}`, "--");
  }

  let child: ChildProcess;
  let proxyStarting: Promise<MlflowProxy> | null = null;
  try {
    const invocation = buildBwrapArgs({
      layout: describeHost(),
      identity: tools.identity,
      command: o.command,
      args: o.args,
      cwd: o.cwd,
      env,
      readOnlyPaths: o.readOnlyPaths,
      tmpfsBytes: { tmp: o.limits.tmpBytes, shm: o.limits.shmBytes },
      workDir: o.limits.workDirBytes === null || o.cwd === null ? null : { bytes: o.limits.workDirBytes, entries: readdirSync(o.cwd) },
      runtimeDir,
      resolvConf: o.internet && runtimeDir !== null ? join(runtimeDir, RESOLV_FILE) : null,
      wrappers,
      argsFd: ARGS_FD,
      infoFd: INFO_FD,
      blockFd: BLOCK_FD,
      seccompFd: SECCOMP_FD,
    });
    o.prepareCwd();
    if (o.mlflow && runtimeDir !== null) {
      proxyStarting = startMlflowProxy({
        upstream: o.mlflow.url,
        workspace: o.mlflow.workspace,
        ...(o.mlflow.credentials ? { credentials: o.mlflow.credentials } : {}),
        socketPath: join(runtimeDir, SOCKET_FILE),
        ...(runningAsRoot() ? { owner: { uid: o.uid, gid: o.gid } } : {}),
      });
      proxyStarting.catch(() => undefined);
    }
    child = o.start(tools.bwrap, invocation.argv, env, SECCOMP_FD + 1);
    writeAndEnd(pipeOf(child, ARGS_FD) as Writable, encodeArgs(invocation.setupArgs));
    writeAndEnd(pipeOf(child, SECCOMP_FD) as Writable, tools.seccomp);
  } catch (err) {
    void proxyStarting?.then((p) => p.close(), () => undefined);
    void group?.remove();
    if (runtimeDir !== null) rmSync(runtimeDir, { recursive: true, force: true });
    throw err;
  }

  const info = readInfo(pipeOf(child, INFO_FD) as Readable);
  const alive = (): boolean => child.exitCode === null && child.signalCode === null;
  let released = false;
  let abandoned = false;
  let setupError: unknown = null;
  let internet: Internet | null = null;

  const destroy = (): void => {
    abandoned = true;
    void info.then((i) => {
      if (i !== null && alive()) signalPid(i.childPid, "SIGKILL");
    });
    if (alive()) signalPid(child.pid as number, "SIGKILL");
    group?.killAll();
  };

  // The sandbox waits on its block fd, built but with nothing started, until it is in its
  // cgroup, its network is up and its proxy listens: the script never runs outside them.
  const setup = (async () => {
    const i = await info;
    if (i === null) return; // bwrap failed before creating the sandbox; its stderr says why.
    group?.add(i.childPid);
    if (tools.slirp !== null) internet = await startInternet(tools.slirp, i.childPid);
    await proxyStarting;
    if (abandoned || !alive()) return;
    released = true;
    writeAndEnd(pipeOf(child, BLOCK_FD) as Writable, Buffer.from("1"));
  })().catch((err: unknown) => {
    setupError = err instanceof SandboxError ? err : new SandboxError("SPAWN_FAILED", "could not set up the sandbox", { cause: err });
    destroy();
  });

  return {
    child,
    terminate() {
      if (!released) {
        // Nothing of the script runs yet: no grace to give.
        destroy();
        return;
      }
      void info.then((i) => {
        // The namespace's pid 1 is bwrap's reaper: once the script exits it exits too, and the
        // kernel kills what is left in the namespace.
        if (i !== null && alive()) signalNamespace(i.pidNamespace, "SIGTERM", [i.childPid], o.mlflow ? [INIT_PID_INSIDE] : []);
      });
    },
    destroy,
    async processIds() {
      const i = await info;
      if (i === null || !alive()) return [];
      // The namespace's pid 1 is bwrap's reaper; the rest is the command and its children.
      return pidsInNamespace(i.pidNamespace).filter((pid) => pid !== i.childPid);
    },
    async afterExit() {
      await setup;
      (internet as Internet | null)?.stop();
      const proxy = await proxyStarting?.catch(() => null);
      await proxy?.close();
      const report = group?.report() ?? { oomKills: 0, pidsRefused: 0, peakMemoryBytes: null };
      await group?.remove();
      if (runtimeDir !== null) rmSync(runtimeDir, { recursive: true, force: true });
      return { ...report, setupError };
    },
  };
}

/** The parent's end of the pipe at `fd` in the child. */
function pipeOf(child: ChildProcess, fd: number): Readable | Writable {
  const stream = (child.stdio as ReadonlyArray<Readable | Writable | null | undefined>)[fd];
  if (!stream) throw new Error(`no pipe at fd ${fd}`);
  return stream;
}

function writeAndEnd(stream: Writable, data: Buffer): void {
  // EPIPE when bwrap dies before reading; its exit status tells the story.
  stream.on("error", () => {});
  stream.end(data);
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
