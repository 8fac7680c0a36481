import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createMlflowClient, type MlflowClient } from "@asgard/mlflow";
import { FAILING_SCRIPT, MODEL_SCRIPT, PIP_INSTALL_SCRIPT, type Platform, SEED_SCRIPT, SLEEP_SCRIPT, snoopScript, startPlatform, stubbornScript, waitForJob } from "@asgard/test-support";

interface Job {
  job_id: string;
  status: string;
  phase: string | null;
  run_id: string | null;
  model_version: string | null;
  logs: string;
  error: string | null;
  error_type: string | null;
  exit_code: number | null;
  attempt: number;
  started_at: string | null;
  completed_at: string | null;
  duration_seconds: number | null;
  registration_error: string | null;
  cancel_requested: boolean;
}

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");
const rand = () => Math.random().toString(36).slice(2, 10);

const CANARIES = {
  DATABASE_URL: `postgres://canary-user:canary-db-${rand()}@127.0.0.1:1/none`,
  AWS_SECRET_ACCESS_KEY: `canary-aws-${rand()}`,
  AWS_ACCESS_KEY_ID: `AKIACANARY${rand()}`,
  NATS_TOKEN: `canary-nats-${rand()}`,
};

async function upload(api: string, body: Record<string, unknown>): Promise<Job & { warnings: string[] }> {
  const res = await fetch(`${api}/mlops/training/upload`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as Job & { warnings: string[] };
  expect(res.status, JSON.stringify(json)).toBe(202);
  return json;
}

function processesWith(marker: string): string[] {
  const out = execFileSync("ps", ["-eo", "pid,args"], { encoding: "utf8" });
  return out.split("\n").filter((l) => l.includes(marker) && !l.includes("ps -eo"));
}

describe("training jobs end to end (real NATS, database, MLflow, uv, bubblewrap)", () => {
  const infra = inject("infra");
  let platform: Platform;
  let mlflow: MlflowClient;

  beforeAll(async () => {
    platform = await startPlatform(infra, { runners: 1, runnerEnv: { ...CANARIES, RUNNER_SLOTS: "2" } });
    mlflow = createMlflowClient({ baseUrl: infra.mlflowUrl });
  }, 180_000);

  afterAll(async () => {
    await mlflow?.close();
    await platform?.stop();
  });

  it("runs the seed report's example, posted as the report posts it, into the job's own MLflow run", async () => {
    const accepted = await upload(platform.api, {
      script_name: "train.py",
      script_content: b64(SEED_SCRIPT),
      experiment_name: "my-experiment",
      model_name: "my-model",
      requirements: ["scikit-learn"],
      timeout: 300,
    });
    expect(accepted).toMatchObject({ status: "queued", run_id: null, model_version: null, error: null, started_at: null });
    const job = await waitForJob<Job>(platform.api, accepted.job_id, ["completed", "failed"]);
    expect(job.status, job.logs).toBe("completed");
    // It logs no model: nothing to register, and that is no error.
    expect(job.model_version).toBeNull();
    expect(job.registration_error).toBeNull();
    expect(job.logs).toMatch(/Accuracy: \d\.\d{4}/);
    expect(job.run_id).toMatch(/^[0-9a-f]{32}$/);
    expect(job.duration_seconds).toBeGreaterThan(0);
    const run = await mlflow.getRun(job.run_id!);
    expect(run.info.status).toBe("FINISHED");
    expect(run.data.params).toContainEqual(expect.objectContaining({ key: "n_estimators", value: "100" }));
    expect(run.data.metrics.map((m: { key: string }) => m.key)).toContain("accuracy");
    expect(run.data.tags).toContainEqual(expect.objectContaining({ key: "asgard.job_id", value: accepted.job_id }));
  }, 600_000);

  it("a script that logs an sklearn model completes, and the model is downloadable through the tracking server", async () => {
    const experiment = `e2e-model-${rand()}`;
    const accepted = await upload(platform.api, {
      script_name: "model",
      script_content: b64(MODEL_SCRIPT),
      experiment_name: experiment,
      model_name: `e2e-model-${rand()}`,
      requirements: ["scikit-learn"],
      timeout: 300,
    });
    const job = await waitForJob<Job>(platform.api, accepted.job_id, ["completed", "failed"]);
    expect(job.status, job.logs).toBe("completed");
    expect(job.logs).toContain("model logged");
    const exp = await mlflow.getExperimentByName(experiment);
    const { models } = await mlflow.searchLoggedModels({ experimentIds: [exp!.experiment_id], filter: `source_run_id = '${job.run_id}'` });
    expect(models).toHaveLength(1);
    const mlmodel = await mlflow.downloadArtifact(`${models[0]!.info.artifact_uri}/MLmodel`);
    expect(mlmodel.toString()).toContain("sklearn");
  }, 600_000);

  it("two jobs in one experiment at the same time get different, correct run ids", async () => {
    const experiment = `e2e-pair-${rand()}`;
    const [a, b] = await Promise.all(
      ["first", "second"].map((text) =>
        upload(platform.api, {
          script_name: `${text}.py`,
          script_content: b64(`import mlflow\nwith mlflow.start_run():\n    mlflow.log_param("which", "${text}")\n    print("${text}")\n`),
          experiment_name: experiment,
          model_name: "pair",
          timeout: 120,
        }),
      ),
    );
    const jobs = await Promise.all([a!, b!].map((j) => waitForJob<Job>(platform.api, j.job_id, ["completed", "failed"])));
    expect(jobs.map((j) => j.status)).toEqual(["completed", "completed"]);
    expect(jobs[0]!.run_id).not.toBe(jobs[1]!.run_id);
    for (const [i, text] of ["first", "second"].entries()) {
      const run = await mlflow.getRun(jobs[i]!.run_id!);
      expect(run.data.params).toContainEqual(expect.objectContaining({ key: "which", value: text }));
    }
  }, 300_000);

  it("a failing script fails with script_error, its exit code and the traceback in the logs", async () => {
    const accepted = await upload(platform.api, {
      script_name: "fail.py",
      script_content: b64(FAILING_SCRIPT),
      experiment_name: `e2e-fail-${rand()}`,
      model_name: "fail",
      timeout: 120,
    });
    const job = await waitForJob<Job>(platform.api, accepted.job_id, ["completed", "failed"]);
    expect(job).toMatchObject({ status: "failed", error_type: "script_error", exit_code: 1 });
    expect(job.logs).toContain("Traceback (most recent call last)");
    expect(job.logs).toContain("ValueError: the training data is empty");
    expect(job.error).toContain("ValueError: the training data is empty");
    expect((await mlflow.getRun(job.run_id!)).info.status).toBe("FAILED");
  }, 300_000);

  it("a requirement missing from the index fails the build with uv's message", async () => {
    const accepted = await upload(platform.api, {
      script_name: "x.py",
      script_content: b64("print('never runs')"),
      experiment_name: `e2e-env-${rand()}`,
      model_name: "env",
      requirements: ["asgard-no-such-package-zz9"],
      timeout: 120,
    });
    const job = await waitForJob<Job>(platform.api, accepted.job_id, ["completed", "failed"]);
    expect(job).toMatchObject({ status: "failed", error_type: "env_build" });
    expect(job.logs).toMatch(/asgard-no-such-package-zz9/);
    expect(job.logs).not.toContain("never runs");
  }, 300_000);

  it("a timed-out script is killed with every process it started", async () => {
    const marker = `asgard-stubborn-${rand()}`;
    const accepted = await upload(platform.api, {
      script_name: "stubborn.py",
      script_content: b64(stubbornScript(marker)),
      experiment_name: `e2e-timeout-${rand()}`,
      model_name: "t",
      timeout: 3,
    });
    const job = await waitForJob<Job>(platform.api, accepted.job_id, ["completed", "failed"]);
    expect(job).toMatchObject({ status: "failed", error_type: "timeout" });
    expect(job.logs).toContain("started children");
    expect(processesWith(marker)).toEqual([]);
  }, 300_000);

  it("cancels a running job: the script stops and its MLflow run ends KILLED", async () => {
    const running = await upload(platform.api, {
      script_name: "long.py",
      script_content: b64(SLEEP_SCRIPT(600)),
      experiment_name: `e2e-cancel-${rand()}`,
      model_name: "c",
      timeout: 900,
    });
    await waitForJob<Job>(platform.api, running.job_id, ["running"]);
    // Wait for the script itself, then cancel.
    for (let i = 0; i < 400; i++) {
      const j = (await (await fetch(`${platform.api}/mlops/training/jobs/${running.job_id}`)).json()) as Job;
      if (j.logs.includes("sleeping")) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const cancel = await fetch(`${platform.api}/mlops/training/jobs/${running.job_id}`, { method: "DELETE" });
    // 202: the cancel is accepted; the runner stops the script and the job turns cancelled.
    expect(cancel.status).toBe(202);
    const cancelled = await waitForJob<Job>(platform.api, running.job_id, ["cancelled", "failed", "completed"]);
    expect(cancelled.status).toBe("cancelled");
    expect((await mlflow.getRun(cancelled.run_id!)).info.status).toBe("KILLED");
  }, 300_000);

  it("a script finds none of the runner's secrets, in its environment or in /proc", async () => {
    const values = Object.values(CANARIES);
    const accepted = await upload(platform.api, {
      script_name: "snoop.py",
      script_content: b64(snoopScript(values)),
      experiment_name: `e2e-snoop-${rand()}`,
      model_name: "s",
      environment_vars: { DATA_PATH: "/data" },
      timeout: 120,
    });
    const job = await waitForJob<Job>(platform.api, accepted.job_id, ["completed", "failed"]);
    expect(job.status, job.logs).toBe("completed");
    expect(job.logs).toContain("ENV DATA_PATH=/data");
    expect(job.logs).toContain("FOUND []");
    for (const v of values) expect(job.logs).not.toContain(v);
    expect(job.logs).not.toMatch(/ENV (DATABASE_URL|AWS_|NATS_)/);
  }, 300_000);

  it("a script cannot install into or write to its environment", async () => {
    const accepted = await upload(platform.api, {
      script_name: "pip.py",
      script_content: b64(PIP_INSTALL_SCRIPT),
      experiment_name: `e2e-pip-${rand()}`,
      model_name: "p",
      timeout: 120,
    });
    const job = await waitForJob<Job>(platform.api, accepted.job_id, ["completed", "failed"]);
    expect(job, job.logs).toMatchObject({ status: "failed", exit_code: 3 });
    expect(job.logs).toContain("env is read-only");
    expect(job.logs).not.toContain("WROTE INTO ENV");
    expect(job.logs).not.toContain("INSTALLED INTO ENV");
  }, 300_000);

  it("fails a job whose script switches to another experiment, naming both", async () => {
    const experiment = `e2e-exp-${rand()}`;
    const accepted = await upload(platform.api, {
      script_name: "switch.py",
      script_content: b64('import mlflow\nmlflow.set_experiment("somewhere-else")\nwith mlflow.start_run():\n    pass\n'),
      experiment_name: experiment,
      model_name: "sw",
      timeout: 120,
    });
    const job = await waitForJob<Job>(platform.api, accepted.job_id, ["completed", "failed"]);
    expect(job.status).toBe("failed");
    expect(job.error).toContain("somewhere-else");
    expect(job.error).toContain(experiment);
  }, 300_000);
});
