import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startPlatform, waitForJob, type Platform } from "@asgard/test-support";
import { LIGHTGBM_SCRIPT, PIPELINE_SCRIPT, readmeScript, referenceScript, XGBOOST_SCRIPT } from "./model-scripts.js";

interface Job {
  job_id: string;
  status: string;
  run_id: string | null;
  model_version: string | null;
  logs: string;
  error: string | null;
  registration_error: string | null;
}

interface Prediction {
  model_version: string;
  predictions: unknown[];
  probabilities: number[][] | null;
  served_by?: "python" | "onnx";
}

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");
const rand = () => Math.random().toString(36).slice(2, 10);

/**
 * One requirements list for every job here: the jobs share one cached environment, so the
 * heavy one (xgboost's Linux wheel pulls a ~1.5 GB NCCL package) is built once per cache.
 */
const REQUIREMENTS = ["scikit-learn", "pandas", "lightgbm", "xgboost"];

/** Deterministic probe values in (-3, 3): new rows, not the training data. */
function numbers(count: number, seed: number): number[] {
  return Array.from({ length: count }, (_, i) => ((Math.sin(seed * 97.13 + i * 12.9898) * 43758.5453) % 1) * 3);
}

interface Case {
  script: string;
  flavor: "sklearn" | "lightgbm" | "xgboost";
  /** Columns of probe rows, as `POST /mlops/inference` takes them. */
  inputs: Record<string, unknown[]>;
  classes: number;
}

const ROWS = 4;
const CASES: Record<string, Case> = {
  random_forest: {
    script: readmeScript(),
    flavor: "sklearn",
    inputs: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`x${i}`, numbers(ROWS, i + 1)])),
    classes: 2,
  },
  gradient_boosting_pipeline: {
    script: PIPELINE_SCRIPT,
    flavor: "sklearn",
    // One city the encoder never saw: the pipeline ignores it, as it was built to.
    inputs: { age: [22, 41, 67, 30], income: [28_000.5, 61_250, 45_000, 52_000], city: ["bergen", "oslo", "tromso", "stavanger"] },
    classes: 2,
  },
  lightgbm: {
    script: LIGHTGBM_SCRIPT,
    flavor: "lightgbm",
    inputs: { sepal_length: [5.1, 6.2, 7.7, 5.8], sepal_width: [3.5, 2.9, 3.0, 2.7], petal_length: [1.4, 4.3, 6.1, 5.1], petal_width: [0.2, 1.3, 2.3, 1.9] },
    classes: 3,
  },
  xgboost: {
    script: XGBOOST_SCRIPT,
    flavor: "xgboost",
    inputs: Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`f${i}`, numbers(ROWS, 50 + i)])),
    classes: 2,
  },
};

/**
 * The models users train most, each logged with the plain `log_model` call, go through the
 * real platform — upload, job, registration, serving — and the service answers what MLflow's
 * own `pyfunc` load of the registered model predicts, with the probabilities of the flavor's
 * own loader.
 */
