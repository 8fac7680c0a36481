import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BusError } from "@asgard/bus";
import { DEFAULT_TENANT, EVENTS, RPC, type Tenant } from "@asgard/contracts";
import { tagsToRecord, type MlflowClient } from "@asgard/mlflow";
import { eventually, externalConsumer, logRunWithModel, runCompleted, startStack, unique, versionsOf, type LoggedRun, type Stack } from "./support.js";

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

/** A tenant of this test alone: the run's MLflow is shared with other files. */
const tenantName = (prefix: string): Tenant => unique(prefix);

/** The tenant's workspace, as it exists once the tenant ran a job, and an experiment in it. */
async function workspace(stack: Stack, tenant: Tenant): Promise<{ mlflow: MlflowClient; experimentId: string }> {
  await stack.mlflow.ensureWorkspace(tenant);
  const mlflow = stack.mlflow.inWorkspace(tenant);
  return { mlflow, experimentId: await mlflow.createExperiment("churn-training") };
}

describe("registry: each tenant is its own MLflow workspace", () => {
  let stack: Stack;
  let registered: Awaited<ReturnType<typeof externalConsumer<typeof EVENTS.modelRegistered>>>;
  let aliases: Awaited<ReturnType<typeof externalConsumer<typeof EVENTS.modelAliasChanged>>>;
  const a = tenantName("team-a");
  const b = tenantName("team-b");
  let inA: { mlflow: MlflowClient; experimentId: string };
  let inB: { mlflow: MlflowClient; experimentId: string };

  const register = (tenant: Tenant, run: LoggedRun, model_name = "churn") =>
    stack.bus.request(RPC.registerModel, { tenant, model_name, run_id: run.runId, description: null, tags: {} });
  const list = async (tenant: Tenant) => (await stack.bus.request(RPC.listModels, { tenant, max_results: null, page_token: null })).models;

  beforeAll(async () => {
    stack = await startStack("registry-tenants");
    await stack.startRegistry();
    registered = await externalConsumer(stack.bus, EVENTS.modelRegistered, "tenants-registered");
    aliases = await externalConsumer(stack.bus, EVENTS.modelAliasChanged, "tenants-aliases");
    inA = await workspace(stack, a);
    inB = await workspace(stack, b);
  });
  afterAll(async () => {
    await registered?.stop();
    await aliases?.stop();
    await stack?.close();
  });

  it("keeps two tenants' `churn` apart: versions, lists, reads, aliases, and their events", async () => {
    const [a1, a2, b1] = [await logRunWithModel(inA.mlflow, inA.experimentId), await logRunWithModel(inA.mlflow, inA.experimentId), await logRunWithModel(inB.mlflow, inB.experimentId)];
    expect((await register(a, a1)).version).toBe("1");
    expect((await register(a, a2)).version).toBe("2");
    expect((await register(b, b1)).version).toBe("1");
    // Another tenant's run is as unknown as a missing one.
    const foreignRun = await failure(register(b, a1));
    expect(foreignRun.code).toBe("NOT_FOUND");
    expect(foreignRun.message).toContain(`no MLflow run has the id ${JSON.stringify(a1.runId)}`);

    const listedA = await list(a);
    const listedB = await list(b);
    expect(listedA.map((m) => m.name)).toEqual(["churn"]);
    expect(listedA[0]?.latest_versions.map((v) => [v.version, v.run_id])).toEqual([["2", a2.runId]]);
    expect(listedB.map((m) => m.name)).toEqual(["churn"]);
    expect(listedB[0]?.latest_versions.map((v) => [v.version, v.run_id])).toEqual([["1", b1.runId]]);
    expect((await list(DEFAULT_TENANT)).some((m) => m.name === "churn")).toBe(false);

    await stack.bus.request(RPC.setModelAlias, { tenant: a, model_name: "churn", alias: "champion", version: "2" });
    await stack.bus.request(RPC.setModelAlias, { tenant: b, model_name: "churn", alias: "champion", version: "1" });
    // B has no version 2, whatever A has.
    const noVersion = await failure(stack.bus.request(RPC.setModelAlias, { tenant: b, model_name: "churn", alias: "staging", version: "2" }));
    expect(noVersion.code).toBe("NOT_FOUND");
    expect(noVersion.message).toContain("no version 2");
    expect((await stack.bus.request(RPC.getModel, { tenant: a, model_name: "churn" })).aliases).toEqual({ champion: "2" });
    expect((await stack.bus.request(RPC.getModel, { tenant: b, model_name: "churn" })).aliases).toEqual({ champion: "1" });
    expect((await failure(stack.bus.request(RPC.getModel, { tenant: DEFAULT_TENANT, model_name: "churn" }))).code).toBe("NOT_FOUND");

    expect(await stack.bus.request(RPC.deleteModelAlias, { tenant: a, model_name: "churn", alias: "champion" })).toEqual({ model_name: "churn", alias: "champion", previous_version: "2" });
    expect((await stack.bus.request(RPC.getModel, { tenant: b, model_name: "churn" })).aliases).toEqual({ champion: "1" });
    expect((await failure(stack.bus.request(RPC.deleteModelAlias, { tenant: a, model_name: "churn", alias: "champion" }))).code).toBe("NOT_FOUND");
    expect((await failure(stack.bus.request(RPC.deleteModelAlias, { tenant: DEFAULT_TENANT, model_name: "churn", alias: "champion" }))).code).toBe("NOT_FOUND");

    // Version 1 of `churn` in A and in B are two facts: two events, neither dropped as the other's duplicate.
    const mine = await eventually(
      () => registered.received.filter((e) => e.model_name === "churn" && (e.tenant === a || e.tenant === b)),
      (e) => e.length >= 3,
    );
    expect(mine.map((e) => `${e.tenant}:${e.version}`).sort()).toEqual([`${a}:1`, `${a}:2`, `${b}:1`].sort());
    expect(new Set(mine.map((e) => e.event_id)).size).toBe(3);
    const moves = await eventually(
      () => aliases.received.filter((e) => e.model_name === "churn" && (e.tenant === a || e.tenant === b)),
      (e) => e.length >= 3,
    );
    expect(moves.map((e) => [e.tenant, e.alias, e.previous_version, e.version, e.via])).toEqual([
      [a, "champion", null, "2", "api"],
      [b, "champion", null, "1", "api"],
      [a, "champion", "2", null, "api"],
    ]);
  });

  it("registers a job's model in the tenant its run.completed names", async () => {
    const name = unique("auto");
    const jobId = randomUUID();
    const run = await logRunWithModel(inB.mlflow, inB.experimentId);
    await stack.bus.publish(EVENTS.runCompleted, runCompleted(jobId, name, run, { tenant: b }));
    const events = await eventually(() => registered.received.filter((e) => e.job_id === jobId), (e) => e.length > 0);
    expect(events[0]).toMatchObject({ tenant: b, model_name: name, version: "1", run_id: run.runId, job_id: jobId });
    expect(tagsToRecord((await inB.mlflow.getModelVersion(name, "1")).tags)).toMatchObject({ "asgard.job_id": jobId });
    expect(await inA.mlflow.findRegisteredModel(name)).toBeNull();
    expect(await stack.mlflow.findRegisteredModel(name)).toBeNull();
  });

  it("follows every workspace: a version and an alias made straight in MLflow, in a workspace made while it runs", async () => {
    const c = tenantName("team-c");
    const inC = await workspace(stack, c);
    const run = await logRunWithModel(inC.mlflow, inC.experimentId);
    await inC.mlflow.createRegisteredModel("churn");
    const mv = await inC.mlflow.createModelVersion({ name: "churn", source: run.uri, runId: run.runId, modelId: run.modelId });
    const found = await eventually(() => registered.received.filter((e) => e.tenant === c), (e) => e.length > 0);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ model_name: "churn", version: mv.version, run_id: run.runId, job_id: null, source: run.uri });
    expect(found[0]?.signature?.inputs).toHaveLength(2);
    await eventually(() => list(c), (models) => models.some((m) => m.name === "churn"));

    await inC.mlflow.setAlias("churn", "champion", mv.version);
    const moved = await eventually(() => aliases.received.filter((e) => e.tenant === c), (e) => e.length > 0);
    expect(moved[0]).toMatchObject({ model_name: "churn", alias: "champion", version: mv.version, previous_version: null, via: "mlflow" });
    // The other tenants' `churn` saw none of it.
    expect(await versionsOf(inB.mlflow, "churn")).toEqual(["1"]);
  });

  it("answers a tenant that has no workspace yet as one that has no models", async () => {
    const none = tenantName("team-none");
    expect(await list(none)).toEqual([]);
    expect((await failure(stack.bus.request(RPC.getModel, { tenant: none, model_name: "churn" }))).code).toBe("NOT_FOUND");
    expect((await failure(stack.bus.request(RPC.setModelAlias, { tenant: none, model_name: "churn", alias: "x", version: "1" }))).code).toBe("NOT_FOUND");
    const run = await logRunWithModel(stack.mlflow, stack.experimentId);
    expect((await failure(register(none, run))).code).toBe("NOT_FOUND");
  });
});
