import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { startMlflowServer, startNatsServer } from "@asgard/infra";
import type { TestInfra } from "./infra.js";
import { createScratchDatabase } from "./postgres.js";

/**
 * Starts the run's infrastructure as local processes: nats-server with JetStream,
 * an MLflow server, and (when DATABASE_URL names a server) a fresh PostgreSQL database.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const workDir = await mkdtemp(join(tmpdir(), "asgard-test-"));
  const cleanups: Array<() => Promise<void>> = [];
  try {
    const nats = await startNatsServer({ storeDir: join(workDir, "nats"), logFile: join(workDir, "nats.log") });
    cleanups.push(() => nats.stop());

    let databaseUrl: string | null = null;
    let postgresAdminUrl: string | null = null;
    if (process.env.DATABASE_URL) {
      const scratch = await createScratchDatabase(process.env.DATABASE_URL);
      databaseUrl = scratch.url;
      postgresAdminUrl = scratch.adminUrl;
      cleanups.push(() => scratch.drop());
    }

    const mlflow = await startMlflowServer({
      backendStoreUri: `sqlite:///${join(workDir, "mlflow", "mlflow.db")}`,
      artifactsDestination: join(workDir, "mlflow", "artifacts"),
      logFile: join(workDir, "mlflow.log"),
    });
    cleanups.push(() => mlflow.stop());

    const infra: TestInfra = {
      natsUrl: nats.url,
      mlflowUrl: mlflow.url,
      databaseUrl,
      postgresAdminUrl,
      s3: null,
      workDir,
    };
    project.provide("infra", infra);
  } catch (err) {
    await teardown(cleanups, workDir);
    throw err;
  }
  return () => teardown(cleanups, workDir);
}

async function teardown(cleanups: Array<() => Promise<void>>, workDir: string): Promise<void> {
  for (const cleanup of cleanups.reverse()) {
    await cleanup().catch((err: unknown) => console.error("harness cleanup failed:", err));
  }
  if (!process.env.ASGARD_KEEP_TEST_DIR) await rm(workDir, { recursive: true, force: true });
}
