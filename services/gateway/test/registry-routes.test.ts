import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { connectBus, type Bus } from "@asgard/bus";
import { NEXT_PAGE_TOKEN_HEADER, STREAMS, type AliasResponse, type ModelInfo, type RegisterResponse } from "@asgard/contracts";
import { freePort, startNatsServer, type NatsServer } from "@asgard/infra";
import { createMlflowClient, type MlflowClient } from "@asgard/mlflow";
import { createRegistry, type Registry } from "@asgard/registry";
import { logger, startGateway, type TestGateway } from "./stack.js";

const unique = (prefix: string) => `${prefix}-${randomUUID().slice(0, 12)}`;

/** A run with a model logged as MLflow 3's `log_model(name="model")` does, over REST. */
async function runWithModel(mlflow: MlflowClient, experimentId: string): Promise<{ runId: string; uri: string }> {
  const { info } = await mlflow.createRun({ experimentId });
  const model = await mlflow.createLoggedModel({ experimentId, name: "model", sourceRunId: info.run_id });
  await mlflow.uploadArtifact(`${model.info.artifact_uri}/MLmodel`, "artifact_path: model\nflavors: {}\n");
  await mlflow.finalizeLoggedModel(model.info.model_id);
  return { runId: info.run_id, uri: `models:/${model.info.model_id}` };
}

