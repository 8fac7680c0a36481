import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run as runCommand, TOOL_VERSIONS } from "@asgard/tools";
import { startBenchPlatform, submit, waitForTerminal } from "./platform.js";
import { loadNow, writeResult } from "./results.js";
import { round, spread } from "./spread.js";

/**
 * A job needing `scikit-learn pandas`: ours (cached environment, warm) against the seed's
 * approach (a fresh `pip install` of the requirements for every job), same script, same run.
 */
const REQUIREMENTS = ["scikit-learn", "pandas"];
const ROUNDS = 3;
const SCRIPT = `
import mlflow, pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.datasets import make_classification
X, y = make_classification(n_samples=500, n_features=10, random_state=0)
with mlflow.start_run():
    model = LogisticRegression(max_iter=300).fit(pd.DataFrame(X), y)
    mlflow.log_metric("accuracy", model.score(pd.DataFrame(X), y))
    print("trained")
`;

export async function run(): Promise<void> {
  const platform = await startBenchPlatform({
    services: ["job-scheduler", "registry", "gateway", "python-runner"],
    databaseUrl: null,
    env: { LOG_LEVEL: "warn", ENV_CACHE_DIR: join(tmpdir(), `asgard-bench-envs-${process.pid}`) },
  });
  const scratch = await mkdtemp(join(tmpdir(), "asgard-bench-seed-"));
  try {
    const body = {
      script_name: "train.py",
      script_content: Buffer.from(SCRIPT).toString("base64"),
      experiment_name: "bench-env-cache",
      model_name: "bench-env-cache",
      requirements: REQUIREMENTS,
      timeout: 600,
    };
    const timeJob = async () => {
      const started = Date.now();
      const job = await waitForTerminal(platform.api, (await submit(platform.api, body)).job_id);
      if (job.status !== "completed") throw new Error(`job ${job.status}: ${job.logs}`);
      return (Date.now() - started) / 1000;
    };
    const loadAtStart = loadNow();
    const cold = await timeJob();
    const warm: number[] = [];
    for (let i = 0; i < ROUNDS; i++) warm.push(await timeJob());

    // The seed's approach: a fresh environment and `pip install` of the requirements per job
    // (plus MLflow, which an isolated environment needs; the seed had it in its own interpreter).
    const scriptPath = join(scratch, "train.py");
    await writeFile(scriptPath, SCRIPT);
    const seed: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const started = Date.now();
      const venv = join(scratch, `venv-${i}`);
      await runCommand("python3", ["-m", "venv", venv]);
      await runCommand(join(venv, "bin", "pip"), ["install", "--quiet", `mlflow==${TOOL_VERSIONS.mlflow}`, ...REQUIREMENTS], {
        timeoutMs: 20 * 60_000,
      });
      await runCommand(join(venv, "bin", "python"), [scriptPath], {
        env: { PATH: process.env.PATH ?? "", HOME: scratch, MLFLOW_TRACKING_URI: platform.mlflowUrl, MLFLOW_EXPERIMENT_NAME: "bench-env-cache-seed" },
      });
      seed.push((Date.now() - started) / 1000);
      await rm(venv, { recursive: true, force: true });
    }
    const ours = spread(warm, 2);
    const baseline = spread(seed, 2);
    const file = await writeResult({
      name: "env-cache",
      ours: ours.median,
      baseline: baseline.median,
      ratio: round(baseline.median / ours.median),
      unit: "seconds end to end per job (median of runs)",
      runs: ROUNDS,
      ours_spread: ours,
      baseline_spread: baseline,
      notes:
        `requirements ${JSON.stringify(REQUIREMENTS)}; ours = submit → completed through the platform with the environment cached ` +
        `(after one cold job); baseline = python -m venv + pip install mlflow==${TOOL_VERSIONS.mlflow} ${REQUIREMENTS.join(" ")} + run, ` +
        `per job, pip's own download cache warm. ${ROUNDS} rounds each. ` +
        `Shared 2-core machine: load average (1, 5, 15 min) ${loadAtStart.join(", ")} when the measured runs began; at the end in machine.load_average_at_write.`,
      load_average_at_start: loadAtStart,
      ours_cold_first_job_seconds: round(cold),
    });
    console.log(`env-cache: ours ${ours.median} s (cold first job ${round(cold)} s), seed approach ${baseline.median} s -> ${file}`);
  } finally {
    await rm(scratch, { recursive: true, force: true });
    await platform.stop();
  }
}
