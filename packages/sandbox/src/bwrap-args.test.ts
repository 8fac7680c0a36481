import { describe, expect, it } from "vitest";
import {
  ancestorsOf,
  buildBwrapArgs,
  encodeArgs,
  type BwrapArgsInput,
  type HostLayout,
} from "./bwrap-args.js";

const mergedUsr: HostLayout = {
  systemEntries: [
    { path: "/usr", kind: "dir" },
    { path: "/bin", kind: "symlink", target: "usr/bin" },
    { path: "/lib", kind: "symlink", target: "usr/lib" },
    { path: "/lib64", kind: "symlink", target: "usr/lib64" },
  ],
  etcPaths: ["/etc/ssl/certs", "/etc/resolv.conf", "/etc/passwd"],
};

function input(overrides: Partial<BwrapArgsInput> = {}): BwrapArgsInput {
  return {
    layout: mergedUsr,
    identity: { kind: "setpriv", setprivPath: "/usr/bin/setpriv", uid: 65534, gid: 65534 },
    command: "/opt/envs/e1/bin/python",
    args: ["-u", "train.py"],
    cwd: "/var/lib/runner/jobs/j1",
    env: { PATH: "/opt/envs/e1/bin:/usr/bin", MLFLOW_RUN_ID: "r1" },
    readOnlyPaths: ["/opt/envs/e1", "/root/.pyenv/versions/3.11.7"],
    tmpfsBytes: { tmp: 1 << 30, shm: 1 << 28 },
    workDir: null,
    runtimeDir: null,
    resolvConf: null,
    wrappers: [],
    argsFd: 3,
    infoFd: 4,
    blockFd: 5,
    seccompFd: 6,
    ...overrides,
  };
}

/** The option groups of a flat argument list, e.g. ["--bind", src, dest]. */
function triples(args: string[], flag: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  args.forEach((a, i) => {
    if (a === flag) out.push([args[i + 1] ?? "", args[i + 2] ?? ""]);
  });
  return out;
}

function values(args: string[], flag: string): string[] {
  return args.flatMap((a, i) => (a === flag ? [args[i + 1] ?? ""] : []));
}

describe("ancestorsOf", () => {
  it("lists proper ancestors shallowest first", () => {
    expect(ancestorsOf("/a/b/c")).toEqual(["/a", "/a/b"]);
    expect(ancestorsOf("/a")).toEqual([]);
  });
});

