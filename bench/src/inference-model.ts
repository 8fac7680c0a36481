import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { request } from "undici";
import { spawnManaged, type ManagedProcess } from "@asgard/infra";
import type { MlflowClient } from "@asgard/mlflow";
import type { EnvLease, PyEnvManager } from "@asgard/pyenv";
import { run as runCommand } from "@asgard/tools";
import { freePort, waitFor } from "./platform.js";
import { cpuMsOf } from "./proc-usage.js";

/**
 * The inference benches' model and the pieces around it: the training script (a scikit-learn
 * RandomForest, 100 trees, 20 features, logged with plain MLflow calls in a job's runtime), the
 * environment the inference service builds for it, the request bodies of both servers and the
 * baseline, `mlflow models serve`, started from that same environment.
 */

export const FEATURES = 20;
/** The folder the python-runner puts on every job's PYTHONPATH (the job runtime shim). */
const JOB_RUNTIME_SHIM = join(import.meta.dirname, "..", "..", "services", "python-runner", "src", "python");

const TRAIN = `
import json, os, time
import mlflow, mlflow.sklearn
import pandas as pd
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier

X, y = make_classification(n_samples=2000, n_features=${FEATURES}, n_informative=10, random_state=0)
frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(${FEATURES})])
mlflow.set_experiment(os.environ["EXPERIMENT"])
with mlflow.start_run() as run:
    model = RandomForestClassifier(n_estimators=100, random_state=0).fit(frame, y)
    info = mlflow.sklearn.log_model(model, name="model", input_example=frame.iloc[:2])

def per_call_ms(fn, rows, reps=300):
    batch = frame.iloc[:rows]
    for _ in range(20):
        fn(batch)
    started = time.perf_counter()
    for _ in range(reps):
        fn(batch)
    return (time.perf_counter() - started) / reps * 1000

timings = {f"{name}_{rows}_rows_ms": round(per_call_ms(getattr(model, name), rows), 3) for name in ("predict", "predict_proba") for rows in (1, 64)}
import sklearn
print("RESULT " + json.dumps({"run_id": run.info.run_id, "model_id": info.model_id, "uri": info.model_uri, "row": frame.iloc[0].tolist(), "timings": timings, "sklearn": sklearn.__version__}))
`;

export interface Trained {
  run_id: string;
  model_id: string;
  uri: string;
  row: number[];
  timings: Record<string, number>;
  sklearn: string;
}


export async function train(pyenv: PyEnvManager, trackingUri: string, dir: string): Promise<Trained> {
  const lease = await pyenv.acquire(["scikit-learn"]);
  try {
    const script = join(dir, "train.py");
    await writeFile(script, TRAIN);
    const { stdout } = await runCommand(lease.python, [script], {
      cwd: dir,
      timeoutMs: 15 * 60_000,
      // The platform's job runtime shim, as every job has it: it chooses the model's serialization format.
      env: { PATH: `${lease.binDir}:/usr/bin:/bin`, HOME: dir, LANG: "C.UTF-8", PYTHONPATH: JOB_RUNTIME_SHIM, MLFLOW_TRACKING_URI: trackingUri, MLFLOW_DISABLE_TELEMETRY: "true", EXPERIMENT: "bench-inference" },
    });
    const result = stdout.split("\n").find((l) => l.startsWith("RESULT "));
    if (!result) throw new Error(`training printed no result:\n${stdout.slice(-2000)}`);
    return JSON.parse(result.slice("RESULT ".length)) as Trained;
  } finally {
    await lease.release();
  }
}

