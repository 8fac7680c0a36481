import { randomBytes } from "node:crypto";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { checkSandbox, runScript, SandboxError } from "../src/index.js";
import { collect, findPython, LEAKED_FD, makeJobDir, startChildRunner } from "./support.js";

const python = findPython();
const asRoot = process.getuid?.() === 0;
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

let job: ReturnType<typeof makeJobDir>;
beforeEach(() => {
  job = makeJobDir();
});
afterEach(() => job.cleanup());

function baseEnv(): Record<string, string> {
  return { PATH: `${python.prefixes[0]}/bin:/usr/bin:/bin`, LC_ALL: "C.UTF-8" };
}

/** Runs Python code in the sandbox and returns its collected output. */
function py(code: string, extra: { env?: Record<string, string>; args?: string[] } = {}) {
  return collect({
    command: python.executable,
    args: ["-u", "-c", code, ...(extra.args ?? [])],
    cwd: job.dir,
    env: extra.env ?? baseEnv(),
    readOnlyPaths: python.prefixes,
    timeoutMs: 60_000,
  });
}

function lastJson<T>(lines: string[]): T {
  const last = lines.at(-1);
  if (last === undefined) throw new Error("no output");
  return JSON.parse(last) as T;
}

describe("runScript in bwrap mode", () => {
  it("reports the exit code and every output line per stream", async () => {
    const { result, stdout, stderr } = await py(
      'import sys\nprint("hello")\nprint("to err", file=sys.stderr)\nprint("line2")\nsys.exit(3)',
    );
    expect(stdout).toEqual(["hello", "line2"]);
    expect(stderr).toEqual(["to err"]);
    expect(result).toMatchObject({ exitCode: 3, signal: null, timedOut: false, cancelled: false });
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
  });

  it("keeps the order of many lines on each stream", async () => {
    const { stdout, stderr } = await py(
      "import sys\nfor i in range(2000):\n    print(i)\n    print(-i, file=sys.stderr)",
    );
    expect(stdout).toEqual(Array.from({ length: 2000 }, (_, i) => String(i)));
    expect(stderr).toEqual(Array.from({ length: 2000 }, (_, i) => String(-i)));
  });

  it("gives the script exactly the given environment, plus HOME and PWD = cwd", async () => {
    const env = { ...baseEnv(), JOB_VAR: "value with spaces=and equals" };
    const { stdout } = await py("import os, json\nprint(json.dumps(dict(os.environ)))", { env });
    expect(lastJson(stdout)).toEqual({ ...env, HOME: job.dir, PWD: job.dir });
  });

  it("runs the script as uid/gid 65534 with no capabilities", async () => {
    const { stdout } = await py(
      "import os, json\nstatus = dict(l.split(':\\t', 1) for l in open('/proc/self/status').read().splitlines() if ':\\t' in l)\n" +
        "print(json.dumps([os.getuid(), os.getgid(), status['CapEff'], status['CapBnd'], status['NoNewPrivs']]))",
    );
    expect(lastJson(stdout)).toEqual([65534, 65534, "0000000000000000", "0000000000000000", "1"]);
  });

  describe("secrets of the runner", () => {
    const canaries = {
      CANARY_SECRET: `canary-${randomBytes(8).toString("hex")}`,
      AWS_SECRET_ACCESS_KEY: `canary-${randomBytes(8).toString("hex")}`,
      DATABASE_URL: `postgres://u:canary-${randomBytes(8).toString("hex")}@db/x`,
    };
    const saved: Record<string, string | undefined> = {};
    beforeAll(() => {
      for (const [k, v] of Object.entries(canaries)) {
        saved[k] = process.env[k];
        process.env[k] = v;
      }
    });
    afterAll(() => {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    });

    // Reads every environ and cmdline under /proc it can; the canaries are never given to it.
    const scan = [
      "import os, json",
      "found = {}",
      "for name in os.listdir('/proc'):",
      "    if not name.isdigit(): continue",
      "    entry = {}",
      "    for f in ('environ', 'cmdline'):",
      "        try:",
      "            with open(f'/proc/{name}/{f}', 'rb') as fh: entry[f] = fh.read().decode('utf-8', 'replace')",
      "        except OSError as e: entry[f] = 'ERR ' + type(e).__name__",
      "    found[name] = entry",
      "print(json.dumps(found))",
    ].join("\n");

    it("cannot read the runner's environment through /proc", async () => {
      const allowed = `allowed-${randomBytes(8).toString("hex")}`;
      // A separate runner process whose own environ (fixed at exec) holds the canaries, as the
      // python-runner's holds its credentials.
      const runner = startChildRunner(
        {
          command: python.executable,
          args: ["-u", "-c", scan],
          cwd: job.dir,
          env: { ...baseEnv(), ALLOWED_VAR: allowed },
          readOnlyPaths: python.prefixes,
          timeoutMs: 60_000,
        },
        { env: { ...process.env, ...canaries } },
      );
      const { result } = await runner.waitFor((r) => "result" in r);
      expect(result).toMatchObject({ exitCode: 0 });
      const lines = runner.reports.filter((r) => r.stream === "stdout").map((r) => String(r.line));
      const found = lastJson<Record<string, { environ: string; cmdline: string }>>(lines);
      const dump = JSON.stringify(found);
      // The scan works: it sees its own environment...
      expect(dump).toContain(allowed);
      // ...but no canary, and neither the runner nor this test process.
      for (const canary of Object.values(canaries)) expect(dump).not.toContain(canary);
      expect(Object.keys(found)).not.toContain(String(runner.process.pid));
      expect(Object.keys(found)).not.toContain(String(process.pid));
      // The sandbox's pid 1 is bwrap: its command line must not carry the environment.
      expect(found["1"]?.cmdline).toContain("bwrap");
      expect(found["1"]?.cmdline).not.toContain(allowed);
      await runner.exited;
    });

    it("cannot find the canaries of this process either", async () => {
      const { stdout } = await py(scan);
      const dump = stdout.join("\n");
      for (const canary of Object.values(canaries)) expect(dump).not.toContain(canary);
      expect(Object.keys(JSON.parse(dump) as object)).not.toContain(String(process.pid));
    });
  });

  it("cannot write to read-only paths or the system", async () => {
    const prefix = python.prefixes[0];
    const { stdout } = await py(
      [
        "import os, json, sys",
        "results = {}",
        "for path in sys.argv[1:]:",
        "    try:",
        "        open(path, 'w').write('x')",
        "        results[path] = 'written'",
        "    except OSError as e:",
        "        results[path] = type(e).__name__",
        "try:",
        "    os.mkdir(sys.argv[1] + '.d')",
        "    results['mkdir'] = 'written'",
        "except OSError as e:",
        "    results['mkdir'] = type(e).__name__",
        "print(json.dumps(results))",
      ].join("\n"),
      { args: [`${prefix}/sandbox-probe`, `${prefix}/bin/sandbox-probe`, "/usr/sandbox-probe", "/etc/sandbox-probe", "/sandbox-probe"] },
    );
    const results = lastJson<Record<string, string>>(stdout);
    expect(Object.keys(results)).toHaveLength(6);
    for (const [path, outcome] of Object.entries(results)) expect({ path, outcome }).not.toMatchObject({ outcome: "written" });
    expect(existsSync(`${prefix}/sandbox-probe`)).toBe(false);
  });

  it("can write to its working directory and /tmp, as its own uid", async () => {
    const { result } = await py(
      "open('out.txt', 'w').write('result')\nopen('/tmp/scratch', 'w').write('tmp')\nimport os\nos.mkdir('sub')",
    );
    expect(result.exitCode).toBe(0);
    expect(readFileSync(join(job.dir, "out.txt"), "utf8")).toBe("result");
    if (asRoot) expect(statSync(join(job.dir, "out.txt")).uid).toBe(65534);
  });

  it("sees none of the host's other files: other jobs, the repository, /home, keys", async () => {
    const otherJob = mkdtempSync(join(tmpdir(), "sandbox-other-job-"));
    writeFileSync(join(otherJob, "secret.txt"), "other job's data");
    try {
      const candidates = [otherJob, join(otherJob, "secret.txt"), repoRoot, "/home", "/var", "/etc/shadow", "/etc/ssl/private", "/run"];
      const hostHas = candidates.filter((p) => existsSync(p));
      const { stdout } = await py("import os, json, sys\nprint(json.dumps([p for p in sys.argv[1:] if os.path.exists(p)]))", {
        args: hostHas,
      });
      expect(hostHas.length).toBeGreaterThanOrEqual(3);
      expect(lastJson(stdout)).toEqual([]);
    } finally {
      rmSync(otherJob, { recursive: true, force: true });
    }
  });

  const listFds = [
    "import os, json",
    "open_fds = {}",
    "for fd in range(3, 1024):",
    "    try:",
    "        os.fstat(fd)",
    "    except OSError:",
    "        continue",
    "    target = os.readlink(f'/proc/self/fd/{fd}')",
    "    try:",
    "        content = os.pread(fd, 200, 0).decode('utf-8', 'replace')",
    "    except OSError as e:",
    "        content = type(e).__name__",
    "    open_fds[fd] = [target, content]",
    "print(json.dumps(open_fds))",
  ].join("\n");

  it("does not pass the sandbox's setup pipes (fds 3 to 6) to the script", async () => {
    const { stdout } = await py(listFds);
    const fds = lastJson<Record<string, [string, string]>>(stdout);
    for (const fd of ["3", "4", "5", "6"]) expect(Object.keys(fds)).not.toContain(fd);
    for (const [target] of Object.values(fds)) expect(target).toBe("/dev/null");
  });

  it("turns a descriptor the runner inherited without O_CLOEXEC into /dev/null", async () => {
    const secretFile = join(job.dir, "..", `${job.dir.split("/").at(-1)}-leaked.txt`);
    const secret = `leaked-${randomBytes(8).toString("hex")}`;
    writeFileSync(secretFile, secret);
    const leakFd = openSync(secretFile, "r");
    try {
      const runner = startChildRunner(
        {
          command: python.executable,
          args: ["-u", "-c", listFds],
          cwd: job.dir,
          env: baseEnv(),
          readOnlyPaths: python.prefixes,
          timeoutMs: 60_000,
        },
        { leakFd },
      );
      await runner.waitFor((r) => "result" in r);
      const lines = runner.reports.filter((r) => r.stream === "stdout").map((r) => String(r.line));
      const fds = lastJson<Record<string, [string, string]>>(lines);
      expect(fds[String(LEAKED_FD)]?.[0]).toBe("/dev/null");
      expect(JSON.stringify(fds)).not.toContain(secret);
      await runner.exited;
    } finally {
      closeSync(leakFd);
      rmSync(secretFile, { force: true });
    }
  });

  it("provides what training scripts need: CA certificates, name resolution, multiprocessing, /tmp", async () => {
    const { stdout, stderr } = await py(
      [
        "import json, multiprocessing, socket, ssl, tempfile",
        "def square(x): return x * x",
        "if __name__ == '__main__':",
        "    with multiprocessing.Pool(2) as pool: squares = pool.map(square, [1, 2, 3])",
        "    print(json.dumps({",
        "        'cas': ssl.create_default_context().cert_store_stats()['x509_ca'],",
        "        'localhost': socket.getaddrinfo('localhost', 80)[0][4][0] in ('127.0.0.1', '::1'),",
        "        'squares': squares,",
        "        'tmp': tempfile.mkstemp()[1].startswith('/tmp/'),",
        "    }))",
      ].join("\n"),
    );
    expect(stderr).toEqual([]);
    const report = lastJson<{ cas: number; localhost: boolean; squares: number[]; tmp: boolean }>(stdout);
    expect(report.cas).toBeGreaterThan(0);
    expect(report).toMatchObject({ localhost: true, squares: [1, 4, 9], tmp: true });
  });

  it("reports a script killed by a signal as exit code 128 + signal", async () => {
    const { result } = await py("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)");
    expect(result).toMatchObject({ exitCode: 137, signal: null, timedOut: false, cancelled: false });
  });

  it("refuses a read-only path that does not exist", () => {
    expect(() =>
      runScript({
        command: python.executable,
        args: [],
        cwd: job.dir,
        env: {},
        readOnlyPaths: [join(job.dir, "missing")],
        timeoutMs: 1000,
        onLine: () => {},
      }),
    ).toThrow(expect.objectContaining({ name: "SandboxError", code: "SPAWN_FAILED" }) as SandboxError);
  });

  it("refuses a working directory that does not exist", () => {
    expect(() =>
      runScript({
        command: python.executable,
        args: [],
        cwd: join(job.dir, "missing"),
        env: {},
        readOnlyPaths: [],
        timeoutMs: 1000,
        onLine: () => {},
      }),
    ).toThrow(SandboxError);
  });
});

describe("checkSandbox", () => {
  it("finds bubblewrap working on this machine", async () => {
    const check = await checkSandbox();
    expect(check).toMatchObject({ available: true, bwrapPath: expect.stringMatching(/\/bwrap$/) as string, reason: null });
  });

  it("reports per-sandbox cgroups and internet access as this machine offers them", async () => {
    // Root on this kind of machine: writable cgroup v1 hierarchies and slirp4netns installed
    // (both in the project's Debian packages).
    const check = await checkSandbox();
    expect(check.cgroups).toEqual(
      asRoot ? { available: true, version: "v1", reason: null } : { available: false, version: null, reason: expect.any(String) as string },
    );
    // Unprivileged, slirp4netns needs /dev/net/tun to be open to the runner's user.
    if (asRoot) expect(check.internet).toEqual({ available: true, reason: null });
    else expect(check.internet.available || check.internet.reason !== null).toBe(true);
  });
});
