import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ensureMlflowVenv, ensureUv } from "@asgard/tools";
import { collect, findPython, makeJobDir, pythonAt, type Python } from "./support.js";

let job: ReturnType<typeof makeJobDir>;
beforeEach(() => {
  job = makeJobDir();
});
afterEach(() => job.cleanup());

function run(python: Python, code: string, extra: { args?: string[]; env?: Record<string, string> } = {}) {
  return collect({
    command: python.executable,
    args: ["-u", "-c", code, ...(extra.args ?? [])],
    cwd: job.dir,
    env: { PATH: `${python.prefixes[0]}/bin:/usr/bin:/bin`, LANG: "C.UTF-8", ...extra.env },
    readOnlyPaths: python.prefixes,
    timeoutMs: 300_000,
  });
}

function lastJson<T>(lines: string[]): T {
  const last = lines.at(-1);
  if (last === undefined) throw new Error("no output");
  return JSON.parse(last) as T;
}

describe("the seccomp filter", () => {
  it("refuses new user namespaces, by command and by system call", async () => {
    const { stdout } = await collect({
      command: "/bin/sh",
      args: ["-c", "unshare -U true; echo unshare=$?; unshare -Ur true; echo unshare_root=$?"],
      cwd: job.dir,
      env: { PATH: "/usr/bin:/bin" },
      readOnlyPaths: [],
      timeoutMs: 60_000,
    });
    expect(stdout).toEqual(["unshare=1", "unshare_root=1"]);

    // os.unshare exists from Python 3.12; clone(CLONE_NEWUSER) is how a fork into one looks.
    const python312 = pythonAt("/root/.pyenv/versions/3.12.1/bin/python3.12");
    const { stdout: out } = await run(
      python312,
      [
        "import ctypes, errno, json, os",
        "libc = ctypes.CDLL(None, use_errno=True)",
        "def call(f):",
        "    try: f(); return 'allowed'",
        "    except OSError as e: return errno.errorcode[e.errno]",
        "def raw(nr, *args):",
        "    if libc.syscall(nr, *args) == -1: raise OSError(ctypes.get_errno(), 'failed')",
        "CLONE = {'x86_64': 56, 'aarch64': 220}[os.uname().machine]",
        "SIGCHLD = 17",
        "print(json.dumps({",
        "    'os.unshare': call(lambda: os.unshare(os.CLONE_NEWUSER)),",
        "    'unshare(2)': call(lambda: raw(272 if os.uname().machine == 'x86_64' else 97, 0x10000000)),",
        "    'clone(NEWUSER)': call(lambda: raw(CLONE, 0x10000000 | SIGCHLD, 0, 0, 0, 0)),",
        "}))",
      ].join("\n"),
    );
    expect(lastJson(out)).toEqual({ "os.unshare": "EPERM", "unshare(2)": "EPERM", "clone(NEWUSER)": "EPERM" });
  });

  it("answers clone3 with ENOSYS and denies the kernel surface untrusted code has no use for", async () => {
    const python = findPython();
    const { stdout } = await run(
      python,
      [
        "import ctypes, errno, json, os",
        "libc = ctypes.CDLL(None, use_errno=True)",
        "NR = {",
        "    'x86_64': {'clone3': 435, 'ptrace': 101, 'keyctl': 250, 'add_key': 248, 'bpf': 321, 'perf_event_open': 298,",
        "               'userfaultfd': 323, 'io_uring_setup': 425, 'setns': 308, 'open_by_handle_at': 304, 'kexec_load': 246},",
        "    'aarch64': {'clone3': 435, 'ptrace': 117, 'keyctl': 219, 'add_key': 217, 'bpf': 280, 'perf_event_open': 241,",
        "                'userfaultfd': 282, 'io_uring_setup': 425, 'setns': 268, 'open_by_handle_at': 265, 'kexec_load': 104},",
        "}[os.uname().machine]",
        "out = {}",
        "for name, nr in NR.items():",
        // Harmless arguments: without the filter most would fail with EINVAL or EFAULT, and
        // ptrace(PTRACE_TRACEME) would succeed.
        "    out[name] = 'allowed' if libc.syscall(nr, 0, 0, 0, 0, 0) != -1 else errno.errorcode[ctypes.get_errno()]",
        "print(json.dumps(out))",
      ].join("\n"),
    );
    expect(lastJson(stdout)).toEqual({
      clone3: "ENOSYS",
      ptrace: "EPERM",
      keyctl: "EPERM",
      add_key: "EPERM",
      bpf: "EPERM",
      perf_event_open: "EPERM",
      userfaultfd: "EPERM",
      io_uring_setup: "EPERM",
      setns: "EPERM",
      open_by_handle_at: "EPERM",
      kexec_load: "EPERM",
    });
  });
});