describe("everyday model scripts: train → register → serve, equal to MLflow's own load", () => {
  const infra = inject("infra");
  let platform: Platform;
  const trained = new Map<string, Job & { model_name: string }>();
  let reference: Record<string, { predictions: unknown[]; probabilities: number[][] }> = {};

  async function submit(script: string, modelName: string): Promise<Job> {
    const res = await fetch(`${platform.api}/mlops/training/upload`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        script_name: "train.py",
        script_content: b64(script),
        experiment_name: "everyday-models",
        model_name: modelName,
        requirements: REQUIREMENTS,
        timeout: 900,
      }),
    });
    const job = (await res.json()) as Job;
    expect(res.status, JSON.stringify(job)).toBe(202);
    // A cold environment (the first job's) is built within the job's wait: give it the tries.
    return waitForJob<Job>(platform.api, job.job_id, ["completed", "failed", "cancelled"], 14_400);
  }

  /** As a client would: a 503 while the version's environment builds or its worker loads means retry. */
  async function post(path: string, body: unknown): Promise<{ status: number; json: unknown }> {
    for (let tries = 0; ; tries++) {
      const res = await fetch(`${platform.api}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      const json = (await res.json()) as unknown;
      if (res.status !== 503 || tries >= 1_800) return { status: res.status, json };
      await new Promise((r) => setTimeout(r, 1_000));
    }
  }

  beforeAll(async () => {
    platform = await startPlatform(infra, {
      runners: 1,
      services: ["job-scheduler", "registry", "inference", "status", "gateway"],
      runnerEnv: { RUNNER_SLOTS: "2" },
    });
  }, 300_000);

  afterAll(async () => {
    await platform?.stop();
  });

  it("trains and registers every model from the plain scripts", async () => {
    const suffix = rand();
    const jobs = await Promise.all(
      Object.entries(CASES).map(async ([name, c]) => {
        const modelName = `everyday-${name.replaceAll("_", "-")}-${suffix}`;
        return [name, { ...(await submit(c.script, modelName)), model_name: modelName }] as const;
      }),
    );
    for (const [name, job] of jobs) {
      expect(job.status, `${name}: ${job.error ?? ""}\n${job.logs}`).toBe("completed");
      expect(job.logs, name).not.toMatch(/untrusted types/i);
      expect(job.registration_error, name).toBeNull();
      expect(job.model_version, name).toBe("1");
      trained.set(name, job);
    }
  }, 3_600_000);

  it("MLflow's own load of each registered model, in the environment it was trained in, gives the reference", async () => {
    expect(trained.size).toBe(Object.keys(CASES).length);
    const cases = Object.fromEntries(
      Object.entries(CASES).map(([name, c]) => [name, { uri: `models:/${trained.get(name)!.model_name}/1`, flavor: c.flavor, inputs: c.inputs }]),
    );
    const job = await submit(referenceScript(cases), `everyday-reference-${rand()}`);
    expect(job.status, `${job.error ?? ""}\n${job.logs}`).toBe("completed");
    expect(job.model_version).toBeNull();
    const line = job.logs.split("\n").find((l) => l.includes("REFERENCE "));
    expect(line, job.logs).toBeDefined();
    reference = JSON.parse(line!.slice(line!.indexOf("REFERENCE ") + "REFERENCE ".length)) as typeof reference;
    for (const [name, c] of Object.entries(CASES)) {
      expect(reference[name]!.predictions, name).toHaveLength(ROWS);
      expect(reference[name]!.probabilities.map((p) => p.length), name).toEqual(Array(ROWS).fill(c.classes));
    }
  }, 1_800_000);

  it.each(Object.keys(CASES))("%s: POST /mlops/inference answers MLflow's predictions and probabilities", async (name) => {
    const expected = reference[name];
    expect(expected, "the reference job ran").toBeDefined();
    const { status, json } = await post("/mlops/inference", { model_name: trained.get(name)!.model_name, inputs: CASES[name]!.inputs, return_probabilities: true });
    expect(status, JSON.stringify(json)).toBe(200);
    const answer = json as Prediction;
    expect(answer.model_version).toBe("1");
    expect(answer.predictions).toEqual(expected!.predictions);
    expect(answer.probabilities).toHaveLength(ROWS);
    answer.probabilities!.forEach((row, i) => {
      expect(row).toHaveLength(CASES[name]!.classes);
      // Python answers MLflow's own numbers; ONNX Runtime (float32, once the model is compiled) the parity it was checked to.
      row.forEach((p, j) => {
        const want = expected!.probabilities[i]![j]!;
        if (answer.served_by === "onnx") expect(Math.abs(p - want)).toBeLessThanOrEqual(1e-5 * Math.max(Math.abs(want), 1));
        else expect(p).toBeCloseTo(want, 12);
      });
    });
  }, 1_800_000);

  it.each(Object.keys(CASES))("%s: /invocations (dataframe_split) answers like mlflow models serve", async (name) => {
    const expected = reference[name];
    expect(expected, "the reference job ran").toBeDefined();
    const inputs = CASES[name]!.inputs;
    const columns = Object.keys(inputs);
    const data = Array.from({ length: ROWS }, (_, r) => columns.map((c) => inputs[c]![r]));
    const { status, json } = await post(`/mlops/models/${trained.get(name)!.model_name}/versions/1/invocations`, { dataframe_split: { columns, data } });
    expect(status, JSON.stringify(json)).toBe(200);
    expect((json as { predictions: unknown[] }).predictions).toEqual(expected!.predictions);
  }, 1_800_000);
});
