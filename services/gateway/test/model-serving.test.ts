import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { connectBus, type Bus } from "@asgard/bus";
import { ErrorBodySchema, ModelServingSchema, STREAMS, type Tenant } from "@asgard/contracts";
import { startNatsServer, type ManagedProcess, type NatsServer } from "@asgard/infra";
import { createMlflowClient, type MlflowClient } from "@asgard/mlflow";
import { startServiceProcess } from "@asgard/test-support";
import { bearer, createKey, keyedReplica, type KeyedReplica } from "./keyed-gateway.js";
import { logger } from "./stack.js";

const tenantName = (prefix: string): Tenant => `${prefix}-${randomUUID().slice(0, 8)}`;

/**
 * A registered version over REST: the serving route reads what the inference replica holds
 * and never loads a model, so the files need not load.
 */
async function registeredVersion(mlflow: MlflowClient, experimentId: string, name: string): Promise<string> {
  const { info } = await mlflow.createRun({ experimentId });
  const model = await mlflow.createLoggedModel({ experimentId, name: "model", sourceRunId: info.run_id });
  await mlflow.uploadArtifact(`${model.info.artifact_uri}/MLmodel`, "artifact_path: model\nflavors: {}\n");
  await mlflow.finalizeLoggedModel(model.info.model_id);
  if (!(await mlflow.findRegisteredModel(name))) await mlflow.createRegisteredModel(name);
  const mv = await mlflow.createModelVersion({ name, source: `models:/${model.info.model_id}`, runId: info.run_id, modelId: model.info.model_id });
  await mlflow.waitForModelVersionReady(name, mv.version, { timeoutMs: 30_000, intervalMs: 100 });
  return mv.version;
}

/**
 * `GET /mlops/models/{model_name}/versions/{version}/serving` through a gateway with API keys
 * and a real inference service, NATS and MLflow: the caller's tenant's version is described
 * (a version nobody predicted with is not loaded, and says so), another tenant's is a 404
 * like a missing one, and a version that cannot exist is a 422 naming the parameter. The
 * loaded states (python, onnx, and why not onnx) are covered where models are served:
 * services/inference/test/compile*.test.ts.
 */
describe("GET …/versions/{version}/serving (real gateway, inference, NATS and MLflow)", () => {
  const infra = inject("infra");
  let dir: string;
  let nats: NatsServer;
  let mlflow: MlflowClient;
  let serviceBus: Bus;
  let inference: ManagedProcess & { output: () => string };
  const instanceId = `serving-${randomUUID().slice(0, 8)}`;
  let gateway: KeyedReplica;
  const a = tenantName("serve-a");
  const b = tenantName("serve-b");
  const name = "churn";
  const keys: Record<Tenant, string> = {};

  const get = (key: string, url: string) => gateway.app.inject({ method: "GET", url, headers: bearer(key) });

  beforeAll(async () => {
    dir = await mkdtemp(join(infra.workDir, "gateway-serving-"));
    nats = await startNatsServer({ storeDir: join(dir, "nats") });
    mlflow = createMlflowClient({ baseUrl: infra.mlflowUrl, timeoutMs: 30_000 });
    // Only A has a `churn`: two versions and an alias.
    await mlflow.ensureWorkspace(a);
    await mlflow.ensureWorkspace(b);
    const inA = mlflow.inWorkspace(a);
    const experimentId = await inA.createExperiment(`serving-${randomUUID().slice(0, 8)}`);
    expect(await registeredVersion(inA, experimentId, name)).toBe("1");
    expect(await registeredVersion(inA, experimentId, name)).toBe("2");
    await inA.setAlias(name, "champion", "1");

    serviceBus = await connectBus({ servers: nats.url, name: "gateway-serving-inference", logger });
    // The scheduler owns the stream; in a deployment inference waits for it to make it.
    await serviceBus.ensureStream(STREAMS.models);
    // The inference service as a deployment runs it: its own process, from its entry point.
    inference = startServiceProcess("inference", {
      NATS_URL: nats.url,
      MLFLOW_TRACKING_URI: infra.mlflowUrl,
      ASGARD_DATA_DIR: join(dir, "inference"),
      INFERENCE_INSTANCE_ID: instanceId,
      INFERENCE_COMPILE: "onnx",
      METRICS_PORT: "0",
    });

    gateway = await keyedReplica(nats.url, "gateway-serving");
    const admin = (await createKey(gateway.app, null, { name: "admin", scopes: ["admin"] })).key;
    for (const tenant of [a, b]) keys[tenant] = (await createKey(gateway.app, admin, { name: `${tenant} app`, scopes: ["predict"], tenant })).key;
    // Until the inference process serves its endpoints, the gateway answers 503.
    for (let tries = 0; ; tries++) {
      const res = await get(keys[a] as string, `/mlops/models/${name}/versions/1/serving`);
      if (res.statusCode !== 503) break;
      if (tries > 1200) throw new Error(`inference never answered:\n${inference.output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  afterAll(async () => {
    await gateway?.close();
    await inference?.stop();
    await serviceBus?.close();
    await mlflow?.close();
    await nats?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("describes the caller's version: not loaded (nothing is loaded for the question), with why it is not on ONNX", async () => {
    const res = await get(keys[a] as string, `/mlops/models/${name}/versions/1/serving`);
    expect(res.statusCode, res.body).toBe(200);
    const body = ModelServingSchema.parse(res.json());
    expect(body).toMatchObject({ model_name: name, model_version: "1", served_by: null, compile_state: "not_loaded", compiled_at: null });
    expect(body.reason).toContain("not loaded on this replica");
    expect(body.instance_id).toBe(instanceId);
    // Asking loaded nothing: the version is still not loaded.
    const again = ModelServingSchema.parse((await get(keys[a] as string, `/mlops/models/${name}/versions/1/serving`)).json());
    expect(again.compile_state).toBe("not_loaded");
  });

  it("resolves latest and @alias in the caller's tenant", async () => {
    const latest = await get(keys[a] as string, `/mlops/models/${name}/versions/latest/serving`);
    expect(latest.statusCode, latest.body).toBe(200);
    expect(ModelServingSchema.parse(latest.json()).model_version).toBe("2");
    const alias = await get(keys[a] as string, `/mlops/models/${name}/versions/@champion/serving`);
    expect(alias.statusCode, alias.body).toBe(200);
    expect(ModelServingSchema.parse(alias.json()).model_version).toBe("1");
  });

  it("answers another tenant's version with the 404 a missing one gets", async () => {
    const hidden = await get(keys[b] as string, `/mlops/models/${name}/versions/1/serving`);
    const missing = await get(keys[b] as string, `/mlops/models/${name}-nobody/versions/1/serving`);
    expect(hidden.statusCode, hidden.body).toBe(404);
    expect(missing.statusCode, missing.body).toBe(404);
    expect(ErrorBodySchema.parse(hidden.json()).message).toContain(`no registered model is named "${name}"`);
    const noVersion = await get(keys[a] as string, `/mlops/models/${name}/versions/9/serving`);
    expect(noVersion.statusCode, noVersion.body).toBe(404);
    expect(ErrorBodySchema.parse(noVersion.json()).message).toContain("no version 9");
  });

  it("refuses a version that cannot exist with a 422 naming the parameter", async () => {
    const res = await get(keys[a] as string, `/mlops/models/${name}/versions/one/serving`);
    expect(res.statusCode, res.body).toBe(422);
    expect(ErrorBodySchema.parse(res.json()).issues?.map((i) => i.field)).toContain("version");
  });
});
