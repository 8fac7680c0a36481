import { loadavg } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { ManagedProcess } from "@asgard/infra";
import { MODEL_SCRIPT } from "@asgard/test-support";
import { round, spread } from "./spread.js";
import { startBenchPlatform, submit, waitForTerminal, type BenchPlatform } from "./platform.js";
import { writeResult } from "./results.js";

/**
 * Registered → first prediction: from the moment a training job is `completed` (its model
 * registered) to the first 200 from POST /mlops/inference for that model, as a client polling
 * right away sees it. Ours: the inference service serves the model from the job's own
 * environment (its resolved set satisfies the model's logged requirements). Baseline: the
 * same with reuse disabled (INFERENCE_REUSE_ENVS=false) and an empty environment cache for
 * inference, so the model's environment is resolved and built from scratch (uv's download
 * cache warm, as on any machine that ran a job before).
 */
const RUNS = 3;
const INPUTS = { a: [0.1, -1], b: [0.2, 0.5], c: [0.3, 2], d: [0.4, 0], e: [0.5, 1] };

interface Measured {
  seconds: number;
  /** 503 "retry shortly" answers before the 200. */
  retries: number;
  /** The machine's 1-minute load average when the job completed (2 cores here, shared). */
  load: number;
}

/** Trains and registers a new model, then times job completion → first 200. */
async function measure(platform: BenchPlatform, modelName: string): Promise<Measured> {
  const job = await submit(platform.api, {
    script_name: "train.py",
    script_content: Buffer.from(MODEL_SCRIPT).toString("base64"),
    experiment_name: "bench-first-prediction",
    model_name: modelName,
    requirements: ["scikit-learn"],
    timeout: 600,
  });
  const done = await waitForTerminal(platform.api, job.job_id);
  const completedAt = Date.now();
  const load = round(loadavg()[0] ?? 0);
  if (done.status !== "completed") throw new Error(`the training job ${done.status}: ${done.logs.slice(-2000)}`);
  let retries = 0;
  for (;;) {
    const res = await fetch(`${platform.api}/mlops/inference`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model_name: modelName, inputs: INPUTS }),
    });
    const body = await res.text();
    if (res.status === 200) return { seconds: (Date.now() - completedAt) / 1000, retries, load };
    if (res.status !== 503 || retries > 600) throw new Error(`inference answered ${res.status}: ${body}`);
    retries++;
    await sleep(50);
  }
}

/** Until the new inference process answers (404 for a model that does not exist), so it hears model.registered. */
async function untilInferenceAnswers(platform: BenchPlatform): Promise<void> {
  for (let i = 0; i < 1_200; i++) {
    const res = await fetch(`${platform.api}/mlops/inference`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model_name: "bench-first-prediction-absent", inputs: INPUTS }),
    }).catch(() => null);
    await res?.body?.cancel();
    if (res?.status === 404) return;
    await sleep(100);
  }
  throw new Error("the inference service never answered");
}

async function series(platform: BenchPlatform, label: string, inferenceEnv: (run: number) => Record<string, string>): Promise<Measured[]> {
  const out: Measured[] = [];
  for (let run = 0; run < RUNS; run++) {
    const inference: ManagedProcess = platform.start("inference", inferenceEnv(run));
    try {
      await untilInferenceAnswers(platform);
      const m = await measure(platform, `bench-first-prediction-${label}-${run}-${Date.now()}`);
      console.log(`first-prediction ${label} run ${run + 1}: ${round(m.seconds)} s (${m.retries} retries, load average ${m.load})`);
      out.push(m);
    } finally {
      await inference.stop();
    }
  }
  return out;
}

export async function run(): Promise<void> {
  const platform = await startBenchPlatform({
    services: ["job-scheduler", "registry", "gateway", "python-runner"],
    databaseUrl: null,
    env: { LOG_LEVEL: "warn" },
  });
  try {
    // Warm-up: the job's environment is built once (not measured; jobs reuse it afterwards).
    await measure(platform, `bench-first-prediction-warmup-${Date.now()}`).catch(() => undefined);
    const sharedCache = join(platform.dir, "envs");
    const ours = await series(platform, "reuse", () => ({ ENV_CACHE_DIR: sharedCache, INFERENCE_REUSE_ENVS: "true" }));
    const baseline = await series(platform, "build", (run) => ({
      ENV_CACHE_DIR: join(platform.dir, `inference-envs-${run}`),
      INFERENCE_REUSE_ENVS: "false",
    }));
    const o = spread(ours.map((m) => m.seconds), 2);
    const b = spread(baseline.map((m) => m.seconds), 2);
    const file = await writeResult({
      name: "first-prediction",
      ours: o.median,
      baseline: b.median,
      ratio: round(b.median / o.median),
      unit: "seconds from job completed to the first 200 from /mlops/inference (median)",
      notes:
        `${RUNS} runs each; each run trains and registers a new LogisticRegression (plain mlflow.sklearn.log_model, requirements ["scikit-learn"]) ` +
        "and polls /mlops/inference from the moment the job reads completed. ours = the inference service takes the job's environment, " +
        "whose resolved set satisfies the model's logged requirements (INFERENCE_REUSE_ENVS=true, cache shared with the runner); " +
        "baseline = reuse off and an empty environment cache for inference, so the model's environment is resolved and built " +
        "(uv's download cache warm). Both warm the model on model.registered, before the job reads completed. Target: ours p50 < 3 s.",
      runs: RUNS,
      ours_spread: o,
      baseline_spread: b,
      run_details: {
        ours: ours.map((m) => ({ seconds: round(m.seconds), retries: m.retries, load_average: m.load })),
        baseline: baseline.map((m) => ({ seconds: round(m.seconds), retries: m.retries, load_average: m.load })),
      },
    });
    console.log(`first-prediction: ours ${o.median} s (min ${o.min}, max ${o.max}); baseline ${b.median} s (min ${b.min}, max ${b.max}) -> ${file}`);
  } finally {
    await platform.stop();
  }
}
