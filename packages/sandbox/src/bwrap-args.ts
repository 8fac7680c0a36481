import { posix } from "node:path";

/** A top-level system entry of the host as the sandbox should see it. */
export type SystemEntry =
  | { path: string; kind: "dir" }
  /** Merged-/usr hosts: `/lib -> usr/lib` is recreated as the same symlink, not bound. */
  | { path: string; kind: "symlink"; target: string };

/** What of the host's root the sandbox may see; gathered by `describeHost()`. */
export interface HostLayout {
  /** `/usr` and those of `/bin`, `/sbin`, `/lib*` that exist. */
  systemEntries: SystemEntry[];
  /** Existing files/directories under /etc needed by Python, TLS and name resolution. */
  etcPaths: string[];
}

/**
 * Who the script runs as inside the sandbox.
 * - `setpriv`: bwrap runs as root (no user namespace) and `setpriv` switches to uid/gid before
 *   exec, so the script's kernel uid really is `uid`. With `--unshare-user` instead, a root
 *   runner's script would keep kernel uid 0 (mapped to `uid` only inside), and files it makes
 *   in its bound working directory — a set-uid binary included — would be root's on the host.
 * - `userns`: bwrap runs unprivileged and maps `uid` to the runner's own uid; the PID namespace
 *   is then what keeps the runner's `/proc/<pid>/environ` out of reach.
 */
export type SandboxIdentity =
  | { kind: "setpriv"; setprivPath: string; uid: number; gid: number }
  | { kind: "userns"; uid: number; gid: number };

export interface BwrapArgsInput {
  layout: HostLayout;
  identity: SandboxIdentity;
  command: string;
  args: string[];
  /**
   * Absolute, bound read-write and used as the working directory; null: nothing of the host
   * is writable, and the command works in its private `/tmp`.
   */
  cwd: string | null;
  /** The script's complete environment. */
  env: Record<string, string>;
  /** Absolute host paths bound read-only at the same path. */
  readOnlyPaths: string[];
  /** Sizes of the private `/tmp` and `/dev/shm`, bytes. */
  tmpfsBytes: { tmp: number; shm: number };
  /**
   * A capped working directory: a tmpfs of `bytes` at `cwd`, with each of `entries` (names in the
   * host's `cwd`) bound read-only into it. Null: the host's `cwd` bound read-write.
   */
  workDir: { bytes: number; entries: string[] } | null;
  /** Host directory bound read-only at {@link RUNTIME_DIR} (MLflow socket, init program), or null. */
  runtimeDir: string | null;
  /** Host file bound at `/etc/resolv.conf` instead of the host's own, or null. */
  resolvConf: string | null;
  /**
   * Programs the command runs under, after the identity switch, each ending in the next
   * (`prlimit … --`, the init): e.g. `["/usr/bin/prlimit", "--core=0", "--"]`.
   */
  wrappers: string[];
  /** The fd bwrap reads `setupArgs` from (`--args`). */
  argsFd: number;
  /** The fd bwrap writes its child pid and namespace ids to (`--info-fd`). */
  infoFd: number;
  /** The fd bwrap waits on, after building the sandbox and before starting the command (`--block-fd`). */
  blockFd: number;
  /** The fd bwrap reads the seccomp BPF program from (`--seccomp`). */
  seccompFd: number;
}

export interface BwrapInvocation {
  /**
   * Mounts, namespaces and environment, NUL-separated on `argsFd`. Kept off the command line
   * because the sandbox's pid 1 is bwrap itself and `/proc/1/cmdline` is readable by the script
   * (and `/proc/<pid>/cmdline` by every host user): `--setenv` values must not appear there.
   */
  setupArgs: string[];
  /** bwrap's real argv: `--args <fd> -- [setpriv …] command args…`. */
  argv: string[];
}

/** Where the sandbox sees its runtime directory: the MLflow socket and the init program. */
export const RUNTIME_DIR = "/asgard";

/** The sandbox's own tmpfs: the working directory of a command given no host directory. */
export const PRIVATE_TMP = "/tmp";

/** `/usr` first: every other entry is either a symlink into it or a sibling. */
export const SYSTEM_PATHS = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"] as const;

