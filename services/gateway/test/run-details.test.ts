import { randomUUID } from "node:crypto";
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { connectBus, type Bus } from "@asgard/bus";
import {
  ErrorBodySchema,
  JobSchema,
  ModelSignatureSchema,
  ModelVersionListSchema,
  RPC,
  RunDetailsSchema,
  type CreateKeyResponse,
  type Job,
  type Tenant,
} from "@asgard/contracts";
import { createMlflowClient, type MlflowClient } from "@asgard/mlflow";
import { createRegistry, type Registry } from "@asgard/registry";
import { b64, validBody } from "./bodies.js";
import { logger, startTrainingStack, type TrainingStack } from "./stack.js";

const LOCAL = { host: "localhost:8000" };
const bearer = (key: string) => ({ ...LOCAL, authorization: `Bearer ${key}` });
const unique = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

/** An MLmodel as MLflow 3.17 writes it for a pandas-logged sklearn model with an input example. */
const MLMODEL = `artifact_path: model
flavors:
  python_function:
    loader_module: mlflow.sklearn
    model_path: model.pkl
saved_input_example_info:
  artifact_path: input_example.json
  serving_input_path: serving_input_example.json
  type: dataframe
signature:
  inputs: '[{"type": "double", "name": "age", "required": true}, {"type": "string",
    "name": "plan", "required": false}]'
  outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]'
  params: null
`;
const EXAMPLE = JSON.stringify({ columns: ["age", "plan"], data: [[42.5, "gold"], [30, "basic"]] });