describe("what training jobs do, under the filter and limits", () => {
  let mlflowPython: Python;
  beforeAll(async () => {
    mlflowPython = pythonAt(join(await ensureMlflowVenv(), "bin", "python"));
  });

  it("runs numpy, scikit-learn with worker processes, multiprocessing and threads", async () => {
    // A file, as jobs are: processes started with "spawn" import the main module again.
    writeFileSync(
      join(job.dir, "train.py"),
      [
        "import json, multiprocessing, concurrent.futures as cf",
        "import numpy as np",
        "from sklearn.datasets import make_classification",
        "from sklearn.ensemble import RandomForestClassifier",
        "from sklearn.model_selection import cross_val_score",
        "def square(x): return x * x",
        "if __name__ == '__main__':",
        "    X, y = make_classification(n_samples=300, n_features=8, random_state=0)",
        // n_jobs=2: joblib's loky workers are processes that talk through /dev/shm semaphores.
        "    scores = cross_val_score(RandomForestClassifier(n_estimators=20, random_state=0), X, y, cv=3, n_jobs=2)",
        "    out = {'score_ok': bool(scores.mean() > 0.7), 'matmul': float((np.ones((200, 200)) @ np.ones((200, 200)))[0, 0])}",
        "    for method in ('fork', 'spawn', 'forkserver'):",
        "        with multiprocessing.get_context(method).Pool(2) as pool: out[method] = pool.map(square, [1, 2, 3])",
        "    with cf.ThreadPoolExecutor(8) as ex: out['threads'] = sum(ex.map(square, range(10)))",
        "    print(json.dumps(out))",
        "",
      ].join("\n"),
    );
    const { result, stdout, stderr } = await collect({
      command: mlflowPython.executable,
      args: ["-u", "train.py"],
      cwd: job.dir,
      env: { PATH: `${mlflowPython.prefixes[0]}/bin:/usr/bin:/bin`, LANG: "C.UTF-8" },
      readOnlyPaths: mlflowPython.prefixes,
      timeoutMs: 300_000,
    });
    expect({ exitCode: result.exitCode, stderr: stderr.slice(-5) }).toEqual({ exitCode: 0, stderr: [] });
    expect(lastJson(stdout)).toEqual({
      score_ok: true,
      matmul: 200,
      fork: [1, 4, 9],
      spawn: [1, 4, 9],
      forkserver: [1, 4, 9],
      threads: 285,
    });
  }, 300_000);

  it("builds a package from source with pip and installs one with uv", async () => {
    const uv = await ensureUv();
    const toolEnv = pythonAt(join(uv, "..", "python"));
    // A source tree as users write them, with a PEP 517 backend of its own so that nothing
    // has to be downloaded: pip and uv run it in a build subprocess.
    const pkg = join(job.dir, "pkg");
    mkdirSync(join(pkg, "demo_pkg"), { recursive: true });
    writeFileSync(join(pkg, "demo_pkg", "__init__.py"), "VALUE = 42\n");
    writeFileSync(
      join(pkg, "pyproject.toml"),
      '[project]\nname = "demo-pkg"\nversion = "1.0"\n\n[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n',
    );
    writeFileSync(
      join(pkg, "backend.py"),
      [
        "import base64, hashlib, os, zipfile",
        "DIST = 'demo_pkg-1.0.dist-info'",
        "def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):",
        "    name = 'demo_pkg-1.0-py3-none-any.whl'",
        "    files = {",
        "        'demo_pkg/__init__.py': open('demo_pkg/__init__.py', 'rb').read(),",
        "        DIST + '/METADATA': b'Metadata-Version: 2.1\\nName: demo-pkg\\nVersion: 1.0\\n',",
        "        DIST + '/WHEEL': b'Wheel-Version: 1.0\\nGenerator: backend\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n',",
        "    }",
        "    record = []",
        "    with zipfile.ZipFile(os.path.join(wheel_directory, name), 'w') as zf:",
        "        for path, data in files.items():",
        "            zf.writestr(path, data)",
        "            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()",
        "            record.append(f'{path},sha256={digest},{len(data)}')",
        "        record.append(DIST + '/RECORD,,')",
        "        zf.writestr(DIST + '/RECORD', '\\n'.join(record) + '\\n')",
        "    return name",
        "",
      ].join("\n"),
    );
    const script = [
      "set -e",
      `python -m pip wheel --no-index --no-deps -q -w wheels ./pkg`,
      "ls wheels",
      `${uv} venv -q --python "$(command -v python)" target`,
      `${uv} pip install -q --offline --no-index --python target/bin/python ./pkg`,
      "target/bin/python -c 'import demo_pkg; print(demo_pkg.VALUE)'",
    ].join("\n");
    const { result, stdout, stderr } = await collect({
      command: "/bin/sh",
      args: ["-c", script],
      cwd: job.dir,
      env: {
        PATH: `${toolEnv.prefixes[0]}/bin:/usr/bin:/bin`,
        LANG: "C.UTF-8",
        PIP_DISABLE_PIP_VERSION_CHECK: "1",
        UV_CACHE_DIR: "/tmp/uv-cache",
        UV_PYTHON_DOWNLOADS: "never",
      },
      readOnlyPaths: toolEnv.prefixes,
      timeoutMs: 300_000,
    });
    expect({ exitCode: result.exitCode, stderr: stderr.slice(-10) }).toMatchObject({ exitCode: 0 });
    expect(stdout).toEqual(["demo_pkg-1.0-py3-none-any.whl", "42"]);
  });
});
