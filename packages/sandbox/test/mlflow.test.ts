import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from "vitest";
import { ensureMlflowVenv } from "@asgard/tools";
import { createMlflowClient, type MlflowClient } from "@asgard/mlflow";
import { collect, findPython, makeJobDir, pythonAt, startChildRunner, type Python } from "./support.js";

let python: Python;
let mlflow: MlflowClient;
let job: ReturnType<typeof makeJobDir>;
const tenant = `tenant-${randomBytes(4).toString("hex")}`;
const other = `other-${randomBytes(4).toString("hex")}`;

beforeAll(async () => {
  python = pythonAt(join(await ensureMlflowVenv(), "bin", "python"));
  mlflow = createMlflowClient({ baseUrl: inject("infra").mlflowUrl, timeoutMs: 30_000 });
  await mlflow.ensureWorkspace(tenant);
  await mlflow.ensureWorkspace(other);
});
afterAll(() => mlflow.close());
beforeEach(() => {
  job = makeJobDir();
});
afterEach(() => job.cleanup());

function options(code: string, args: string[]) {
  return {
    command: python.executable,
    args: ["-u", "-c", code, ...args],
    cwd: job.dir,
    // As a job gets it: no MLflow credentials, and a tracking URI the sandbox replaces.
    env: { PATH: `${python.prefixes[0]}/bin:/usr/bin:/bin`, LANG: "C.UTF-8", MLFLOW_TRACKING_URI: "http://mlflow.invalid:5000" },
    readOnlyPaths: python.prefixes,
    timeoutMs: 300_000,
    mlflow: { url: inject("infra").mlflowUrl, workspace: tenant },
  };
}

function lastJson<T>(lines: string[]): T {
  const last = lines.at(-1);
  if (last === undefined) throw new Error("no output");
  return JSON.parse(last) as T;
}

describe("MLflow from a sandbox", () => {
  it("reaches MLflow with plain client code, and every run lands in the sandbox's workspace", async () => {
    const experiment = `sandboxed-${randomBytes(4).toString("hex")}`;
    // The script tries to write into another tenant's workspace, by the client's own
    // setting and by raw headers in every spelling a server might read.
    const script = [
      "import json, os, sys",
      "other, experiment = sys.argv[1], sys.argv[2]",
      "os.environ['MLFLOW_WORKSPACE'] = other",
      "import mlflow, requests",
      "mlflow.set_experiment(experiment)",
      "with mlflow.start_run() as run:",
      "    mlflow.log_metric('accuracy', 0.75)",
      "uri = os.environ['MLFLOW_TRACKING_URI']",
      "raw = requests.post(uri + '/api/2.0/mlflow/experiments/create', json={'name': experiment + '-raw'},",
      "                    headers={'X-MLflow-Workspace': other, 'X_MLFLOW_WORKSPACE': other})",
      "print(json.dumps({'uri': uri, 'run_id': run.info.run_id, 'raw': raw.status_code}))",
    ].join("\n");
    const { result, stdout, stderr } = await collect(options(script, [other, experiment]));
    expect({ result, stderr: stderr.slice(-5) }).toMatchObject({ result: { exitCode: 0 } });
    const report = lastJson<{ uri: string; run_id: string; raw: number }>(stdout);
    expect(report.uri).toBe("http://127.0.0.1:5000");
    expect(report.raw).toBe(200);

    const own = mlflow.inWorkspace(tenant);
    const foreign = mlflow.inWorkspace(other);
    const run = await own.getRun(report.run_id);
    expect(run.data.metrics).toEqual([expect.objectContaining({ key: "accuracy", value: 0.75 })]);
    expect(await own.getExperimentByName(experiment)).not.toBeNull();
    expect(await own.getExperimentByName(`${experiment}-raw`)).not.toBeNull();
    expect(await foreign.getExperimentByName(experiment)).toBeNull();
    expect(await foreign.getExperimentByName(`${experiment}-raw`)).toBeNull();
    expect(await foreign.findRun(report.run_id)).toBeNull();
  });

  it("refuses the workspace API, except reading the sandbox's own workspace", async () => {
    const script = [
      "import json, os, sys, urllib.request",
      "uri = os.environ['MLFLOW_TRACKING_URI']",
      "def call(method, path, body=None):",
      "    data = None if body is None else json.dumps(body).encode()",
      "    req = urllib.request.Request(uri + path, data=data, method=method, headers={'Content-Type': 'application/json'})",
      "    try:",
      "        with urllib.request.urlopen(req) as r: return r.status",
      "    except urllib.error.HTTPError as e: return e.code",
      "tenant, other = sys.argv[1], sys.argv[2]",
      "print(json.dumps({",
      "    'create': call('POST', '/api/3.0/mlflow/workspaces', {'name': 'made-by-job'}),",
      "    'update': call('PATCH', '/api/3.0/mlflow/workspaces/' + tenant, {'description': 'x'}),",
      "    'delete_other': call('DELETE', '/api/3.0/mlflow/workspaces/' + other),",
      "    'delete_encoded': call('DELETE', '/api/3.0/mlflow/%77orkspaces/' + other),",
      "    'delete_ajax': call('DELETE', '/ajax-api/3.0/mlflow/workspaces/' + other),",
      "    'dotted': call('DELETE', '/api/3.0/mlflow/experiments/../workspaces/' + other),",
      "    'list': call('GET', '/api/3.0/mlflow/workspaces'),",
      "    'read_other': call('GET', '/api/3.0/mlflow/workspaces/' + other),",
      "    'read_own': call('GET', '/api/3.0/mlflow/workspaces/' + tenant),",
      "}))",
    ].join("\n");
    const { result, stdout } = await collect(options(script, [tenant, other]));
    expect(result.exitCode).toBe(0);
    expect(lastJson(stdout)).toEqual({
      create: 403,
      update: 403,
      delete_other: 403,
      delete_encoded: 403,
      delete_ajax: 403,
      dotted: 400,
      list: 403,
      read_other: 403,
      read_own: 200,
    });
    const names = (await mlflow.listWorkspaces()).map((w) => w.name);
    expect(names).toEqual(expect.arrayContaining([tenant, other]));
    expect(names).not.toContain("made-by-job");
  });

  it("streams a 200 MB artifact both ways without the proxy holding it in memory", async () => {
    const size = 200 * 1024 * 1024;
    const script = [
      "import hashlib, json, os, sys",
      "import mlflow",
      "size = int(sys.argv[1])",
      "digest = hashlib.sha256()",
      "with open('big.bin', 'wb') as f:",
      "    block = os.urandom(1 << 20)",
      "    for i in range(size >> 20):",
      "        f.write(block); digest.update(block)",
      "mlflow.set_experiment(sys.argv[2])",
      "with mlflow.start_run() as run:",
      "    mlflow.log_artifact('big.bin')",
      "os.remove('big.bin')",
      "back = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path='big.bin', dst_path='back')",
      "check = hashlib.sha256()",
      "with open(back, 'rb') as f:",
      "    for chunk in iter(lambda: f.read(1 << 20), b''): check.update(chunk)",
      "print(json.dumps({'sent': digest.hexdigest(), 'received': check.hexdigest(), 'bytes': os.path.getsize(back)}))",
    ].join("\n");
    // A runner process of its own, so that its peak memory is the proxy's and nobody else's.
    const runner = startChildRunner(options(script, [String(size), `big-${randomBytes(4).toString("hex")}`]));
    await runner.waitFor((r) => "started" in r);
    const before = peakRssBytes(runner.process.pid as number);
    const { result } = (await runner.waitFor((r) => "result" in r)) as { result: { exitCode: number } };
    const after = peakRssBytes(runner.process.pid as number);
    const lines = runner.reports.filter((r) => r.stream === "stdout").map((r) => String(r.line));
    expect(result.exitCode).toBe(0);
    const report = lastJson<{ sent: string; received: string; bytes: number }>(lines);
    expect(report.bytes).toBe(size);
    expect(report.received).toBe(report.sent);
    // A proxy that buffered the artifact would grow by at least its size (once each way).
    expect(after - before).toBeLessThan(size / 2);
    await runner.exited;
  }, 600_000);
});

