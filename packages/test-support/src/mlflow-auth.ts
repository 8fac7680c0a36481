import { randomBytes } from "node:crypto";
import { mkdtemp } from "node:fs/promises";
import { join } from "node:path";
import { startMlflowServer } from "@asgard/infra";
import type { TestInfra } from "./infra.js";

/**
 * An MLflow server with its basic-auth app (keyed mode), started by the tests that need one
 * rather than by the harness: every other test keeps the run's MLflow without auth, and only
 * these files pay for a second server's start.
 */
export interface AuthMlflow {
  url: string;
  admin: { username: string; password: string };
  /** The platform secret tenant passwords derive from (the runners' MLFLOW_TENANT_SECRET). */
  tenantSecret: string;
  /** What a service needs to call it as admin (and, for runners, to derive tenant users). */
  serviceEnv: Record<string, string>;
  stop(): Promise<void>;
}

export async function startAuthMlflow(infra: TestInfra): Promise<AuthMlflow> {
  const dir = await mkdtemp(join(infra.workDir, "mlflow-auth-"));
  const admin = { username: "asgard-admin", password: randomBytes(24).toString("base64url") };
  const tenantSecret = randomBytes(32).toString("base64url");
  const server = await startMlflowServer({
    backendStoreUri: `sqlite:///${join(dir, "mlflow.db")}`,
    artifactsDestination: join(dir, "artifacts"),
    logFile: join(dir, "mlflow.log"),
    auth: {
      admin,
      secretKey: randomBytes(32).toString("base64url"),
      databaseUri: `sqlite:///${join(dir, "auth.db")}`,
      configDir: dir,
    },
  });
  return {
    url: server.url,
    admin,
    tenantSecret,
    serviceEnv: {
      MLFLOW_TRACKING_URI: server.url,
      MLFLOW_TRACKING_USERNAME: admin.username,
      MLFLOW_TRACKING_PASSWORD: admin.password,
      MLFLOW_TENANT_SECRET: tenantSecret,
    },
    stop: () => server.stop(),
  };
}
