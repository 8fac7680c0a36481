import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startMlflowServer, type MlflowServer } from "@asgard/infra";
import { createMlflowClient } from "@asgard/mlflow";
import { startPlatform, type Platform, createScratchDatabase } from "@asgard/test-support";
import { runUserScript, SCALE_MODELS_SCRIPT } from "./user-script.js";

interface Prediction {
  model_version: string;
  predictions: unknown[];
  message?: string;
}

/** The backend stores MLflow runs on: SQLite (the embedded default) and PostgreSQL (production). */
const BACKENDS = ["sqlite", ...(inject("infra").postgresAdminUrl ? ["postgresql"] : [])] as const;

/**
 * An MLflow database made before tenants — the server ran without `--enable-workspaces`, a
 * user's script registered `churn` and an alias was set — is started again with workspaces
 * on, as the platform runs it now: everything in it is the default tenant's, listed, served
 * for predictions, and its aliases move.
 */
describe.each(BACKENDS)("data from before tenants: an MLflow database (%s) made without workspaces serves as the default tenant", (backend) => {
  const infra = inject("infra");
  let dir: string;
  let mlflow: MlflowServer;
  let platform: Platform;
  let dropDatabase: (() => Promise<void>) | null = null;

  const call = async <T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> => {
    const res = await fetch(`${platform.api}${path}`, {
      method,
      ...(body === undefined ? {} : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: (text === "" ? {} : JSON.parse(text)) as T };
  };

  /** As a client does: a 503 while the model's worker loads means "retry shortly". */
  const predict = async (model_version?: string) => {
    const body = { model_name: "churn", inputs: { x: [1, 2] }, ...(model_version ? { model_version } : {}) };
    for (let tries = 0; ; tries++) {
      const res = await call<Prediction>("POST", "/mlops/inference", body);
      if (res.status !== 503 || tries >= 300) return res;
      await new Promise((r) => setTimeout(r, 1000));
    }
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(infra.workDir, `legacy-mlflow-${backend}-`));
    let backendStoreUri = `sqlite:///${join(dir, "mlflow.db")}`;
    if (backend === "postgresql") {
      const scratch = await createScratchDatabase(infra.postgresAdminUrl as string, "legacy_mlflow");
      dropDatabase = scratch.drop;
      // As deploy/ writes it: SQLAlchemy's dialect name (node-postgres URLs say `postgres`).
      backendStoreUri = scratch.url.replace(/^postgres:/, "postgresql:");
    }
    const store = { backendStoreUri, artifactsDestination: join(dir, "artifacts") };
    mlflow = await startMlflowServer({ ...store, workspaces: false, logFile: join(dir, "mlflow-before.log") });
    await runUserScript(infra, mlflow.url, SCALE_MODELS_SCRIPT, { FACTORS: "2,3", MODEL_NAME: "churn" });
    const client = createMlflowClient({ baseUrl: mlflow.url });
    await client.setAlias("churn", "champion", "1");
    await client.close();
    await mlflow.stop();

    mlflow = await startMlflowServer({ ...store, logFile: join(dir, "mlflow-after.log") });
    platform = await startPlatform(infra, { mlflowUrl: mlflow.url, runners: 0, services: ["registry", "inference", "gateway"] });
  }, 900_000);

  afterAll(async () => {
    await platform?.stop();
    await mlflow?.stop();
    await dropDatabase?.();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("finds the earlier data in the default workspace, the only one", async () => {
    const client = createMlflowClient({ baseUrl: mlflow.url });
    try {
      expect((await client.listWorkspaces()).map((w) => w.name)).toEqual(["default"]);
      expect((await client.inWorkspace("default").getRegisteredModel("churn")).aliases).toEqual([{ alias: "champion", version: "1" }]);
    } finally {
      await client.close();
    }
  });

  it("lists and reads the model made before tenants", async () => {
    let listed = await call<{ name: string; latest_versions: { version: string }[] }[]>("GET", "/mlops/models");
    for (let tries = 0; listed.status === 503 && tries < 300; tries++) {
      await new Promise((r) => setTimeout(r, 200));
      listed = await call("GET", "/mlops/models");
    }
    expect(listed.status).toBe(200);
    expect(listed.body.map((m) => [m.name, m.latest_versions.map((v) => v.version)])).toEqual([["churn", ["2"]]]);
    const one = await call<{ aliases: Record<string, string> }>("GET", "/mlops/models/churn");
    expect([one.status, one.body.aliases]).toEqual([200, { champion: "1" }]);
  });

  // Each version loads in a sandboxed worker: minutes apiece on a busy machine.
  it("serves its versions and its alias for predictions", async () => {
    for (const [ref, version, predictions] of [["1", "1", [2, 4]], ["@champion", "1", [2, 4]], [undefined, "2", [3, 6]]] as const) {
      const res = await predict(ref);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect([res.body.model_version, res.body.predictions]).toEqual([version, predictions]);
    }
  }, 600_000);

  // Each version loads in a sandboxed worker: minutes apiece on a busy machine.
  it("moves and deletes its alias, and inference follows", async () => {
    const moved = await call("PUT", "/mlops/models/churn/aliases/champion", { version: "2" });
    expect([moved.status, moved.body]).toEqual([200, { model_name: "churn", alias: "champion", version: "2", previous_version: "1" }]);
    let res = await predict("@champion");
    for (let tries = 0; res.body.model_version !== "2" && tries < 100; tries++) {
      await new Promise((r) => setTimeout(r, 100));
      res = await predict("@champion");
    }
    expect([res.status, res.body.model_version, res.body.predictions]).toEqual([200, "2", [3, 6]]);

    expect((await call("DELETE", "/mlops/models/churn/aliases/champion")).status).toBe(204);
    let gone = await predict("@champion");
    for (let tries = 0; gone.status !== 404 && tries < 100; tries++) {
      await new Promise((r) => setTimeout(r, 100));
      gone = await predict("@champion");
    }
    expect(gone.status).toBe(404);
    expect((await call<{ aliases: Record<string, string> }>("GET", "/mlops/models/churn")).body.aliases).toEqual({});
  }, 600_000);
});
