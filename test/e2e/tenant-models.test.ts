import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createMlflowClient, tenantUser } from "@asgard/mlflow";
import { loggedMetricsPort, scrape, startAuthMlflow, startPlatform, total, type AuthMlflow, type Platform } from "@asgard/test-support";
import { runUserScript, SCALE_MODELS_SCRIPT } from "./user-script.js";

interface Answer<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T & { message?: string };
}

interface Prediction {
  model_version: string;
  predictions: unknown[];
}

interface ModelInfo {
  name: string;
  aliases: Record<string, string>;
  latest_versions: { version: string; run_id: string }[];
}

/** A tenant of this file alone: the run's MLflow is shared with other files. */
const tenantName = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

/**
 * Two teams, each with its own key, register a model under the same name (`churn`) and serve
 * it, on the registry, inference and gateway running as their own processes: neither sees,
 * moves or predicts with the other's versions and aliases; an admin reaches either with
 * `X-Asgard-Tenant`; asking for the other team's model is a 404 that loads nothing. MLflow runs
 * with basic auth, as in keyed mode: each team logs its models as its own MLflow user, and
 * the services read them as admin.
 */
describe("tenants: two teams' `churn` through the gateway, each with its own key", () => {
  const infra = inject("infra");
  const a = tenantName("team-a");
  const b = tenantName("team-b");
  let platform: Platform;
  let mlflowServer: AuthMlflow;
  let admin: string;
  const keys: Record<string, string> = {};
  const runs: Record<string, string[]> = {};

  async function call<T = Record<string, unknown>>(method: string, path: string, key: string | null, body?: unknown, headers: Record<string, string> = {}): Promise<Answer<T>> {
    const res = await fetch(`${platform.api}${path}`, {
      method,
      headers: {
        ...(key ? { authorization: `Bearer ${key}` } : {}),
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: (text === "" ? {} : JSON.parse(text)) as T & { message?: string } };
  }

  /** As a client does: a 503 while the model's worker loads means "retry shortly". */
  async function whenServed<T>(request: () => Promise<Answer<T>>): Promise<Answer<T>> {
    for (let tries = 0; ; tries++) {
      const res = await request();
      if (res.status !== 503 || tries >= 300) return res;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  const predict = (key: string, body: object, headers: Record<string, string> = {}) =>
    whenServed(() => call<Prediction>("POST", "/mlops/inference", key, { model_name: "churn", inputs: { x: [1, 2] }, ...body }, headers));

  /** Loads of the inference process so far, read from its `/metrics`. */
  async function inferenceLoads(): Promise<number> {
    const proc = platform.services.get("inference");
    let port: number | null = null;
    for (let i = 0; i < 600 && port === null; i++) {
      port = loggedMetricsPort(proc?.output() ?? "");
      if (port === null) await new Promise((r) => setTimeout(r, 100));
    }
    if (port === null) throw new Error(`inference never logged its metrics port:\n${proc?.output()}`);
    return total(await scrape(`http://127.0.0.1:${port}/metrics`), "asgard_inference_model_loads_total");
  }

  beforeAll(async () => {
    mlflowServer = await startAuthMlflow(infra);
    platform = await startPlatform(infra, {
      runners: 0,
      services: ["registry", "inference", "gateway"],
      mlflowUrl: mlflowServer.url,
      env: mlflowServer.serviceEnv,
    });
    // Each team's workspace and MLflow user exist once the team has run a job; its scripts then log there.
    const mlflow = createMlflowClient({ baseUrl: mlflowServer.url, auth: mlflowServer.admin });
    const asTeam = (tenant: string) => {
      const user = tenantUser(tenant, mlflowServer.tenantSecret);
      return { MLFLOW_WORKSPACE: tenant, MLFLOW_TRACKING_USERNAME: user.username, MLFLOW_TRACKING_PASSWORD: user.password };
    };
    for (const tenant of [a, b]) {
      await mlflow.ensureWorkspace(tenant);
      await mlflow.ensureTenantUser(tenant, tenantUser(tenant, mlflowServer.tenantSecret));
    }
    await mlflow.close();
    runs[a] = (await runUserScript(infra, mlflowServer.url, SCALE_MODELS_SCRIPT, { ...asTeam(a), FACTORS: "2,3" })) as string[];
    runs[b] = (await runUserScript(infra, mlflowServer.url, SCALE_MODELS_SCRIPT, { ...asTeam(b), FACTORS: "10" })) as string[];

    // The first admin key, from loopback while no key exists; then one key per team.
    const first = await whenServed(() => call<{ key: string }>("POST", "/mlops/keys", null, { name: "first-admin", scopes: ["admin"] }));
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    admin = first.body.key;
    for (const tenant of [a, b]) {
      const made = await call<{ key: string; tenant: string }>("POST", "/mlops/keys", admin, { name: tenant, scopes: ["models:manage", "predict"], tenant });
      expect(made.status, JSON.stringify(made.body)).toBe(201);
      keys[tenant] = made.body.key;
    }
  }, 900_000);

  afterAll(async () => {
    await platform?.stop();
    await mlflowServer?.stop();
  });

  it("registers, lists, reads and moves aliases of each team's `churn` apart", async () => {
    const register = (tenant: string, runId: string) => whenServed(() => call<{ version: string }>("POST", "/mlops/registry", keys[tenant] as string, { model_name: "churn", run_id: runId }));
    const [a1, a2] = runs[a] as [string, string];
    const [b1] = runs[b] as [string];
    expect((await register(a, a1)).body.version).toBe("1");
    expect((await register(a, a2)).body.version).toBe("2");
    expect((await register(b, b1)).body.version).toBe("1");
    // B cannot register A's run: to B it does not exist.
    const foreign = await register(b, a1);
    expect(foreign.status).toBe(404);
    expect(foreign.body.message).toContain(a1);

    const alias = (tenant: string, name: string, version: string) =>
      call("PUT", `/mlops/models/churn/aliases/${name}`, keys[tenant] as string, { version });
    expect((await alias(a, "champion", "1")).status).toBe(200);
    expect((await alias(a, "staging", "2")).status).toBe(200);
    expect((await alias(b, "champion", "1")).status).toBe(200);
    const noVersion = await alias(b, "staging", "2");
    expect(noVersion.status).toBe(404);
    expect(noVersion.body.message).toContain("no version 2");

    const listA = await call<ModelInfo[]>("GET", "/mlops/models", keys[a] as string);
    const listB = await call<ModelInfo[]>("GET", "/mlops/models", keys[b] as string);
    expect(listA.body.map((m) => [m.name, m.latest_versions.map((v) => v.version)])).toEqual([["churn", ["2"]]]);
    expect(listB.body.map((m) => [m.name, m.latest_versions.map((v) => v.version)])).toEqual([["churn", ["1"]]]);
    expect((await call<ModelInfo[]>("GET", "/mlops/models?max_results=10", keys[b] as string)).body.map((m) => m.name)).toEqual(["churn"]);
    expect((await call<ModelInfo>("GET", "/mlops/models/churn", keys[a] as string)).body.aliases).toEqual({ champion: "1", staging: "2" });
    expect((await call<ModelInfo>("GET", "/mlops/models/churn", keys[b] as string)).body.aliases).toEqual({ champion: "1" });
  });

  // Each version loads in a sandboxed worker: minutes apiece on a busy machine.
  it("predicts with each team's own versions and aliases, by /mlops/inference and /invocations", async () => {
    const expectPrediction = async (key: string, body: object, version: string, predictions: number[]) => {
      const res = await predict(key, body);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect([res.body.model_version, res.body.predictions]).toEqual([version, predictions]);
    };
    await expectPrediction(keys[a] as string, { model_version: "1" }, "1", [2, 4]);
    await expectPrediction(keys[a] as string, { model_version: "2" }, "2", [3, 6]);
    await expectPrediction(keys[a] as string, {}, "2", [3, 6]);
    await expectPrediction(keys[a] as string, { model_version: "@champion" }, "1", [2, 4]);
    await expectPrediction(keys[b] as string, { model_version: "1" }, "1", [10, 20]);
    await expectPrediction(keys[b] as string, {}, "1", [10, 20]);
    await expectPrediction(keys[b] as string, { model_version: "@champion" }, "1", [10, 20]);

    const invokeA = await whenServed(() => call<{ predictions: number[] }>("POST", "/mlops/models/churn/versions/@staging/invocations", keys[a] as string, { dataframe_split: { columns: ["x"], data: [[1], [2]] } }));
    expect([invokeA.status, invokeA.headers.get("x-model-version"), invokeA.body.predictions]).toEqual([200, "2", [3, 6]]);
    const invokeB = await whenServed(() => call<{ predictions: number[] }>("POST", "/mlops/models/churn/versions/latest/invocations", keys[b] as string, { inputs: { x: [1, 2] } }));
    expect([invokeB.status, invokeB.headers.get("x-model-version"), invokeB.body.predictions]).toEqual([200, "1", [10, 20]]);
  }, 600_000);

  it("answers another team's version or alias with 404 and loads nothing for it", async () => {
    const loadsBefore = await inferenceLoads();
    for (const res of [
      await call("POST", "/mlops/inference", keys[b] as string, { model_name: "churn", model_version: "2", inputs: { x: [1] } }),
      await call("POST", "/mlops/inference", keys[b] as string, { model_name: "churn", model_version: "@staging", inputs: { x: [1] } }),
      await call("POST", "/mlops/models/churn/versions/2/invocations", keys[b] as string, { inputs: { x: [1] } }),
      await call("GET", "/mlops/models/churn", admin),
      await call("POST", "/mlops/inference", admin, { model_name: "churn", inputs: { x: [1] } }),
    ]) {
      expect(res.status, JSON.stringify(res.body)).toBe(404);
      expect(res.body.message).toMatch(/no version 2|no alias "@staging"|no registered model is named "churn"/);
    }
    expect(await inferenceLoads()).toBe(loadsBefore);
  });

  it("lets an admin act in either team with X-Asgard-Tenant, and no team key in the other's", async () => {
    const listed = await call<ModelInfo[]>("GET", "/mlops/models", admin, undefined, { "x-asgard-tenant": b });
    expect(listed.body.map((m) => [m.name, m.latest_versions.map((v) => v.version)])).toEqual([["churn", ["1"]]]);
    const asA = await predict(admin, { model_version: "@staging" }, { "x-asgard-tenant": a });
    expect([asA.status, asA.body.predictions]).toEqual([200, [3, 6]]);
    const crossing = await call("GET", "/mlops/models", keys[a] as string, undefined, { "x-asgard-tenant": b });
    expect(crossing.status).toBe(403);
  });

  it("deletes one team's alias and leaves the other's where it was", async () => {
    expect((await call("DELETE", "/mlops/models/churn/aliases/champion", keys[a] as string)).status).toBe(204);
    expect((await call<ModelInfo>("GET", "/mlops/models/churn", keys[a] as string)).body.aliases).toEqual({ staging: "2" });
    expect((await call<ModelInfo>("GET", "/mlops/models/churn", keys[b] as string)).body.aliases).toEqual({ champion: "1" });
    // Inference follows the deletion (announced on NATS) in A only.
    let gone = await call("POST", "/mlops/inference", keys[a] as string, { model_name: "churn", model_version: "@champion", inputs: { x: [1] } });
    for (let tries = 0; gone.status !== 404 && tries < 100; tries++) {
      await new Promise((r) => setTimeout(r, 100));
      gone = await call("POST", "/mlops/inference", keys[a] as string, { model_name: "churn", model_version: "@champion", inputs: { x: [1] } });
    }
    expect(gone.status).toBe(404);
    const kept = await predict(keys[b] as string, { model_version: "@champion" });
    expect([kept.status, kept.body.predictions]).toEqual([200, [10, 20]]);
  });
});