/**
 * /etc entries bound when present. Deliberately not `/etc/ssl` as a whole: `/etc/ssl/private`
 * holds the host's TLS keys.
 */
export const ETC_PATHS = [
  "/etc/ssl/certs",
  "/etc/ssl/openssl.cnf",
  "/etc/ca-certificates",
  "/etc/pki/tls/certs",
  "/etc/pki/ca-trust/extracted",
  "/etc/resolv.conf",
  "/etc/hosts",
  "/etc/host.conf",
  "/etc/gai.conf",
  "/etc/nsswitch.conf",
  "/etc/passwd",
  "/etc/group",
  "/etc/localtime",
  "/etc/ld.so.cache",
  "/etc/mime.types",
] as const;

/** Kept by bwrap for setpriv, which needs them to switch identity and clear the bounding set. */
export const SETPRIV_CAPS = ["CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP", "CAP_DAC_READ_SEARCH"] as const;

/** Throws unless `p` is an absolute, normalized path other than `/`. */
export function assertSandboxPath(p: string, what: string): void {
  if (!posix.isAbsolute(p) || posix.normalize(p) !== p || p.includes("\0")) {
    throw new TypeError(`${what} must be an absolute, normalized path, got ${JSON.stringify(p)}`);
  }
  if (p === "/" || p.endsWith("/")) {
    throw new TypeError(`${what} must not be the root directory or end with "/", got ${JSON.stringify(p)}`);
  }
}

/** Throws unless `name` can be an environment variable name. */
export function assertEnvName(name: string): void {
  if (name.length === 0 || name.includes("=") || name.includes("\0")) {
    throw new TypeError(`invalid environment variable name ${JSON.stringify(name)}`);
  }
}

/** Every proper ancestor of an absolute path, shallowest first: `/a/b/c` → `/a`, `/a/b`. */
export function ancestorsOf(p: string): string[] {
  const parts = p.split("/").filter((s) => s.length > 0);
  const out: string[] = [];
  for (let i = 1; i < parts.length; i++) out.push("/" + parts.slice(0, i).join("/"));
  return out;
}

function depth(p: string): number {
  return p.split("/").filter((s) => s.length > 0).length;
}

function isAtOrUnder(p: string, base: string): boolean {
  return p === base || p.startsWith(base + "/");
}

