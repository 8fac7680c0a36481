import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BusError, RemoteError } from "@asgard/bus";
import { DEFAULT_TENANT, EVENTS, RPC, type ListModelsResponse } from "@asgard/contracts";
import { createMlflowClient, tagsToRecord } from "@asgard/mlflow";
import { freePort } from "@asgard/infra";
import { eventually, externalConsumer, logRunWithModel, startStack, unique, versionsOf, type Replica, type Stack } from "./support.js";

/** The coded error a request ends with. */
async function failure(promise: Promise<unknown>): Promise<BusError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof BusError) return err;
    throw err;
  }
  throw new Error("expected the request to fail");
}

describe("registry: registering, listing and reading models", () => {
  let stack: Stack;
  let replica: Replica;
  let registered: Awaited<ReturnType<typeof externalConsumer<typeof EVENTS.modelRegistered>>>;

  beforeAll(async () => {
    stack = await startStack("registry-register");
    replica = await stack.startRegistry();
    registered = await externalConsumer(stack.bus, EVENTS.modelRegistered, "external-audit");
  });
  afterAll(async () => {
    await registered?.stop();
    await stack?.close();
  });

  it("registers the model a run logged, answers once READY, and announces it to an external durable consumer", async () => {
    const name = unique("reg");
    const run = await logRunWithModel(stack.mlflow, stack.experimentId);
    const result = await stack.bus.request(RPC.registerModel, { tenant: DEFAULT_TENANT, model_name: name, run_id: run.runId, description: "first cut", tags: { team: "fraud" } });
    expect(result).toMatchObject({ model_name: name, version: "1", run_id: run.runId, status: "registered", source: run.uri });
    expect(Date.parse(result.created_at)).not.toBeNaN();

    const mv = await stack.mlflow.getModelVersion(name, "1");
    expect(mv.status).toBe("READY");
    expect(mv.description).toBe("first cut");
    expect(tagsToRecord(mv.tags)).toMatchObject({ team: "fraud", "asgard.registered_via": "api" });

    const events = await eventually(() => registered.received.filter((e) => e.model_name === name), (e) => e.length > 0);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      model_name: name,
      version: "1",
      run_id: run.runId,
      job_id: null,
      source: run.uri,
      aliases: [],
      schema_version: 1,
      signature: {
        inputs: [
          { name: "sepal length (cm)", type: "double" },
          { name: "petal width (cm)", type: "double" },
        ],
        outputs: [{ name: null, type: "tensor<int64>[-1]" }],
      },
    });
    // The poller sees the same version; it must not announce it a second time.
    await replica.registry.pollOnce();
    await replica.registry.pollOnce();
    expect(registered.received.filter((e) => e.model_name === name)).toHaveLength(1);
  });

  it("makes a new version on every call, also for a run registered before", async () => {
    const name = unique("twice");
    const run = await logRunWithModel(stack.mlflow, stack.experimentId);
    const first = await stack.bus.request(RPC.registerModel, { tenant: DEFAULT_TENANT, model_name: name, run_id: run.runId, description: null, tags: {} });
    const second = await stack.bus.request(RPC.registerModel, { tenant: DEFAULT_TENANT, model_name: name, run_id: run.runId, description: null, tags: {} });
    expect([first.version, second.version]).toEqual(["1", "2"]);
    expect(await versionsOf(stack.mlflow, name)).toEqual(["1", "2"]);
  });

  it("lists every model (paged on request) and reads one with its versions and aliases", async () => {
    const prefix = unique("listed");
    const run = await logRunWithModel(stack.mlflow, stack.experimentId);
    const names = [`${prefix}-a`, `${prefix}-b`, `${prefix}-c`];
    for (const name of names) await stack.bus.request(RPC.registerModel, { tenant: DEFAULT_TENANT, model_name: name, run_id: run.runId, description: null, tags: {} });
    await stack.bus.request(RPC.registerModel, { tenant: DEFAULT_TENANT, model_name: names[0] as string, run_id: run.runId, description: "v2", tags: {} });
    await stack.bus.request(RPC.setModelAlias, { tenant: DEFAULT_TENANT, model_name: names[0] as string, alias: "champion", version: "1" });

    // Everything at once: what GET /mlops/models without parameters answers.
    const all = await stack.bus.request(RPC.listModels, { tenant: DEFAULT_TENANT, max_results: null, page_token: null });
    const mine = all.models.filter((m) => m.name.startsWith(prefix));
    expect(mine.map((m) => m.name)).toEqual(names);
    const a = mine[0]!;
    expect(a.aliases).toEqual({ champion: "1" });
    expect(a.latest_versions[0]).toMatchObject({ name: names[0], version: "2", stage: "None", run_id: run.runId, description: "v2", status: "READY", aliases: [] });

    // Page by page, two at a time: the same models in the same order, none twice.
    const paged: string[] = [];
    let token: string | null = null;
    do {
      const page: ListModelsResponse = await stack.bus.request(RPC.listModels, { tenant: DEFAULT_TENANT, max_results: 2, page_token: token });
      expect(page.models.length).toBeLessThanOrEqual(2);
      paged.push(...page.models.map((m) => m.name));
      token = page.next_page_token;
    } while (token);
    expect(paged).toEqual(all.models.map((m) => m.name));

    // A caller holding the current generation gets "not modified" instead of the list again.
    // (Other test files change the shared MLflow meanwhile, so the generation may move: retry.)
    expect(all.not_modified).toBe(false);
    await eventually(
      async () => {
        const current = await stack.bus.request(RPC.listModels, { tenant: DEFAULT_TENANT, max_results: null, page_token: null });
        return [current.generation, await stack.bus.request(RPC.listModels, { tenant: DEFAULT_TENANT, max_results: null, page_token: null, if_generation: current.generation })] as const;
      },
      ([generation, again]) => again.not_modified && again.models.length === 0 && again.generation === generation,
    );
    await stack.bus.request(RPC.setModelAlias, { tenant: DEFAULT_TENANT, model_name: names[1] as string, alias: "canary", version: "1" });
    const changed = await stack.bus.request(RPC.listModels, { tenant: DEFAULT_TENANT, max_results: null, page_token: null, if_generation: all.generation });
    expect(changed.not_modified).toBe(false);
    expect(changed.generation).not.toBe(all.generation);
    expect(changed.models.find((m) => m.name === names[1])?.aliases).toEqual({ canary: "1" });

    const one = await stack.bus.request(RPC.getModel, { tenant: DEFAULT_TENANT, model_name: names[0] as string });
    expect(one.name).toBe(names[0]);
    expect(one.aliases).toEqual({ champion: "1" });

    const unknown = await failure(stack.bus.request(RPC.getModel, { tenant: DEFAULT_TENANT, model_name: unique("nobody") }));
    expect(unknown).toBeInstanceOf(RemoteError);
    expect(unknown.code).toBe("NOT_FOUND");
    expect((await failure(stack.bus.request(RPC.getModel, { tenant: DEFAULT_TENANT, model_name: "a/b" }))).code).toBe("NOT_FOUND");
    expect((await failure(stack.bus.request(RPC.listModels, { tenant: DEFAULT_TENANT, max_results: 2, page_token: "not-ours!" }))).code).toBe("VALIDATION_FAILED");
  });

  it("reads a model made in MLflow since the last poll straight from MLflow", async () => {
    const name = unique("fresh");
    await stack.mlflow.createRegisteredModel(name, { description: "made elsewhere" });
    const model = await stack.bus.request(RPC.getModel, { tenant: DEFAULT_TENANT, model_name: name });
    expect(model).toMatchObject({ name, description: "made elsewhere", latest_versions: [], aliases: {} });
  });

  it("refuses an unknown run with 404 naming it, and a run without a model with a hint to log one", async () => {
    const name = unique("errs");
    const missing = "0123456789abcdef0123456789abcdef";
    const notFound = await failure(stack.bus.request(RPC.registerModel, { tenant: DEFAULT_TENANT, model_name: name, run_id: missing, description: null, tags: {} }));
    expect(notFound.code).toBe("NOT_FOUND");
    expect(notFound.message).toContain(missing);

    const { info } = await stack.mlflow.createRun({ experimentId: stack.experimentId });
    const noModel = await failure(stack.bus.request(RPC.registerModel, { tenant: DEFAULT_TENANT, model_name: name, run_id: info.run_id, description: null, tags: {} }));
    expect(noModel.code).toBe("UNPROCESSABLE");
    expect(noModel.message).toContain(info.run_id);
    expect(noModel.message).toContain('mlflow.sklearn.log_model(model, "model")');
    // Nothing was registered on the way.
    expect(await stack.mlflow.findRegisteredModel(name)).toBeNull();
  });

  it("moves an alias through set, move and delete, announcing each change", async () => {
    const name = unique("alias");
    const run = await logRunWithModel(stack.mlflow, stack.experimentId);
    for (let i = 0; i < 2; i++) await stack.bus.request(RPC.registerModel, { tenant: DEFAULT_TENANT, model_name: name, run_id: run.runId, description: null, tags: {} });
    const moves = await externalConsumer(stack.bus, EVENTS.modelAliasChanged, unique("alias-watch"));
    try {
      expect(await stack.bus.request(RPC.setModelAlias, { tenant: DEFAULT_TENANT, model_name: name, alias: "champion", version: "1" })).toEqual({
        model_name: name,
        alias: "champion",
        version: "1",
        previous_version: null,
      });
      expect(await stack.bus.request(RPC.setModelAlias, { tenant: DEFAULT_TENANT, model_name: name, alias: "champion", version: "2" })).toMatchObject({ version: "2", previous_version: "1" });
      // Pointing it where it already points changes nothing and announces nothing.
      expect(await stack.bus.request(RPC.setModelAlias, { tenant: DEFAULT_TENANT, model_name: name, alias: "champion", version: "2" })).toMatchObject({ previous_version: "2" });

      const shown = await stack.bus.request(RPC.getModel, { tenant: DEFAULT_TENANT, model_name: name });
      expect(shown.aliases).toEqual({ champion: "2" });
      expect(shown.latest_versions[0]).toMatchObject({ version: "2", aliases: ["champion"] });

      expect(await stack.bus.request(RPC.deleteModelAlias, { tenant: DEFAULT_TENANT, model_name: name, alias: "champion" })).toEqual({ model_name: name, alias: "champion", previous_version: "2" });
      expect((await stack.bus.request(RPC.getModel, { tenant: DEFAULT_TENANT, model_name: name })).aliases).toEqual({});

      const mine = await eventually(() => moves.received.filter((e) => e.model_name === name), (e) => e.length >= 3);
      expect(mine.map((e) => [e.alias, e.previous_version, e.version, e.via])).toEqual([
        ["champion", null, "1", "api"],
        ["champion", "1", "2", "api"],
        ["champion", "2", null, "api"],
      ]);

      expect((await failure(stack.bus.request(RPC.deleteModelAlias, { tenant: DEFAULT_TENANT, model_name: name, alias: "champion" }))).code).toBe("NOT_FOUND");
      const noVersion = await failure(stack.bus.request(RPC.setModelAlias, { tenant: DEFAULT_TENANT, model_name: name, alias: "champion", version: "9" }));
      expect(noVersion.code).toBe("NOT_FOUND");
      expect(noVersion.message).toContain("no version 9");
      expect((await failure(stack.bus.request(RPC.setModelAlias, { tenant: DEFAULT_TENANT, model_name: unique("nobody"), alias: "x", version: "1" }))).code).toBe("NOT_FOUND");

      // An alias moved directly in MLflow is announced by the poller, for inference to follow.
      await stack.mlflow.setAlias(name, "staging", "1");
      await replica.registry.pollOnce();
      const seen = await eventually(() => moves.received.filter((e) => e.model_name === name && e.alias === "staging"), (e) => e.length > 0);
      expect(seen[0]).toMatchObject({ version: "1", previous_version: null, via: "mlflow" });
    } finally {
      await moves.stop();
    }
  });

  it("announces a version registered straight through MLflow's REST API", async () => {
    const name = unique("direct");
    const run = await logRunWithModel(stack.mlflow, stack.experimentId);
    await stack.mlflow.createRegisteredModel(name);
    const mv = await stack.mlflow.createModelVersion({ name, source: run.uri, runId: run.runId, modelId: run.modelId });
    const events = await eventually(() => registered.received.filter((e) => e.model_name === name), (e) => e.length > 0);
    expect(events[0]).toMatchObject({ model_name: name, version: mv.version, run_id: run.runId, job_id: null, source: run.uri });
    expect(events[0]?.signature?.inputs).toHaveLength(2);
    // And the cache has it for the list, without a registration through us.
    const all = await eventually(
      () => stack.bus.request(RPC.listModels, { tenant: DEFAULT_TENANT, max_results: null, page_token: null }),
      (page) => page.models.some((m) => m.name === name && m.latest_versions.length === 1),
    );
    expect(all.models.find((m) => m.name === name)?.latest_versions[0]?.version).toBe(mv.version);
  });

  it("catches up after downtime: versions made while no registry ran are announced when one starts", async () => {
    const name = unique("downtime");
    const run = await logRunWithModel(stack.mlflow, stack.experimentId);
    await stack.mlflow.createRegisteredModel(name);
    // The watermark is persisted in KV by every poll round; stop after one.
    await replica.registry.pollOnce();
    await replica.stop();
    const mv = await stack.mlflow.createModelVersion({ name, source: run.uri, runId: run.runId, modelId: run.modelId });
    expect(registered.received.some((e) => e.model_name === name)).toBe(false);
    replica = await stack.startRegistry();
    const events = await eventually(() => registered.received.filter((e) => e.model_name === name), (e) => e.length > 0);
    expect(events[0]).toMatchObject({ version: mv.version, job_id: null });
  });

  it("answers UNAVAILABLE, naming MLflow, when MLflow cannot be reached", async () => {
    const closed = createMlflowClient({ baseUrl: `http://127.0.0.1:${await freePort()}`, timeoutMs: 2_000 });
    // A replica of its own on a subject no other replica serves: stop the healthy one first.
    await replica.stop();
    const down = await stack.startRegistry({}, closed);
    try {
      const run = await logRunWithModel(stack.mlflow, stack.experimentId);
      const err = await failure(stack.bus.request(RPC.registerModel, { tenant: DEFAULT_TENANT, model_name: unique("down"), run_id: run.runId, description: null, tags: {} }));
      expect(err.code).toBe("UNAVAILABLE");
      expect(err.message).toMatch(/MLflow is unreachable/);
      const list = await failure(stack.bus.request(RPC.listModels, { tenant: DEFAULT_TENANT, max_results: null, page_token: null }));
      expect(list.code).toBe("UNAVAILABLE");
      expect((await failure(stack.bus.request(RPC.setModelAlias, { tenant: DEFAULT_TENANT, model_name: "m", alias: "a", version: "1" }))).code).toBe("UNAVAILABLE");
    } finally {
      await down.stop();
      await closed.close();
      replica = await stack.startRegistry();
    }
  });
});
