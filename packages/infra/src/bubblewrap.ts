import { existsSync } from "node:fs";
import { join } from "node:path";
import { pythonExecutable, run } from "@asgard/tools";

/**
 * A Debian package the platform or its tests use, how to tell it is there, and what for.
 * Everything else comes from npm or PyPI into the workspace or `~/.cache/asgard/tools`.
 */
export interface DebianNeed {
  package: string;
  why: string;
  present(): Promise<boolean>;
}

const onPath = (name: string) =>
  [...(process.env.PATH ?? "").split(":"), "/usr/sbin", "/usr/bin", "/sbin", "/bin"].some((d) => d && existsSync(join(d, name)));

/** Every Debian package in use; `npm test` installs them all, `npm start` those it runs with. */
/** Where Debian's chromium package puts the browser. */
export const CHROMIUM_PATH = "/usr/bin/chromium";

export const DEBIAN_PACKAGES = {
  bubblewrap: {
    package: "bubblewrap",
    why: "the python-runner's sandbox (bwrap)",
    present: async () => existsSync("/usr/bin/bwrap") || existsSync("/usr/local/bin/bwrap"),
  },
  utilLinux: {
    // Essential in Debian, so always there; listed so the audit is complete.
    package: "util-linux",
    why: "setpriv and unshare: npm start's children die with it; the runner drops privileges; PostgreSQL in tests runs as uid 65534",
    present: async () => onPath("setpriv") && onPath("unshare"),
  },
  pythonVenv: {
    package: "python3-venv",
    why: "`python3 -m venv`, which creates uv's own virtualenv (Debian's python3 ships without ensurepip)",
    present: async () =>
      run(pythonExecutable(), ["-c", "import ensurepip, venv"], { timeoutMs: 30_000 }).then(
        () => true,
        () => false,
      ),
  },
  pythonSeccomp: {
    // Debian's binding serves /usr/bin/python3 only, which is what compiles the filter.
    package: "python3-seccomp",
    why: "compiling the sandbox's seccomp filter (with the system python3)",
    present: async () =>
      run("/usr/bin/python3", ["-I", "-c", "import seccomp"], { timeoutMs: 30_000 }).then(
        () => true,
        () => false,
      ),
  },
  slirp4netns: {
    package: "slirp4netns",
    why: "outbound internet for sandboxes that are allowed it (the host's loopback stays unreachable)",
    present: async () => onPath("slirp4netns"),
  },
  procps: {
    package: "procps",
    why: "`ps`, with which the sandbox tests look for processes a job left",
    present: async () => onPath("ps"),
  },
  chromium: {
    package: "chromium",
    why: "the browser the web console's end-to-end test drives with playwright-core (no browser download is possible)",
    present: async () => existsSync(CHROMIUM_PATH),
  },
} as const satisfies Record<string, DebianNeed>;

/**
 * Installs what is missing of `needs` where we are root with apt (one apt-get call, after
 * refreshing the package lists if the first attempt fails); elsewhere says what to install.
 */
export async function ensureDebianPackages(needs: readonly DebianNeed[]): Promise<{ missing: DebianNeed[]; message: string | null }> {
  const absent = async () => (await Promise.all(needs.map(async (n) => ((await n.present()) ? null : n)))).filter((n): n is DebianNeed => n !== null);
  let missing = await absent();
  if (missing.length === 0) return { missing, message: null };
  if (process.getuid?.() === 0 && existsSync("/usr/bin/apt-get")) {
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    const install = () => run("apt-get", ["install", "-y", "-q", ...missing.map((n) => n.package)], { env, timeoutMs: 5 * 60_000 });
    try {
      await install();
    } catch {
      // A fresh machine may have no package lists yet.
      await run("apt-get", ["update", "-q"], { env, timeoutMs: 5 * 60_000 }).catch(() => undefined);
      await install().catch(() => undefined);
    }
    missing = await absent();
    if (missing.length === 0) return { missing, message: null };
  }
  return {
    missing,
    message: `missing Debian package(s): ${missing.map((n) => `${n.package} (${n.why})`).join("; ")}; install them with apt-get install ${missing.map((n) => n.package).join(" ")}`,
  };
}

/**
 * The runner sandboxes scripts with bubblewrap, a seccomp filter compiled by python3-seccomp
 * and, for sandboxes allowed the internet, slirp4netns. On a machine where we are root with
 * apt, the project's own commands install them; elsewhere they say what is missing instead
 * of failing later inside a job.
 */
export async function ensureBubblewrap(): Promise<{ available: boolean; message: string | null }> {
  const { missing, message } = await ensureDebianPackages([DEBIAN_PACKAGES.bubblewrap, DEBIAN_PACKAGES.pythonSeccomp, DEBIAN_PACKAGES.slirp4netns]);
  if (missing.length === 0) return { available: true, message: null };
  return {
    available: false,
    message: `${message}, or set RUNNER_SANDBOX=process-group and INFERENCE_SANDBOX=process-group to run scripts and models without a sandbox (development only)`,
  };
}