describe("run details, model versions and signatures through the gateway (real NATS, scheduler, registry, MLflow)", () => {
  const infra = inject("infra");
  let stack: TrainingStack;
  let app: FastifyInstance;
  let mlflow: MlflowClient;
  let registryBus: Bus;
  let registry: Registry;
  const tenantA: Tenant = unique("run-a");
  const tenantB: Tenant = unique("run-b");
  const keys: Record<string, string> = {};
  let inA: MlflowClient;
  let experimentA: string;

  const get = (url: string, tenant: Tenant) => app.inject({ url, headers: bearer(keys[tenant] ?? "") });

  /** A job of the tenant that a runner started and that reported `runId` as its MLflow run. */
  async function jobWithRun(tenant: Tenant, runId: string | null): Promise<Job> {
    const res = await app.inject({
      method: "POST",
      url: "/mlops/training/upload",
      headers: { ...bearer(keys[tenant] ?? ""), "content-type": "application/json" },
      payload: validBody({ experiment_name: "runs", script_content: b64("print('x')\n") }),
    });
    expect(res.statusCode, res.body).toBe(202);
    const job = JobSchema.parse(res.json());
    if (runId === null) return job;
    const claim = await stack.runnerBus.request(RPC.claimJob, { job_id: job.job_id, runner_id: "run-details-test", delivery: 1 });
    if (!claim.granted) throw new Error(`claim refused: ${claim.reason}`);
    const progress = await stack.runnerBus.request(RPC.reportProgress, {
      job_id: job.job_id,
      attempt: claim.attempt,
      runner_id: "run-details-test",
      phase: "running",
      run_id: runId,
      experiment_id: experimentA,
    });
    expect(progress.accepted).toBe(true);
    return job;
  }

  /** Same status and body as the answer for an unknown id, with the ids taken out. */
  const sameAs = (a: LightMyRequestResponse, aId: string, b: LightMyRequestResponse, bId: string) => {
    expect(a.statusCode).toBe(b.statusCode);
    expect(a.body.split(aId).join("<id>")).toBe(b.body.split(bId).join("<id>"));
  };

  beforeAll(async () => {
    stack = await startTrainingStack("gw-run-details", undefined, { apiKeys: true });
    app = stack.gateway.app;
    mlflow = createMlflowClient({ baseUrl: infra.mlflowUrl });
    registryBus = await connectBus({ servers: stack.nats.url, name: "gw-run-details-registry", logger });
    registry = createRegistry({ bus: registryBus, mlflow, logger, config: { pollIntervalMs: 60_000, readyTimeoutMs: 20_000, readyPollMs: 100 } });
    await registry.start();
    const create = async (headers: Record<string, string>, body: object): Promise<string> => {
      const res = await app.inject({ method: "POST", url: "/mlops/keys", headers: { ...headers, "content-type": "application/json" }, payload: JSON.stringify(body) });
      expect(res.statusCode, res.body).toBe(201);
      return res.json<CreateKeyResponse>().key;
    };
    const admin = await create(LOCAL, { name: "admin", scopes: ["admin"] });
    for (const tenant of [tenantA, tenantB]) {
      await mlflow.ensureWorkspace(tenant);
      keys[tenant] = await create(bearer(admin), { name: tenant, scopes: ["jobs:submit", "jobs:read", "models:manage", "predict"], tenant });
    }
    inA = mlflow.inWorkspace(tenantA);
    experimentA = await inA.createExperiment(unique("runs"));
  });
  afterAll(async () => {
    await registry?.stop();
    await registryBus?.close();
    await mlflow?.close();
    await stack?.close();
  });

  describe("GET /mlops/training/jobs/{job_id}/run", () => {
    let runId: string;
    let job: Job;

    beforeAll(async () => {
      ({ info: { run_id: runId } } = await inA.createRun({ experimentId: experimentA }));
      // Logged out of step order, as a script logging from several places may: the history comes back by step.
      await inA.logBatch(runId, {
        params: { C: "0.5", solver: "lbfgs" },
        metrics: [3, 0, 2, 1].map((step) => ({ key: "loss", value: 1 / (step + 1), step })).concat([{ key: "accuracy", value: 0.9, step: 0 }, { key: "odd", value: Number.NaN, step: 0 }]),
      });
      job = await jobWithRun(tenantA, runId);
    });

    it("answers the run's params, latest metrics and each metric's history by step", async () => {
      const res = await get(`/mlops/training/jobs/${job.job_id}/run`, tenantA);
      expect(res.statusCode, res.body).toBe(200);
      const run = RunDetailsSchema.parse(res.json());
      expect(run).toMatchObject({ job_id: job.job_id, run_id: runId, experiment_id: experimentA, status: "RUNNING", params: { C: "0.5", solver: "lbfgs" } });
      expect(run.metrics).toEqual({ loss: 0.25, accuracy: 0.9, odd: null });
      expect(run.histories.loss?.map((p) => [p.step, p.value])).toEqual([
        [0, 1],
        [1, 0.5],
        [2, 1 / 3],
        [3, 0.25],
      ]);
      expect(run.histories.odd?.map((p) => p.value)).toEqual([null]);
      expect(run.histories_omitted).toEqual([]);
    });

    it("is a 404 for another tenant's job, exactly like an unknown id", async () => {
      const unknown = "0123456789abcdef0123456789abcdef";
      sameAs(await get(`/mlops/training/jobs/${job.job_id}/run`, tenantB), job.job_id, await get(`/mlops/training/jobs/${unknown}/run`, tenantB), unknown);
      expect((await get(`/mlops/training/jobs/${unknown}/run`, tenantB)).statusCode).toBe(404);
    });

    it("is a 404 for a malformed id and for a job without a run yet, saying so", async () => {
      const malformed = await get(`/mlops/training/jobs/${"x".repeat(400)}/run`, tenantA);
      expect(malformed.statusCode).toBe(404);
      const queued = await jobWithRun(tenantA, null);
      const res = await get(`/mlops/training/jobs/${queued.job_id}/run`, tenantA);
      expect(res.statusCode).toBe(404);
      expect(ErrorBodySchema.parse(res.json()).message).toContain("has no MLflow run yet");
    });

    it("reads the run in the job's tenant's workspace only: a run id of another workspace is not found", async () => {
      const stray = await jobWithRun(tenantB, runId);
      const res = await get(`/mlops/training/jobs/${stray.job_id}/run`, tenantB);
      expect(res.statusCode).toBe(404);
      expect(ErrorBodySchema.parse(res.json()).message).toContain(runId);
    });
  });

  describe("GET /mlops/models/{model_name}/versions and …/versions/{version}/signature", () => {
    const model = unique("versions");

    /** A run with params and metrics that logged a model with this MLmodel, registered through the API. */
    async function version(params: Record<string, string>, accuracy: number, mlmodel: string | null): Promise<string> {
      const { info } = await inA.createRun({ experimentId: experimentA });
      await inA.logBatch(info.run_id, { params, metrics: [{ key: "accuracy", value: accuracy }] });
      const logged = await inA.createLoggedModel({ experimentId: experimentA, name: "model", sourceRunId: info.run_id });
      await inA.uploadArtifact(`${logged.info.artifact_uri}/MLmodel`, mlmodel ?? "artifact_path: model\nflavors: {}\n");
      if (mlmodel) await inA.uploadArtifact(`${logged.info.artifact_uri}/input_example.json`, EXAMPLE);
      await inA.finalizeLoggedModel(logged.info.model_id);
      const res = await app.inject({
        method: "POST",
        url: "/mlops/registry",
        headers: { ...bearer(keys[tenantA] ?? ""), "content-type": "application/json" },
        payload: JSON.stringify({ model_name: model, run_id: info.run_id }),
      });
      expect(res.statusCode, res.body).toBe(201);
      return info.run_id;
    }

    let run1: string;
    let run2: string;
    beforeAll(async () => {
      run1 = await version({ C: "1" }, 0.8, null);
      run2 = await version({ C: "0.1" }, 0.9, MLMODEL);
    });

    it("lists the versions newest first with each run's params and latest metrics", async () => {
      const res = await get(`/mlops/models/${model}/versions`, tenantA);
      expect(res.statusCode, res.body).toBe(200);
      const list = ModelVersionListSchema.parse(res.json());
      expect(list.truncated).toBe(false);
      expect(list.versions.map((v) => [v.version, v.run?.run_id, v.run?.params, v.run?.metrics])).toEqual([
        ["2", run2, { C: "0.1" }, { accuracy: 0.9 }],
        ["1", run1, { C: "1" }, { accuracy: 0.8 }],
      ]);
    });

    it("answers a version's signature field by field with its input example's first row", async () => {
      const res = await get(`/mlops/models/${model}/versions/2/signature`, tenantA);
      expect(res.statusCode, res.body).toBe(200);
      expect(ModelSignatureSchema.parse(res.json())).toEqual({
        model_name: model,
        version: "2",
        has_signature: true,
        inputs: [
          { name: "age", type: "double", dtype: null, shape: null, required: true },
          { name: "plan", type: "string", dtype: null, shape: null, required: false },
        ],
        outputs: [{ name: null, type: "tensor", dtype: "int64", shape: [-1], required: true }],
        input_example: [42.5, "gold"],
      });
      const none = ModelSignatureSchema.parse((await get(`/mlops/models/${model}/versions/1/signature`, tenantA)).json());
      expect(none).toMatchObject({ has_signature: false, inputs: [], input_example: null });
    });

    it("is a 404 for unknown or malformed versions and models, and for another tenant's model", async () => {
      for (const url of [
        `/mlops/models/${model}/versions/99/signature`,
        `/mlops/models/${model}/versions/abc/signature`,
        `/mlops/models/${model}/versions/${"9".repeat(300)}/signature`,
        `/mlops/models/${unique("nope")}/versions/1/signature`,
        `/mlops/models/${unique("nope")}/versions`,
        `/mlops/models/${"m".repeat(1500)}/versions`,
      ]) {
        const res = await get(url, tenantA);
        expect(res.statusCode, url).toBe(404);
        expect(ErrorBodySchema.parse(res.json()).error).toBe("NOT_FOUND");
      }
      for (const url of [`/mlops/models/${model}/versions`, `/mlops/models/${model}/versions/2/signature`]) {
        expect((await get(url, tenantB)).statusCode, url).toBe(404);
      }
    });
  });
});