/** The environment the inference service built for the model: same requirements, same pins, same cache. */
export async function modelEnvironment(pyenv: PyEnvManager, mlflow: MlflowClient, modelId: string): Promise<EnvLease> {
  const model = await mlflow.getLoggedModel(modelId);
  const text = (await mlflow.downloadArtifact(`${model.info.artifact_uri}/requirements.txt`)).toString("utf8");
  // As the service does: MLflow itself comes from the platform pin (the server's version).
  const requirements = text
    .split("\n")
    .map((l) => l.replace(/(^|\s)#.*$/, "").trim())
    .filter((l) => l !== "" && !/^mlflow(-skinny|-tracing)?\b/i.test(l));
  return pyenv.acquire(requirements);
}

/** Posts once a second until an answer says `onnx`; after `tries`, the path the last answer named. */
export async function compiledPath(url: string, body: string, tries: number): Promise<string> {
  let last = "unknown";
  for (let i = 0; i < tries; i++) {
    const res = await post(url, body);
    if (res.status === 200) last = (JSON.parse(res.text) as { served_by?: string }).served_by ?? "unknown";
    if (last === "onnx") return last;
    await sleep(1_000);
  }
  return last;
}

export async function post(url: string, body: string): Promise<{ status: number; text: string }> {
  const res = await request(url, { method: "POST", body, headers: { "content-type": "application/json" } });
  return { status: res.statusCode, text: await res.body.text() };
}

/** CPU time (user + system, ms) of each process so far, from /proc; 0 where it cannot be read. */
export async function cpuTimes(pids: Record<string, number>): Promise<Record<string, number>> {
  return Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuMsOf(pid)]));
}

/**
 * The model worker the inference service started: the process running worker.py among its
 * descendants (the sandbox puts bwrap in between); 0 when not found.
 */
export async function workerPid(parent: number): Promise<number> {
  const queue = [parent];
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    try {
      if (pid !== parent && (await readFile(`/proc/${pid}/cmdline`, "utf8")).includes("worker.py")) return pid;
      const children = (await readFile(`/proc/${pid}/task/${pid}/children`, "utf8")).trim().split(/\s+/).filter(Boolean).map(Number);
      queue.push(...children);
    } catch {
      // Not Linux, or the process is gone: the CPU table goes without it.
    }
  }
  return 0;
}

/** The single-row request bodies: ours (POST /mlops/inference) and MLflow's (POST /invocations). */
export function requestBodies(modelName: string, version: string, row: number[]): { ours: string; mlflow: string } {
  const columns = Array.from({ length: FEATURES }, (_, i) => `f${i}`);
  return {
    ours: JSON.stringify({ model_name: modelName, model_version: version, inputs: Object.fromEntries(columns.map((c, i) => [c, [row[i]]])) }),
    mlflow: JSON.stringify({ dataframe_split: { columns, data: [row] } }),
  };
}

export interface ModelsServe {
  process: ManagedProcess;
  url: string;
  command: string;
}

/**
 * The baseline: `mlflow models serve --env-manager local -w 1` on a registered model, run with
 * the interpreter of `lease` (the environment our worker runs in); resolves once it answers `body`.
 */
export async function startModelsServe(opts: { lease: EnvLease; trackingUri: string; modelUri: string; body: string; dir: string }): Promise<ModelsServe> {
  const port = await freePort();
  const args = ["models", "serve", "-m", opts.modelUri, "--env-manager", "local", "-w", "1", "-h", "127.0.0.1", "-p", String(port)];
  const proc = spawnManaged({
    name: "mlflow-models-serve",
    command: join(opts.lease.binDir, "mlflow"),
    args,
    env: { PATH: `${opts.lease.binDir}:/usr/bin:/bin`, HOME: opts.dir, LANG: "C.UTF-8", MLFLOW_TRACKING_URI: opts.trackingUri, MLFLOW_DISABLE_TELEMETRY: "true" },
    logFile: join(opts.dir, "mlflow-models-serve.log"),
  });
  const url = `http://127.0.0.1:${port}/invocations`;
  try {
    await waitFor(url, async () => (await post(url, opts.body)).status === 200, 6_000);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return { process: proc, url, command: `mlflow ${args.join(" ")}` };
}
