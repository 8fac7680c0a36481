import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { startMlflowServer, startNatsServer, startPostgres, startSeaweedS3, type SeaweedS3 } from "@asgard/infra";
import type { TestInfra } from "./infra.js";
import { createScratchDatabase } from "./postgres.js";
import { createBucket } from "./s3.js";
import { startContainerInfra } from "./containers.js";
import { dockerEngineAnswers } from "./docker.js";

/**
 * Starts the run's infrastructure as local processes: nats-server with JetStream,
 * an MLflow server, SeaweedFS serving S3 (with one bucket), and a fresh PostgreSQL
 * database — on the server DATABASE_URL names, else on a PostgreSQL of the run's own.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // ASGARD_TEST_INFRA: "processes" (default where no Docker engine answers), "containers", or "auto".
  const mode = process.env.ASGARD_TEST_INFRA ?? "auto";
  if (mode === "containers" || (mode === "auto" && (await dockerEngineAnswers()))) return setupWithContainers(project);
  const workDir = await mkdtemp(join(tmpdir(), "asgard-test-"));
  const cleanups: Array<() => Promise<void>> = [];
  let seaweedStarting: Promise<SeaweedS3> | undefined;
  try {
    const nats = await startNatsServer({ storeDir: join(workDir, "nats"), logFile: join(workDir, "nats.log") });
    cleanups.push(() => nats.stop());

    // DATABASE_URL names a server to use; without it the run has a PostgreSQL of its own.
    let serverUrl = process.env.DATABASE_URL;
    if (!serverUrl) {
      // Its own temporary directory: PostgreSQL may run as another user, who must own it.
      const pgDir = await mkdtemp(join(tmpdir(), "asgard-test-pg-"));
      cleanups.push(() => rm(pgDir, { recursive: true, force: true }));
      const postgres = await startPostgres({ dir: pgDir, logFile: join(workDir, "postgres.log") });
      cleanups.push(() => postgres.stop());
      serverUrl = postgres.url;
    }
    const scratch = await createScratchDatabase(serverUrl);
    const databaseUrl = scratch.url;
    const postgresAdminUrl = scratch.adminUrl;
    cleanups.push(() => scratch.drop());

    // SeaweedFS comes up in a few seconds: start it now and let MLflow's start cover that.
    seaweedStarting = startSeaweedS3({ dir: join(workDir, "seaweedfs"), logFile: join(workDir, "seaweedfs.log") });
    seaweedStarting.then((seaweed) => cleanups.push(() => seaweed.stop()), () => undefined);

    const mlflow = await startMlflowServer({
      backendStoreUri: `sqlite:///${join(workDir, "mlflow", "mlflow.db")}`,
      artifactsDestination: join(workDir, "mlflow", "artifacts"),
      logFile: join(workDir, "mlflow.log"),
    });
    cleanups.push(() => mlflow.stop());

    const { endpoint, region, accessKeyId, secretAccessKey } = await seaweedStarting;
    const s3 = { endpoint, region, accessKeyId, secretAccessKey, bucket: TEST_BUCKET };
    await createBucket(s3);

    const infra: TestInfra = {
      natsUrl: nats.url,
      mlflowUrl: mlflow.url,
      databaseUrl,
      postgresAdminUrl,
      s3,
      workDir,
    };
    project.provide("infra", infra);
  } catch (err) {
    // Let a start still in flight register its cleanup before everything is torn down.
    await seaweedStarting?.catch(() => undefined);
    await teardown(cleanups, workDir);
    throw err;
  }
  return () => teardown(cleanups, workDir);
}

/** The same infrastructure from testcontainers (see containers.ts for what it covers). */
async function setupWithContainers(project: TestProject): Promise<() => Promise<void>> {
  const workDir = await mkdtemp(join(tmpdir(), "asgard-test-"));
  const containers = await startContainerInfra({ needPostgres: !process.env.DATABASE_URL });
  const cleanups: Array<() => Promise<void>> = [() => containers.stop()];
  const base = process.env.DATABASE_URL ?? containers.postgresUrl;
  if (!base) throw new Error("no PostgreSQL: set DATABASE_URL or let the containers start one");
  const scratch = await createScratchDatabase(base);
  cleanups.push(() => scratch.drop());
  const s3 = { ...containers.s3, bucket: TEST_BUCKET };
  await createBucket(s3);
  project.provide("infra", {
    natsUrl: containers.natsUrl,
    mlflowUrl: containers.mlflowUrl,
    databaseUrl: scratch.url,
    postgresAdminUrl: scratch.adminUrl,
    s3,
    workDir,
  });
  return () => teardown(cleanups, workDir);
}

/** The one bucket of a run; tests isolate themselves by key prefix inside it. */
const TEST_BUCKET = "asgard-test";

async function teardown(cleanups: Array<() => Promise<void>>, workDir: string): Promise<void> {
  for (const cleanup of cleanups.reverse()) {
    await cleanup().catch((err: unknown) => console.error("harness cleanup failed:", err));
  }
  if (!process.env.ASGARD_KEEP_TEST_DIR) await rm(workDir, { recursive: true, force: true });
}