describe("gateway registry and model routes (real registry, NATS and MLflow)", () => {
  const infra = inject("infra");
  let dir: string;
  let nats: NatsServer;
  let mlflow: MlflowClient;
  let experimentId: string;
  let gateway: TestGateway;
  let registryBus: Bus;
  let registry: Registry | null = null;

  const startRegistry = async (client: MlflowClient = mlflow) => {
    registry = createRegistry({ bus: registryBus, mlflow: client, logger, config: { pollIntervalMs: 1_000, readyTimeoutMs: 20_000, readyPollMs: 100 } });
    await registry.start();
  };
  const stopRegistry = async () => {
    await registry?.stop();
    registry = null;
  };
  const http = (method: "GET" | "POST" | "PUT" | "DELETE", url: string, payload?: unknown) =>
    gateway.app.inject({ method, url, ...(payload === undefined ? {} : { payload: payload as object }) });

  beforeAll(async () => {
    dir = await mkdtemp(join(infra.workDir, "gateway-registry-"));
    nats = await startNatsServer({ storeDir: join(dir, "nats") });
    mlflow = createMlflowClient({ baseUrl: infra.mlflowUrl });
    experimentId = await mlflow.createExperiment(unique("gateway-registry"));
    registryBus = await connectBus({ servers: nats.url, name: "gateway-registry-service", logger });
    // The scheduler owns these streams; in a deployment the registry waits for it to make them.
    for (const stream of [STREAMS.runs, STREAMS.models]) await registryBus.ensureStream(stream);
    await startRegistry();
    gateway = await startGateway(nats.url, "gateway-registry");
  });
  afterAll(async () => {
    await gateway?.close();
    await stopRegistry();
    await registryBus?.close();
    await mlflow?.close();
    await nats?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("POST /mlops/registry registers a run's model as a new version on every call (201), naming ignored fields", async () => {
    const name = unique("gw-reg");
    const run = await runWithModel(mlflow, experimentId);
    const first = await http("POST", "/mlops/registry", { model_name: name, run_id: run.runId, description: "from the API", tags: { stage: "ci" }, owner: "me" });
    expect(first.statusCode).toBe(201);
    const body = first.json<RegisterResponse>();
    expect(body).toMatchObject({ model_name: name, version: "1", run_id: run.runId, status: "registered", source: run.uri });
    expect(body.warnings).toEqual(["unknown field `owner` was ignored"]);

    const second = await http("POST", "/mlops/registry", { model_name: name, run_id: run.runId });
    expect(second.statusCode).toBe(201);
    expect(second.json<RegisterResponse>().version).toBe("2");
  });

  it("answers 404 naming an unknown run, 422 with a hint for a run without a model, 422 for an invalid name, 400 for a non-object", async () => {
    const missing = "0123456789abcdef0123456789abcdef";
    const unknownRun = await http("POST", "/mlops/registry", { model_name: unique("gw-err"), run_id: missing });
    expect(unknownRun.statusCode).toBe(404);
    expect(unknownRun.json()).toMatchObject({ error: "NOT_FOUND" });
    expect(unknownRun.json<{ message: string }>().message).toContain(missing);

    const { info } = await mlflow.createRun({ experimentId });
    const noModel = await http("POST", "/mlops/registry", { model_name: unique("gw-err"), run_id: info.run_id });
    expect(noModel.statusCode).toBe(422);
    expect(noModel.json<{ message: string }>().message).toContain('mlflow.sklearn.log_model(model, "model")');

    const badName = await http("POST", "/mlops/registry", { model_name: "team/model", run_id: info.run_id });
    expect(badName.statusCode).toBe(422);
    expect(badName.json()).toMatchObject({ error: "VALIDATION_FAILED", issues: [{ field: "model_name" }] });

    const notObject = await http("POST", "/mlops/registry", [1, 2]);
    expect(notObject.statusCode).toBe(400);
  });

  it("GET /mlops/models answers every model as a bare array, pages on request, and GET /mlops/models/{name} one model", async () => {
    const prefix = unique("gw-list");
    const run = await runWithModel(mlflow, experimentId);
    for (const suffix of ["a", "b", "c"]) {
      expect((await http("POST", "/mlops/registry", { model_name: `${prefix}-${suffix}`, run_id: run.runId })).statusCode).toBe(201);
    }

    const all = await http("GET", "/mlops/models");
    expect(all.statusCode).toBe(200);
    const models = all.json<ModelInfo[]>();
    expect(Array.isArray(models)).toBe(true);
    expect(all.headers[NEXT_PAGE_TOKEN_HEADER]).toBeUndefined();
    const mine = models.filter((m) => m.name.startsWith(prefix));
    expect(mine.map((m) => m.name)).toEqual([`${prefix}-a`, `${prefix}-b`, `${prefix}-c`]);
    expect(mine[0]?.latest_versions[0]).toMatchObject({ name: `${prefix}-a`, version: "1", stage: "None", run_id: run.runId, status: "READY" });

    const seen: string[] = [];
    let url = "/mlops/models?max_results=2";
    for (;;) {
      const page = await http("GET", url);
      expect(page.statusCode).toBe(200);
      const names = page.json<ModelInfo[]>().map((m) => m.name);
      expect(names.length).toBeLessThanOrEqual(2);
      seen.push(...names);
      const token = page.headers[NEXT_PAGE_TOKEN_HEADER];
      if (typeof token !== "string") break;
      url = `/mlops/models?max_results=2&page_token=${encodeURIComponent(token)}`;
    }
    expect(seen).toEqual(models.map((m) => m.name));

    expect((await http("GET", "/mlops/models?max_results=0")).statusCode).toBe(422);
    expect((await http("GET", "/mlops/models?page_token=bogus!")).statusCode).toBe(422);

    const one = await http("GET", `/mlops/models/${encodeURIComponent(`${prefix}-b`)}`);
    expect(one.statusCode).toBe(200);
    expect(one.json<ModelInfo>()).toMatchObject({ name: `${prefix}-b`, aliases: {} });
    expect((await http("GET", `/mlops/models/${unique("nobody")}`)).statusCode).toBe(404);
    expect((await http("GET", "/mlops/models/a%2Fb")).statusCode).toBe(404);
  });

  it("sets, moves and deletes an alias; GET shows it; bad names and versions are 422, unknown ones 404", async () => {
    const name = unique("gw-alias");
    const run = await runWithModel(mlflow, experimentId);
    for (let i = 0; i < 2; i++) await http("POST", "/mlops/registry", { model_name: name, run_id: run.runId });
    const path = `/mlops/models/${name}/aliases/champion`;

    const set = await http("PUT", path, { version: "1" });
    expect(set.statusCode).toBe(200);
    expect(set.json<AliasResponse>()).toEqual({ model_name: name, alias: "champion", version: "1", previous_version: null });
    const moved = await http("PUT", path, { version: 2 });
    expect(moved.json<AliasResponse>()).toMatchObject({ version: "2", previous_version: "1" });
    expect((await http("GET", `/mlops/models/${name}`)).json<ModelInfo>().aliases).toEqual({ champion: "2" });
    // The whole list too: the gateway's copy of it follows the registry's generation.
    const listed = (await http("GET", "/mlops/models")).json<ModelInfo[]>().find((m) => m.name === name);
    expect(listed?.aliases).toEqual({ champion: "2" });
    expect(listed?.latest_versions[0]?.aliases).toEqual(["champion"]);

    expect((await http("PUT", `/mlops/models/${name}/aliases/latest`, { version: "1" })).statusCode).toBe(422);
    expect((await http("PUT", path, { version: "one" })).statusCode).toBe(422);
    expect((await http("PUT", path, { version: "1", extra: true })).statusCode).toBe(422);
    expect((await http("PUT", path, { version: "7" })).statusCode).toBe(404);
    expect((await http("PUT", `/mlops/models/${unique("nobody")}/aliases/champion`, { version: "1" })).statusCode).toBe(404);

    const deleted = await http("DELETE", path);
    expect(deleted.statusCode).toBe(204);
    expect(deleted.body).toBe("");
    expect((await http("GET", `/mlops/models/${name}`)).json<ModelInfo>().aliases).toEqual({});
    expect((await http("GET", "/mlops/models")).json<ModelInfo[]>().find((m) => m.name === name)?.aliases).toEqual({});
    expect((await http("DELETE", path)).statusCode).toBe(404);
  });

  it("answers 503 with Retry-After when MLflow is unreachable, and when no registry answers", async () => {
    const run = await runWithModel(mlflow, experimentId);
    const dead = createMlflowClient({ baseUrl: `http://127.0.0.1:${await freePort()}`, timeoutMs: 2_000 });
    await stopRegistry();
    await startRegistry(dead);
    try {
      const res = await http("POST", "/mlops/registry", { model_name: unique("gw-down"), run_id: run.runId });
      expect(res.statusCode).toBe(503);
      expect(res.headers["retry-after"]).toBeDefined();
      expect(res.json()).toMatchObject({ error: "UNAVAILABLE" });
      expect(res.json<{ message: string }>().message).toMatch(/MLflow is unreachable/);
      const list = await http("GET", "/mlops/models");
      expect(list.statusCode).toBe(503);
      expect(list.headers["retry-after"]).toBeDefined();
    } finally {
      await stopRegistry();
      await dead.close();
    }
    const nobody = await http("GET", "/mlops/models");
    expect(nobody.statusCode).toBe(503);
    expect(nobody.headers["retry-after"]).toBeDefined();
    await startRegistry();
  });
});
