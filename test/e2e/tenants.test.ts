import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createMlflowClient } from "@asgard/mlflow";
import { type AuthMlflow, type Platform, SEED_SCRIPT, startAuthMlflow, startPlatform } from "@asgard/test-support";

interface Job {
  job_id: string;
  tenant: string;
  status: string;
  run_id: string | null;
  logs: string;
}

interface MlflowRun {
  run: { info: { run_id: string; experiment_id: string; status: string }; data: { metrics?: Array<{ key: string }>; tags?: Array<{ key: string; value: string }> } };
}

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");
const WORKSPACE_HEADER = "X-MLFLOW-WORKSPACE";

/**
 * A job that tries to reach another tenant's experiment with plain MLflow calls, the workspace
 * header forced to that tenant's, and reports what MLflow answered.
 */
const PROBE_SCRIPT = `
import os, requests
import mlflow
from mlflow import MlflowClient

target, victim = os.environ["PROBE_EXPERIMENT_ID"], os.environ["PROBE_WORKSPACE"]
client = MlflowClient()
mlflow.set_workspace(victim)

def attempt(what, call):
    try:
        call()
        print(f"PROBE {what}: ALLOWED")
    except Exception as e:
        print(f"PROBE {what}: REFUSED {str(e)[:300]}")

attempt("get", lambda: client.get_experiment(target))
attempt("delete", lambda: client.delete_experiment(target))
answer = requests.post(
    os.environ["MLFLOW_TRACKING_URI"] + "/api/2.0/mlflow/experiments/delete",
    json={"experiment_id": target},
    headers={"X-MLFLOW-WORKSPACE": victim},
)
print(f"PROBE rest-delete: HTTP {answer.status_code}")
print(f"PROBE password in environment: {'MLFLOW_TRACKING_PASSWORD' in os.environ}")
`;

