import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureMlflowVenv, run } from "@asgard/tools";

/** The folder the runner puts on every job's PYTHONPATH. */
const SHIM = join(import.meta.dirname, "python");

/**
 * Saves models the way scripts do and prints, per call, the serialization format MLflow wrote
 * into the MLmodel file (or the error it raised). Runs in the MLflow tool's virtualenv: the
 * server's own MLflow, with the scikit-learn and skops it pulls in.
 */
const SAVE_MODELS = `
import json, os, sys, tempfile
import mlflow.sklearn
from mlflow.models import Model
from sklearn.datasets import make_classification
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier

X, y = make_classification(n_samples=60, n_features=4, random_state=0)
forest = RandomForestClassifier(n_estimators=3, random_state=0).fit(X, y)
boosted = GradientBoostingClassifier(n_estimators=3, random_state=0).fit(X, y)
calls = {
    "plain": lambda path: mlflow.sklearn.save_model(forest, path),
    "input_example": lambda path: mlflow.sklearn.save_model(boosted, path, input_example=X[:2]),
    "explicit_pickle": lambda path: mlflow.sklearn.save_model(forest, path, serialization_format="pickle"),
    "positional_pickle": lambda path: mlflow.sklearn.save_model(forest, path, None, None, None, "pickle"),
    "explicit_skops": lambda path: mlflow.sklearn.save_model(forest, path, serialization_format="skops"),
    "trusted_types": lambda path: mlflow.sklearn.save_model(forest, path, skops_trusted_types=["sklearn.tree._tree.Tree"]),
}
out = {}
for name in sys.argv[1:]:
    path = os.path.join(tempfile.mkdtemp(), "model")
    try:
        calls[name](path)
        out[name] = Model.load(path).flavors["sklearn"]["serialization_format"]
    except Exception as exc:
        out[name] = "error: " + str(exc)
print("RESULT " + json.dumps(out))
`;

describe("the job runtime shim (sitecustomize.py) with the server's MLflow", () => {
  let python: string;
  let dir: string;

  beforeAll(async () => {
    python = join(await ensureMlflowVenv(), "bin", "python");
    dir = await mkdtemp(join(tmpdir(), "asgard-shim-"));
  }, 600_000);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function savedFormats(cases: string[], withShim: boolean): Promise<Record<string, string>> {
    const script = join(dir, "save.py");
    await writeFile(script, SAVE_MODELS);
    const env: NodeJS.ProcessEnv = { PATH: "/usr/bin:/bin", HOME: dir, LANG: "C.UTF-8", MLFLOW_DISABLE_TELEMETRY: "true" };
    if (withShim) env.PYTHONPATH = SHIM;
    const { stdout } = await run(python, [script, ...cases], { cwd: dir, env, timeoutMs: 590_000 });
    const line = stdout.split("\n").find((l) => l.startsWith("RESULT "));
    if (!line) throw new Error(`no result:\n${stdout.slice(-2000)}`);
    return JSON.parse(line.slice("RESULT ".length)) as Record<string, string>;
  }

  it("without the shim, this MLflow refuses a plain forest (the drift the shim absorbs)", async () => {
    const formats = await savedFormats(["plain"], false);
    expect(formats.plain).toMatch(/untrusted types.*sklearn\.tree\._tree\.Tree/s);
  }, 600_000);

  it("saves plain calls with cloudpickle and leaves every explicit choice to the script", async () => {
    const formats = await savedFormats(["plain", "input_example", "explicit_pickle", "positional_pickle", "explicit_skops", "trusted_types"], true);
    expect(formats).toEqual({
      plain: "cloudpickle",
      input_example: "cloudpickle",
      explicit_pickle: "pickle",
      positional_pickle: "pickle",
      // The script asked for skops without trusting the tree: MLflow's own refusal, unchanged.
      explicit_skops: expect.stringMatching(/untrusted types/),
      // Trusted types without a format mean skops.
      trusted_types: "skops",
    });
  }, 600_000);

  it("a script that never imports MLflow does not load it", async () => {
    const { stdout } = await run(python, ["-c", "import sys, json; print(json.dumps(sorted(m for m in sys.modules if m.startswith(('mlflow', 'inspect', 'importlib.abc')))))"], {
      cwd: dir,
      env: { PATH: "/usr/bin:/bin", HOME: dir, PYTHONPATH: SHIM, MLFLOW_EXPERIMENT_NAME: "exp" },
    });
    expect(JSON.parse(stdout.trim())).toEqual([]);
  }, 60_000);
});
