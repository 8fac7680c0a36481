import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { TOOL_VERSIONS } from "@asgard/tools";
import { startPlatform, waitForJob, type Platform } from "@asgard/test-support";

interface Job {
  job_id: string;
  status: string;
  logs: string;
  error: string | null;
  error_type: string | null;
}

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");

/** The platform's own Python layer (MLflow at the server's version, under the committed constraints) meets a user's pin. */
describe("a user's pin that MLflow cannot live with", () => {
  const infra = inject("infra");
  let platform: Platform;

  beforeAll(async () => {
    platform = await startPlatform(infra, { runners: 1 });
  }, 180_000);
  afterAll(async () => {
    await platform?.stop();
  });

  it("fails the job while building its environment, naming the conflict", async () => {
    const res = await fetch(`${platform.api}/mlops/training/upload`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        script_name: "train.py",
        script_content: b64("import mlflow\nprint('never runs')\n"),
        experiment_name: `e2e-conflict-${Date.now()}`,
        model_name: "conflict",
        // MLflow needs click>=7: no environment holds both.
        requirements: ["click<7"],
        timeout: 120,
      }),
    });
    expect(res.status).toBe(202);
    const { job_id } = (await res.json()) as Job;
    const job = await waitForJob<Job>(platform.api, job_id, ["completed", "failed"]);
    expect(job).toMatchObject({ status: "failed", error_type: "env_build" });
    expect(job.error).toContain(`the requirements and the platform's mlflow==${TOOL_VERSIONS.mlflow} cannot be resolved together`);
    expect(job.error).toMatch(/you require click<7 and mlflow==/);
    expect(job.logs).not.toContain("never runs");
  }, 300_000);
});