describe("a tenant's job end to end (API keys, real NATS, database, MLflow workspaces with basic auth, uv, bubblewrap)", () => {
  const infra = inject("infra");
  let platform: Platform;
  let mlflowServer: AuthMlflow;
  const keys: Record<string, string> = {};

  async function call<T>(key: string | null, path: string, init: RequestInit = {}): Promise<{ status: number; body: T }> {
    const res = await fetch(`${platform.api}${path}`, {
      ...init,
      headers: { "content-type": "application/json", ...(key ? { authorization: `Bearer ${key}` } : {}), ...init.headers },
    });
    return { status: res.status, body: (await res.json()) as T };
  }

  async function createKey(by: string | null, body: object): Promise<string> {
    const res = await call<{ key: string }>(by, "/mlops/keys", { method: "POST", body: JSON.stringify(body) });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.key;
  }

  /** Polls the job with the tenant's key; bounded by tries, not by time. */
  async function waitForJob(key: string, jobId: string, tries = 1_200): Promise<Job> {
    let last: Job | undefined;
    for (let i = 0; i < tries; i++) {
      const res = await call<Job>(key, `/mlops/training/jobs/${jobId}`);
      last = res.body;
      if (res.status === 200 && ["completed", "failed", "cancelled"].includes(res.body.status)) return res.body;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`job ${jobId} never ended: ${JSON.stringify(last)}`);
  }

  /** MLflow's REST API, in the workspace named (none: the default one). */
  async function mlflow<T>(path: string, workspace?: string): Promise<{ status: number; body: T }> {
    const res = await fetch(`${platform.mlflowUrl}${path}`, {
      headers: {
        authorization: `Basic ${Buffer.from(`${mlflowServer.admin.username}:${mlflowServer.admin.password}`).toString("base64")}`,
        ...(workspace ? { [WORKSPACE_HEADER]: workspace } : {}),
      },
    });
    return { status: res.status, body: (await res.json()) as T };
  }

  beforeAll(async () => {
    // Keyed mode: MLflow with its basic-auth app, the services with its admin credentials.
    mlflowServer = await startAuthMlflow(infra);
    platform = await startPlatform(infra, { runners: 1, mlflowUrl: mlflowServer.url, env: mlflowServer.serviceEnv });
    // Local mode: the first admin key comes from loopback with no key; then keys are required.
    keys.admin = await createKey(null, { name: "e2e admin", scopes: ["admin"] });
    keys["team-a"] = await createKey(keys.admin, { name: "team-a ci", scopes: ["jobs:submit", "jobs:read"], tenant: "team-a" });
    keys["team-b"] = await createKey(keys.admin, { name: "team-b ci", scopes: ["jobs:submit", "jobs:read"], tenant: "team-b" });
  }, 180_000);

  afterAll(async () => {
    await platform?.stop();
    await mlflowServer?.stop();
  });

  it("trains the seed report's example for team-a, with its MLflow run in the team-a workspace and not in default", async () => {
    const accepted = await call<Job>(keys["team-a"]!, "/mlops/training/upload", {
      method: "POST",
      body: JSON.stringify({
        script_name: "train.py",
        script_content: b64(SEED_SCRIPT),
        experiment_name: "my-experiment",
        model_name: "my-model",
        requirements: ["scikit-learn"],
        timeout: 300,
      }),
    });
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
    expect(accepted.body.tenant).toBe("team-a");

    const job = await waitForJob(keys["team-a"]!, accepted.body.job_id);
    expect(job.status, job.logs).toBe("completed");
    expect(job.logs).toMatch(/Accuracy: \d\.\d{4}/);
    expect(job.run_id).toMatch(/^[0-9a-f]{32}$/);

    // The script's plain set_experiment("my-experiment") and start_run() landed in team-a's workspace.
    const inTeamA = await mlflow<MlflowRun>(`/api/2.0/mlflow/runs/get?run_id=${job.run_id}`, "team-a");
    expect(inTeamA.status).toBe(200);
    expect(inTeamA.body.run.info.status).toBe("FINISHED");
    expect(inTeamA.body.run.data.metrics?.map((m) => m.key)).toContain("accuracy");
    expect(inTeamA.body.run.data.tags).toContainEqual({ key: "asgard.job_id", value: job.job_id });
    const experiment = await mlflow<{ experiment: { experiment_id: string } }>(
      "/api/2.0/mlflow/experiments/get-by-name?experiment_name=my-experiment",
      "team-a",
    );
    expect(experiment.body.experiment.experiment_id).toBe(inTeamA.body.run.info.experiment_id);

    const inDefault = await mlflow<{ error_code?: string }>(`/api/2.0/mlflow/runs/get?run_id=${job.run_id}`);
    expect(inDefault.status).toBe(404);
    expect(inDefault.body.error_code).toBe("RESOURCE_DOES_NOT_EXIST");

    // Another tenant's key does not learn that the job exists.
    const fromTeamB = await call<{ error: string }>(keys["team-b"]!, `/mlops/training/jobs/${job.job_id}`);
    expect(fromTeamB.status).toBe(404);
    const listedForB = await call<{ jobs: Job[] }>(keys["team-b"]!, "/mlops/training/jobs");
    expect(listedForB.body.jobs.map((j) => j.job_id)).not.toContain(job.job_id);
  }, 600_000);

  it("keeps a team-a job out of team-b's experiment, whatever workspace its MLflow calls name", async () => {
    const admin = createMlflowClient({ baseUrl: mlflowServer.url, auth: mlflowServer.admin });
    const ofB = await admin
      .ensureWorkspace("team-b")
      .then(() => admin.inWorkspace("team-b").getOrCreateExperiment("b-private"))
      .then((e) => e.experiment_id);
    const accepted = await call<Job>(keys["team-a"]!, "/mlops/training/upload", {
      method: "POST",
      body: JSON.stringify({
        script_name: "probe.py",
        script_content: b64(PROBE_SCRIPT),
        experiment_name: "probe",
        model_name: "probe",
        environment_vars: { PROBE_EXPERIMENT_ID: ofB, PROBE_WORKSPACE: "team-b" },
        timeout: 300,
      }),
    });
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
    const job = await waitForJob(keys["team-a"]!, accepted.body.job_id);
    expect(job.status, job.logs).toBe("completed");
    expect(job.logs).toMatch(/PROBE get: REFUSED/);
    expect(job.logs).toMatch(/PROBE delete: REFUSED/);
    expect(job.logs).toMatch(/PROBE rest-delete: HTTP (403|404)/);
    expect(job.logs).not.toMatch(/ALLOWED/);
    // The script never held a password: the sandbox's proxy adds team-a's to its calls.
    expect(job.logs).toContain("PROBE password in environment: False");
    expect((await admin.inWorkspace("team-b").getExperiment(ofB)).lifecycle_stage).toBe("active");
    await admin.close();
  }, 600_000);

  it("refuses MLFLOW_WORKSPACE among a job's environment variables, naming the rule", async () => {
    const res = await call<{ issues: Array<{ field: string; message: string }> }>(keys["team-a"]!, "/mlops/training/upload", {
      method: "POST",
      body: JSON.stringify({
        script_name: "train.py",
        script_content: b64(SEED_SCRIPT),
        experiment_name: "my-experiment",
        model_name: "my-model",
        environment_vars: { MLFLOW_WORKSPACE: "team-b" },
      }),
    });
    expect(res.status).toBe(422);
    expect(res.body.issues).toContainEqual({
      field: "environment_vars.MLFLOW_WORKSPACE",
      message: expect.stringContaining("names starting with MLFLOW_ are set by the platform"),
    });
  });
});
