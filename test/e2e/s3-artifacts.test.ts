import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { join } from "node:path";
import { startMlflowServer, type MlflowServer } from "@asgard/infra";
import { createMlflowClient, type MlflowClient } from "@asgard/mlflow";
import { createS3BlobStore } from "@asgard/storage";
import { createScratchDatabase, MODEL_SCRIPT, type Platform, startPlatform, waitForJob } from "@asgard/test-support";

interface Job {
  job_id: string;
  status: string;
  run_id: string | null;
  logs: string;
}

/**
 * The seed's blocker: MLflow on PostgreSQL with its artifacts on S3. Only the tracking server
 * holds S3 credentials; the runner and the job have none, and the model still lands in S3.
 */
describe("model artifacts through the tracking server to S3", () => {
  const infra = inject("infra");
  let mlflowServer: MlflowServer;
  let dropDatabase: () => Promise<void>;
  let platform: Platform;
  let mlflow: MlflowClient;
  let prefix: string;

  beforeAll(async () => {
    if (!infra.databaseUrl || !infra.s3) {
      throw new Error("this test needs the harness's PostgreSQL database and S3 server (@asgard/test-support's global setup)");
    }
    const db = await createScratchDatabase(infra.databaseUrl, "asgard_mlflow_s3");
    prefix = `mlflow-${Date.now()}`;
    dropDatabase = db.drop;
    const backend = db.url.replace(/^postgres(ql)?:\/\//, "postgresql://");
    mlflowServer = await startMlflowServer({
      backendStoreUri: backend,
      artifactsDestination: `s3://${infra.s3.bucket}/${prefix}`,
      logFile: join(infra.workDir, "mlflow-s3.log"),
      env: {
        AWS_ACCESS_KEY_ID: infra.s3.accessKeyId,
        AWS_SECRET_ACCESS_KEY: infra.s3.secretAccessKey,
        AWS_DEFAULT_REGION: infra.s3.region,
        MLFLOW_S3_ENDPOINT_URL: infra.s3.endpoint,
      },
    });
    // The runner's environment names no AWS variable at all.
    platform = await startPlatform(infra, { runners: 1, mlflowUrl: mlflowServer.url });
    expect(Object.keys(platform.env).filter((k) => k.startsWith("AWS_") || k.startsWith("MLFLOW_S3"))).toEqual([]);
    mlflow = createMlflowClient({ baseUrl: mlflowServer.url });
  }, 300_000);

  afterAll(async () => {
    await mlflow?.close();
    await platform?.stop();
    await mlflowServer?.stop();
    await dropDatabase?.();
  });

  it("logs an sklearn model from a job and serves it back through the tracking server", async () => {
    const res = await fetch(`${platform.api}/mlops/training/upload`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        script_name: "train.py",
        script_content: Buffer.from(MODEL_SCRIPT).toString("base64"),
        experiment_name: `s3-artifacts-${Date.now()}`,
        model_name: `s3-model-${Date.now()}`,
        requirements: ["scikit-learn"],
        timeout: 600,
      }),
    });
    expect(res.status).toBe(202);
    const { job_id } = (await res.json()) as Job;
    const job = await waitForJob<Job>(platform.api, job_id, ["completed", "failed"]);
    expect(job.status, job.logs).toBe("completed");
    const run = await mlflow.getRun(job.run_id!);
    const { models } = await mlflow.searchLoggedModels({
      experimentIds: [run.info.experiment_id],
      filter: `source_run_id = '${job.run_id}'`,
    });
    expect(models).toHaveLength(1);
    const mlmodel = await mlflow.downloadArtifact(`${models[0]!.info.artifact_uri}/MLmodel`);
    expect(mlmodel.toString()).toContain("sklearn");

    // The bytes are in the S3 bucket, put there by the tracking server.
    const s3 = infra.s3!;
    const store = createS3BlobStore({
      bucket: s3.bucket,
      endpoint: s3.endpoint,
      region: s3.region,
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
      prefix,
    });
    const keys: string[] = [];
    for await (const key of store.list("")) keys.push(key);
    expect(keys.some((k) => k.endsWith("/MLmodel"))).toBe(true);
  }, 900_000);
});