/** VmHWM: the most memory the process has held at once so far. */
function peakRssBytes(pid: number): number {
  const kib = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  if (kib === undefined) throw new Error(`no VmHWM for ${pid}`);
  return Number(kib) * 1024;
}

describe("the sandbox's init, which serves MLflow inside it", () => {
  function sh(script: string) {
    return collect({
      command: "/bin/sh",
      args: ["-c", script],
      cwd: job.dir,
      env: { PATH: "/usr/bin:/bin" },
      readOnlyPaths: [],
      timeoutMs: 60_000,
      mlflow: { url: inject("infra").mlflowUrl, workspace: tenant },
    });
  }

  it("reports the script's exit status, and 128 + N when signal N killed it", async () => {
    expect((await sh("exit 3")).result).toMatchObject({ exitCode: 3, signal: null });
    expect((await sh("kill -KILL $$")).result).toMatchObject({ exitCode: 137, signal: null });
  });

  it("delivers one SIGTERM to the script on timeout, and the script ends the sandbox", async () => {
    // Collects every SIGTERM for a while after the first, with who sent it: pid 0 is a sender
    // outside the sandbox's PID namespace (the runner), pid 2 the init passing one on.
    const code = [
      "import json, signal, time",
      "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})",
      "print('ready', flush=True)",
      "senders = [signal.sigwaitinfo({signal.SIGTERM}).si_pid]",
      "deadline = time.monotonic() + 1",
      "while deadline > time.monotonic():",
      "    info = signal.sigtimedwait({signal.SIGTERM}, deadline - time.monotonic())",
      "    if info: senders.append(info.si_pid)",
      "print(json.dumps(senders))",
    ].join("\n");
    const system = findPython();
    const { result, stdout } = await collect({
      command: system.executable,
      args: ["-u", "-c", code],
      cwd: job.dir,
      env: { PATH: "/usr/bin:/bin" },
      readOnlyPaths: system.prefixes,
      timeoutMs: 3000,
      graceMs: 30_000,
      mlflow: { url: inject("infra").mlflowUrl, workspace: tenant },
    });
    expect(stdout).toEqual(["ready", "[0]"]);
    expect(result).toMatchObject({ timedOut: true, exitCode: 0 });
  });

  it("says which command it could not start", async () => {
    const { result, stderr } = await collect({
      command: join(job.dir, "missing"),
      args: [],
      cwd: job.dir,
      env: {},
      readOnlyPaths: [],
      timeoutMs: 60_000,
      mlflow: { url: inject("infra").mlflowUrl, workspace: tenant },
    });
    expect(result.exitCode).toBe(127);
    expect(stderr).toEqual([`[asgard] command not found: ${join(job.dir, "missing")}`]);
  });
});
