import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BusError } from "@asgard/bus";
import { RPC, type ModelVersionRef, type Tenant } from "@asgard/contracts";
import { TRAIN_PYFUNC } from "./fixtures.js";
import { COLD_START_MS, eventually, registerVersion, runTrainingScript, startStack, unique, type LoggedFixture, type Stack } from "./support.js";

/** A tenant of this file alone: the run's MLflow is shared with other files. */
const tenantName = (prefix: string): Tenant => `${prefix}-${randomUUID().slice(0, 8)}`;

/**
 * Two tenants each have a `churn` (the same kind of model, but A has versions 1 and 2, B only
 * version 1): the service resolves, loads and warms each request's model in its own tenant.
 */
describe("inference per tenant: resolving, loading and warming in the request's or event's tenant", () => {
  let stack: Stack;
  const a = tenantName("team-a");
  const b = tenantName("team-b");
  let model: LoggedFixture;

  const predict = (tenant: Tenant, model_ref: ModelVersionRef) =>
    stack.bus.request(RPC.predict, { tenant, model_name: "churn", model_ref, inputs: model.probe, return_probabilities: false });
  const failure = async (promise: Promise<unknown>): Promise<BusError> => {
    const err = await promise.then(
      () => null,
      (e: unknown) => e,
    );
    if (!(err instanceof BusError)) throw new Error(`expected a coded failure, got ${String(err)}`);
    return err;
  };
  const loaded = async () => (await stack.inference.stats()).loaded.map((m) => `${m.tenant}/${m.name}/${m.version}`).sort();

  beforeAll(async () => {
    stack = await startStack("inference-tenants");
    const logged: Record<Tenant, LoggedFixture> = {};
    for (const tenant of [a, b]) {
      // Each tenant's workspace exists once it has run a job; its scripts log there.
      await stack.mlflow.ensureWorkspace(tenant);
      const trained = (await runTrainingScript(stack.pyenv, TRAIN_PYFUNC, { EXPERIMENT: "churn-training", MLFLOW_WORKSPACE: tenant })) as { pyfunc: LoggedFixture };
      logged[tenant] = trained.pyfunc;
    }
    model = logged[a] as LoggedFixture;
    const inA = stack.mlflow.inWorkspace(a);
    expect(await registerVersion(inA, "churn", model)).toBe("1");
    expect(await registerVersion(inA, "churn", model)).toBe("2");
    expect(await registerVersion(stack.mlflow.inWorkspace(b), "churn", logged[b] as LoggedFixture)).toBe("1");
  }, COLD_START_MS);
  afterAll(async () => {
    await stack?.close();
  });

  it("warms the version a model.registered names in the event's tenant", async () => {
    await stack.announceRegistered("churn", "1", b);
    // Loading builds (or reuses) the model's environment: minutes on a cold, busy machine.
    await eventually(loaded, (names) => names.includes(`${b}/churn/1`), 3_000, 200);
    expect(await loaded()).toEqual([`${b}/churn/1`]);
  }, COLD_START_MS);

  it("serves each tenant's versions as models of their own, and another tenant's version is not found without loading anything", async () => {
    const served = async (tenant: Tenant, ref: ModelVersionRef) => {
      for (let tries = 0; ; tries++) {
        try {
          return await predict(tenant, ref);
        } catch (err) {
          if (!(err instanceof BusError && err.code === "UNAVAILABLE") || tries >= 60) throw err;
        }
      }
    };
    expect((await served(a, { kind: "version", version: "1" })).predictions).toEqual(model.predictions);
    expect((await served(a, { kind: "latest" })).model_version).toBe("2");
    expect((await served(b, { kind: "latest" })).model_version).toBe("1");
    // Version 1 of A and version 1 of B are two loaded models.
    expect(await loaded()).toEqual([`${a}/churn/1`, `${a}/churn/2`, `${b}/churn/1`].sort());

    const before = (await stack.inference.stats()).loads;
    const missing = await failure(predict(b, { kind: "version", version: "2" }));
    expect(missing.code).toBe("NOT_FOUND");
    expect(missing.message).toContain('model "churn" has no version 2');
    const nobody = await failure(predict(tenantName("team-none"), { kind: "version", version: "1" }));
    expect(nobody.code).toBe("NOT_FOUND");
    expect(nobody.message).toContain('no registered model is named "churn"');
    expect((await stack.inference.stats()).loads).toBe(before);
    expect(await loaded()).toEqual([`${a}/churn/1`, `${a}/churn/2`, `${b}/churn/1`].sort());
  }, COLD_START_MS);

  it("follows an alias move in the event's tenant only", async () => {
    await stack.mlflow.inWorkspace(a).setAlias("churn", "champion", "1");
    expect((await predict(a, { kind: "alias", alias: "champion" })).model_version).toBe("1");
    expect((await failure(predict(b, { kind: "alias", alias: "champion" }))).code).toBe("NOT_FOUND");
    await stack.mlflow.inWorkspace(a).setAlias("churn", "champion", "2");
    await stack.announceAlias("churn", "champion", "2", "1", a);
    await eventually(() => predict(a, { kind: "alias", alias: "champion" }), (r) => r.model_version === "2");
    expect((await failure(predict(b, { kind: "alias", alias: "champion" }))).code).toBe("NOT_FOUND");
  });

  it("reads unknown names of every tenant as not found", async () => {
    expect((await failure(predict(a, { kind: "version", version: "9" }))).code).toBe("NOT_FOUND");
    const name = unique("nobody");
    const err = await failure(stack.bus.request(RPC.predict, { tenant: b, model_name: name, model_ref: { kind: "latest" }, inputs: model.probe, return_probabilities: false }));
    expect(err.code).toBe("NOT_FOUND");
  });
});
