import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ensureUv, pythonExecutable, run } from "@asgard/tools";
import { createMlflowClient } from "@asgard/mlflow";
import { createPyEnvManager } from "@asgard/pyenv";
import type { TestInfra } from "@asgard/test-support";

/** Where `startPlatform` keeps the environments of the run's jobs and models. */
export const envCacheDir = (infra: TestInfra) => join(infra.workDir, "env-cache");

/**
 * Runs a Python script as a user does on their own machine against an MLflow server (its
 * MLflow at the server's version, scikit-learn beside it), and returns what it printed after
 * `RESULT `. The environment lives in the platform's environment cache, so a model the script
 * logs is served from it rather than from a new build. `env` adds the user's variables, e.g.
 * `MLFLOW_WORKSPACE` to work in a tenant's workspace.
 */
export async function runUserScript(infra: TestInfra, mlflowUrl: string, script: string, env: Record<string, string> = {}): Promise<unknown> {
  // On a server with basic auth the script's own credentials (MLflow's variables) also read its version.
  const auth = env.MLFLOW_TRACKING_USERNAME ? { username: env.MLFLOW_TRACKING_USERNAME, password: env.MLFLOW_TRACKING_PASSWORD ?? "" } : undefined;
  const mlflow = createMlflowClient({ baseUrl: mlflowUrl, auth });
  const version = await mlflow.version().finally(() => mlflow.close());
  const pyenv = createPyEnvManager({ root: envCacheDir(infra), uvPath: await ensureUv(), python: pythonExecutable(), pins: [`mlflow==${version}`] });
  const lease = await pyenv.acquire(["scikit-learn"]);
  const dir = await mkdtemp(join(infra.workDir, "user-script-"));
  try {
    const file = join(dir, "train.py");
    await writeFile(file, script);
    const { stdout } = await run(lease.python, [file], {
      cwd: dir,
      timeoutMs: 10 * 60_000,
      env: { PATH: `${lease.binDir}:/usr/bin:/bin`, HOME: dir, LANG: "C.UTF-8", MLFLOW_TRACKING_URI: mlflowUrl, MLFLOW_DISABLE_TELEMETRY: "true", ...env },
    });
    const line = stdout.split("\n").find((l) => l.startsWith("RESULT "));
    if (!line) throw new Error(`the script printed no result:\n${stdout.slice(-2000)}`);
    return JSON.parse(line.slice("RESULT ".length)) as unknown;
  } finally {
    await lease.release();
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * A user's script: one run per factor in `FACTORS` (comma-separated), each logging a model that
 * multiplies column `x` by its factor — so a prediction names the model that made it — and
 * registering it under `MODEL_NAME` when that is set. Prints the run ids in order.
 */
export const SCALE_MODELS_SCRIPT = `
import json, os
import mlflow, mlflow.pyfunc
import pandas as pd

class Scale(mlflow.pyfunc.PythonModel):
    def __init__(self, factor):
        self.factor = factor

    def predict(self, context, model_input, params=None):
        return (model_input["x"] * self.factor).tolist()

mlflow.set_experiment("churn-training")
runs = []
for factor in [float(f) for f in os.environ["FACTORS"].split(",")]:
    with mlflow.start_run() as run:
        mlflow.pyfunc.log_model(
            name="model",
            python_model=Scale(factor),
            input_example=pd.DataFrame({"x": [1.0, 2.0]}),
            registered_model_name=os.environ.get("MODEL_NAME"),
        )
    runs.append(run.info.run_id)
print("RESULT " + json.dumps(runs))
`;