/** Builds the bubblewrap invocation for one script. Pure: the host is described by `layout`. */
export function buildBwrapArgs(input: BwrapArgsInput): BwrapInvocation {
  if (input.cwd !== null) assertSandboxPath(input.cwd, "cwd");
  for (const p of input.readOnlyPaths) assertSandboxPath(p, "readOnlyPaths entry");
  for (const p of [input.runtimeDir, input.resolvConf]) if (p !== null) assertSandboxPath(p, "runtime path");
  for (const name of Object.keys(input.env)) assertEnvName(name);

  const setup: string[] = [];
  // Destinations whose content comes from the host: everything beneath them already exists.
  const hostBacked: string[] = [];
  // Directories that exist in the sandbox without host content (tmpfs roots, dirs made here).
  const created = new Set<string>(["/", "/tmp", "/dev", "/proc"]);

  // bwrap creates missing parents of a mount point itself, but copies the host directory's
  // mode: binding /root/.pyenv/versions/3.11.7 yields a 0700 /root the script cannot cross.
  const makeParents = (dest: string): void => {
    for (const dir of ancestorsOf(dest)) {
      if (created.has(dir) || hostBacked.some((h) => isAtOrUnder(dir, h))) continue;
      setup.push("--perms", "0755", "--dir", dir);
      created.add(dir);
    }
  };
  const bind = (flag: "--ro-bind" | "--bind", path: string, dest: string = path): void => {
    makeParents(dest);
    setup.push(flag, path, dest);
    hostBacked.push(dest);
  };

  for (const entry of input.layout.systemEntries) {
    if (entry.kind === "dir") bind("--ro-bind", entry.path);
    else {
      setup.push("--symlink", entry.target, entry.path);
      hostBacked.push(entry.path);
    }
  }
  setup.push("--proc", "/proc", "--dev", "/dev");
  // Writable by anyone, sticky, like on the host: Python's tempfile and multiprocessing
  // (semaphores in /dev/shm, which PyTorch data loaders need) run as the unprivileged uid.
  // Sized: bwrap's default is half the host's memory (charged to the sandbox's cgroup).
  setup.push("--size", String(input.tmpfsBytes.tmp), "--perms", "1777", "--tmpfs", "/tmp");
  setup.push("--size", String(input.tmpfsBytes.shm), "--perms", "1777", "--tmpfs", "/dev/shm");
  created.add("/dev/shm");
  for (const p of input.layout.etcPaths) {
    if (p !== "/etc/resolv.conf" || input.resolvConf === null) bind("--ro-bind", p);
  }
  if (input.resolvConf !== null) bind("--ro-bind", input.resolvConf, "/etc/resolv.conf");
  if (input.runtimeDir !== null) bind("--ro-bind", input.runtimeDir, RUNTIME_DIR);

  // Parents before children, or a later bind would hide an earlier one.
  const binds = [
    ...[...new Set(input.readOnlyPaths)].map((path) => ({ flag: "--ro-bind" as const, path })),
    ...(input.cwd === null ? [] : [{ flag: "--bind" as const, path: input.cwd }]),
  ].sort((a, b) => depth(a.path) - depth(b.path));
  for (const b of binds) {
    if (b.path !== input.cwd || input.workDir === null) {
      bind(b.flag, b.path);
      continue;
    }
    // Sized like /tmp, and like it charged to the sandbox's memory: the script's total output is capped.
    makeParents(input.cwd);
    setup.push("--size", String(input.workDir.bytes), "--perms", "1777", "--tmpfs", input.cwd);
    created.add(input.cwd);
    for (const name of [...input.workDir.entries].sort()) {
      if (name.includes("/") || name === "." || name === "..") throw new TypeError(`work directory entry must be a name, got ${JSON.stringify(name)}`);
      bind("--ro-bind", `${input.cwd}/${name}`);
    }
  }
  setup.push("--chdir", input.cwd ?? PRIVATE_TMP);

  // The network namespace holds only a loopback of its own (and slirp4netns's tap0 when
  // the script may reach the internet): nothing of the host's network.
  setup.push("--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-net");
  if (input.identity.kind === "userns") {
    setup.push(
      "--unshare-user",
      "--uid",
      String(input.identity.uid),
      "--gid",
      String(input.identity.gid),
      "--disable-userns",
    );
  }
  // As root bwrap would otherwise hand the command every capability; only setpriv's survive,
  // and setpriv drops them (and the bounding set) before exec. CAP_DAC_READ_SEARCH lets
  // bwrap, still uid 0, --chdir into a working directory that is 0700 and owned by `uid`.
  setup.push("--cap-drop", "ALL");
  if (input.identity.kind === "setpriv") {
    for (const cap of SETPRIV_CAPS) setup.push("--cap-add", cap);
  }
  setup.push("--die-with-parent", "--new-session", "--info-fd", String(input.infoFd), "--block-fd", String(input.blockFd));
  setup.push("--seccomp", String(input.seccompFd));
  setup.push("--clearenv");
  for (const name of Object.keys(input.env).sort()) setup.push("--setenv", name, input.env[name] ?? "");

  // bwrap stops reading --args data at "--", so the command must be on the real command line;
  // it is no secret: the script sees its own argv anyway.
  const argv = ["--args", String(input.argsFd), "--"];
  if (input.identity.kind === "setpriv") {
    argv.push(
      input.identity.setprivPath,
      "--reuid",
      String(input.identity.uid),
      "--regid",
      String(input.identity.gid),
      "--clear-groups",
      "--inh-caps=-all",
      "--ambient-caps=-all",
      "--bounding-set=-all",
      "--",
    );
  }
  argv.push(...input.wrappers, input.command, ...input.args);
  return { setupArgs: setup, argv };
}

/** The `--args` payload: every argument NUL-terminated. */
export function encodeArgs(args: string[]): Buffer {
  for (const a of args) {
    if (a.includes("\0")) throw new TypeError("sandbox arguments must not contain NUL characters");
  }
  return Buffer.from(args.map((a) => a + "\0").join(""), "utf8");
}