describe("buildBwrapArgs", () => {
  it("binds a minimal root, never the host's /", () => {
    const { setupArgs } = buildBwrapArgs(input());
    const roBinds = triples(setupArgs, "--ro-bind");
    expect(roBinds).not.toContainEqual(["/", "/"]);
    expect(roBinds).toContainEqual(["/usr", "/usr"]);
    expect(roBinds).toContainEqual(["/etc/ssl/certs", "/etc/ssl/certs"]);
    expect(roBinds).toContainEqual(["/etc/resolv.conf", "/etc/resolv.conf"]);
    expect(triples(setupArgs, "--symlink")).toEqual([
      ["usr/bin", "/bin"],
      ["usr/lib", "/lib"],
      ["usr/lib64", "/lib64"],
    ]);
    expect(values(setupArgs, "--proc")).toEqual(["/proc"]);
    expect(values(setupArgs, "--dev")).toEqual(["/dev"]);
    expect(values(setupArgs, "--tmpfs")).toEqual(["/tmp", "/dev/shm"]);
  });

  it("binds read-only paths read-only and only cwd read-write", () => {
    const { setupArgs } = buildBwrapArgs(input());
    expect(triples(setupArgs, "--ro-bind")).toContainEqual(["/opt/envs/e1", "/opt/envs/e1"]);
    expect(triples(setupArgs, "--ro-bind")).toContainEqual([
      "/root/.pyenv/versions/3.11.7",
      "/root/.pyenv/versions/3.11.7",
    ]);
    expect(triples(setupArgs, "--bind")).toEqual([["/var/lib/runner/jobs/j1", "/var/lib/runner/jobs/j1"]]);
    expect(values(setupArgs, "--chdir")).toEqual(["/var/lib/runner/jobs/j1"]);
  });

  it("without a cwd binds nothing read-write and works in the private /tmp", () => {
    const { setupArgs } = buildBwrapArgs(input({ cwd: null }));
    expect(triples(setupArgs, "--bind")).toEqual([]);
    expect(triples(setupArgs, "--ro-bind")).toContainEqual(["/opt/envs/e1", "/opt/envs/e1"]);
    expect(values(setupArgs, "--chdir")).toEqual(["/tmp"]);
    expect(values(setupArgs, "--tmpfs")).toContain("/tmp");
  });

  it("creates traversable parents for binds outside host-backed dirs, before the bind", () => {
    const { setupArgs } = buildBwrapArgs(input());
    const dirs = values(setupArgs, "--dir");
    expect(dirs).toEqual(
      expect.arrayContaining(["/root", "/root/.pyenv", "/root/.pyenv/versions", "/opt", "/opt/envs", "/etc", "/etc/ssl"]),
    );
    expect(dirs).not.toContain("/usr");
    for (const dir of dirs) {
      const i = setupArgs.indexOf(dir);
      expect(setupArgs.slice(i - 3, i)).toEqual(["--perms", "0755", "--dir"]);
    }
    expect(setupArgs.indexOf("/root")).toBeLessThan(setupArgs.indexOf("--ro-bind", setupArgs.indexOf("/root")));
  });

  it("creates no parents under a host-backed bind, and none twice", () => {
    const { setupArgs } = buildBwrapArgs(
      input({ readOnlyPaths: ["/usr/local/envs/e1", "/srv/a/x", "/srv/a/y"], cwd: "/tmp/jobs/j1" }),
    );
    const dirs = values(setupArgs, "--dir");
    expect(dirs.filter((d) => d.startsWith("/usr"))).toEqual([]);
    expect(dirs.filter((d) => d === "/srv/a")).toHaveLength(1);
    expect(dirs).toContain("/tmp/jobs");
    expect(dirs).not.toContain("/tmp");
  });

  it("binds parents before children whatever the order given", () => {
    const { setupArgs } = buildBwrapArgs(input({ readOnlyPaths: ["/opt/envs/e1/lib", "/opt/envs"] }));
    const dests = triples(setupArgs, "--ro-bind").map(([, d]) => d);
    expect(dests.indexOf("/opt/envs")).toBeLessThan(dests.indexOf("/opt/envs/e1/lib"));
  });

  it("switches identity with setpriv when root, dropping every capability", () => {
    const { setupArgs, argv } = buildBwrapArgs(input());
    expect(setupArgs).not.toContain("--unshare-user");
    expect(values(setupArgs, "--cap-drop")).toEqual(["ALL"]);
    expect(values(setupArgs, "--cap-add")).toEqual(["CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP", "CAP_DAC_READ_SEARCH"]);
    expect(argv).toEqual([
      "--args",
      "3",
      "--",
      "/usr/bin/setpriv",
      "--reuid",
      "65534",
      "--regid",
      "65534",
      "--clear-groups",
      "--inh-caps=-all",
      "--ambient-caps=-all",
      "--bounding-set=-all",
      "--",
      "/opt/envs/e1/bin/python",
      "-u",
      "train.py",
    ]);
  });

  it("maps the uid in a user namespace when not root", () => {
    const { setupArgs, argv } = buildBwrapArgs(input({ identity: { kind: "userns", uid: 1000, gid: 1001 } }));
    expect(setupArgs).toEqual(expect.arrayContaining(["--unshare-user", "--disable-userns"]));
    expect(values(setupArgs, "--uid")).toEqual(["1000"]);
    expect(values(setupArgs, "--gid")).toEqual(["1001"]);
    expect(values(setupArgs, "--cap-add")).toEqual([]);
    expect(argv).toEqual(["--args", "3", "--", "/opt/envs/e1/bin/python", "-u", "train.py"]);
  });

  it("always unshares the network", () => {
    expect(buildBwrapArgs(input()).setupArgs).toContain("--unshare-net");
    expect(buildBwrapArgs(input({ identity: { kind: "userns", uid: 1, gid: 1 } })).setupArgs).toContain("--unshare-net");
  });

  it("sizes /tmp and /dev/shm", () => {
    const { setupArgs } = buildBwrapArgs(input({ tmpfsBytes: { tmp: 1000, shm: 2000 } }));
    const tmp = setupArgs.indexOf("/tmp");
    const shm = setupArgs.indexOf("/dev/shm");
    expect(setupArgs.slice(tmp - 5, tmp)).toEqual(["--size", "1000", "--perms", "1777", "--tmpfs"]);
    expect(setupArgs.slice(shm - 5, shm)).toEqual(["--size", "2000", "--perms", "1777", "--tmpfs"]);
  });

  it("makes a capped working directory a sized tmpfs holding read-only binds of the host's entries", () => {
    const { setupArgs } = buildBwrapArgs(input({ workDir: { bytes: 4096, entries: ["train.py", "data"] } }));
    const cwd = "/var/lib/runner/jobs/j1";
    const tmpfs = setupArgs.indexOf(cwd) - 1;
    expect(setupArgs.slice(tmpfs - 4, tmpfs + 2)).toEqual([
      "--size",
      "4096",
      "--perms",
      "1777",
      "--tmpfs",
      cwd,
    ]);
    expect(triples(setupArgs, "--ro-bind")).toEqual(expect.arrayContaining([[`${cwd}/data`, `${cwd}/data`], [`${cwd}/train.py`, `${cwd}/train.py`]]));
    expect(triples(setupArgs, "--bind")).not.toContainEqual([cwd, cwd]);
    expect(() => buildBwrapArgs(input({ workDir: { bytes: 4096, entries: ["../x"] } }))).toThrow(TypeError);
  });

  it("waits on the block fd and loads the seccomp filter from its fd", () => {
    const { setupArgs } = buildBwrapArgs(input());
    expect(values(setupArgs, "--block-fd")).toEqual(["5"]);
    expect(values(setupArgs, "--seccomp")).toEqual(["6"]);
  });

  it("binds the runtime directory read-only at /asgard and a replacement resolv.conf", () => {
    const { setupArgs } = buildBwrapArgs(
      input({ runtimeDir: "/tmp/asgard-sandbox-x", resolvConf: "/tmp/asgard-sandbox-x/resolv.conf" }),
    );
    const roBinds = triples(setupArgs, "--ro-bind");
    expect(roBinds).toContainEqual(["/tmp/asgard-sandbox-x", "/asgard"]);
    expect(roBinds).toContainEqual(["/tmp/asgard-sandbox-x/resolv.conf", "/etc/resolv.conf"]);
    expect(roBinds).not.toContainEqual(["/etc/resolv.conf", "/etc/resolv.conf"]);
    expect(triples(setupArgs, "--bind").map(([, d]) => d)).not.toContain("/asgard");
  });

  it("runs the command under the wrappers, after the identity switch", () => {
    const { argv } = buildBwrapArgs(input({ wrappers: ["/usr/bin/prlimit", "--core=0", "--"] }));
    expect(argv.slice(argv.indexOf("--bounding-set=-all") + 1)).toEqual([
      "--",
      "/usr/bin/prlimit",
      "--core=0",
      "--",
      "/opt/envs/e1/bin/python",
      "-u",
      "train.py",
    ]);
  });

  it("isolates pid, ipc and uts and ties the sandbox to its parent", () => {
    const { setupArgs } = buildBwrapArgs(input());
    for (const flag of ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--die-with-parent", "--new-session"]) {
      expect(setupArgs).toContain(flag);
    }
    expect(values(setupArgs, "--info-fd")).toEqual(["4"]);
  });

  it("clears the environment and sets exactly the given one, off the command line", () => {
    const { setupArgs, argv } = buildBwrapArgs(input({ env: { B: "2", A: "x y=z" } }));
    const i = setupArgs.indexOf("--clearenv");
    expect(i).toBeGreaterThanOrEqual(0);
    expect(setupArgs.slice(i + 1)).toEqual(["--setenv", "A", "x y=z", "--setenv", "B", "2"]);
    expect(argv.join(" ")).not.toContain("x y=z");
  });

  it("rejects relative, unnormalized and root paths and bad variable names", () => {
    expect(() => buildBwrapArgs(input({ cwd: "jobs/j1" }))).toThrow(TypeError);
    expect(() => buildBwrapArgs(input({ cwd: "/jobs/../etc" }))).toThrow(TypeError);
    expect(() => buildBwrapArgs(input({ readOnlyPaths: ["/"] }))).toThrow(TypeError);
    expect(() => buildBwrapArgs(input({ env: { "A=B": "x" } }))).toThrow(TypeError);
  });
});

describe("encodeArgs", () => {
  it("NUL-terminates every argument", () => {
    expect(encodeArgs(["--setenv", "A", ""]).toString()).toBe("--setenv\0A\0\0");
  });

  it("refuses NUL inside an argument", () => {
    expect(() => encodeArgs(["a\0b"])).toThrow(TypeError);
  });
});
