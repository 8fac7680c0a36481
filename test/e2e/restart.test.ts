import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createMlflowClient, type MlflowClient } from "@asgard/mlflow";
import { type Platform, pollUntil, SLEEP_SCRIPT, startPlatform, waitForJob } from "@asgard/test-support";

interface Job {
  job_id: string;
  status: string;
  run_id: string | null;
  attempt: number;
  logs: string;
}

const rand = () => Math.random().toString(36).slice(2, 10);

async function upload(api: string, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  const res = await fetch(`${api}/mlops/training/upload`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, job: (await res.json()) as Job };
}

describe("restarts", () => {
  const infra = inject("infra");
  let platform: Platform;
  let mlflow: MlflowClient;

  beforeAll(async () => {
    platform = await startPlatform(infra, { runners: 1, env: { STARTUP_GRACE_MS: "2000" } });
    mlflow = createMlflowClient({ baseUrl: infra.mlflowUrl });
  }, 180_000);

  afterAll(async () => {
    await mlflow?.close();
    await platform?.stop();
  });

  it("jobs queued and running while the scheduler restarts all finish, and the table agrees with MLflow", async () => {
    const experiment = `restart-${rand()}`;
    const jobs: Job[] = [];
    for (let i = 0; i < 4; i++) {
      const { status, job } = await upload(platform.api, {
        script_name: `r${i}.py`,
        script_content: Buffer.from(SLEEP_SCRIPT(3, `restart job ${i} done`)).toString("base64"),
        experiment_name: experiment,
        model_name: "restart",
        timeout: 120,
      });
      expect(status).toBe(202);
      jobs.push(job);
    }
    await waitForJob<Job>(platform.api, jobs[0]!.job_id, ["running"]);
    await platform.restart("job-scheduler");
    await pollUntil(`${platform.api}/mlops/training/jobs?limit=1`, (s) => s === 200, 600);

    const done = await Promise.all(jobs.map((j) => waitForJob<Job>(platform.api, j.job_id, ["completed", "failed", "cancelled"])));
    expect(done.map((j) => j.status)).toEqual(["completed", "completed", "completed", "completed"]);
    const exp = await mlflow.getExperimentByName(experiment);
    const { runs } = await mlflow.searchRuns({ experimentIds: [exp!.experiment_id], maxResults: 100 });
    for (const job of done) {
      expect(job.logs).toContain("done");
      const run = runs.find((r) => r.info.run_id === job.run_id);
      expect(run?.info.status).toBe("FINISHED");
      expect(run?.data.tags).toContainEqual(expect.objectContaining({ key: "asgard.job_id", value: job.job_id }));
    }
    // No job left a second, unfinished run behind.
    expect(runs.filter((r) => r.info.status === "RUNNING")).toEqual([]);
  }, 600_000);

  it("an idempotency key still names the same job after the gateway restarts", async () => {
    const key = `restart-key-${rand()}`;
    const body = {
      script_name: "idem.py",
      script_content: Buffer.from("print('once')\n").toString("base64"),
      experiment_name: `idem-${rand()}`,
      model_name: "idem",
      timeout: 60,
    };
    const first = await upload(platform.api, body, { "idempotency-key": key });
    expect(first.status).toBe(202);
    await platform.restart("gateway");
    await pollUntil(`${platform.api}/mlops/training/jobs?limit=1`, (s) => s === 200, 600);
    const second = await upload(platform.api, body, { "idempotency-key": key });
    expect(second.status).toBe(202);
    expect(second.job.job_id).toBe(first.job.job_id);
    const other = await upload(platform.api, { ...body, model_name: "different" }, { "idempotency-key": key });
    expect(other.status).toBe(409);
  }, 300_000);
});
