import { randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { expect, inject } from "vitest";
import { connectBus, type Bus } from "@asgard/bus";
import { DEFAULT_TENANT, buildOpenApiDocument, EVENTS, STREAMS, type ModelAliasChanged, type ModelRegistered, type Tenant } from "@asgard/contracts";
import { createGateway } from "@asgard/gateway";
import { startNatsServer, type NatsServer } from "@asgard/infra";
import { ensureUv, pythonExecutable, run } from "@asgard/tools";
import { createMlflowClient, type MlflowClient } from "@asgard/mlflow";
import { envExcludePackages } from "@asgard/config";
import { createPyEnvManager, excludesFromSetting, type EnvLease, type PyEnvManager } from "@asgard/pyenv";
import { createLogger, createMetricsRegistry, type Registry } from "@asgard/telemetry";
import { createInference, type Inference, type InferenceConfig, type InferenceDeps } from "../src/index.js";

export const logger = createLogger("inference-test", "silent");

/** A name no other test (or test file sharing the run's MLflow) uses. */
export const unique = (prefix: string) => `${prefix}-${randomUUID().slice(0, 12)}`;

/** Polls until `check` holds; bounded by tries, never by a time threshold on the system. */
export async function eventually<T>(read: () => Promise<T> | T, check: (v: T) => boolean, tries = 600, everyMs = 100): Promise<T> {
  let last: T | undefined;
  for (let i = 0; i < tries; i++) {
    last = await read();
    if (check(last)) return last;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`condition not reached; last value: ${JSON.stringify(last)}`);
}

/**
 * The environment cache of the test run, shared by every inference test file (the cache is
 * content-addressed and safe across processes): the training environment and each model's
 * environment are built once per run. uv's own download cache is the machine's.
 */
export async function testPyEnv(mlflowVersion: string): Promise<PyEnvManager> {
  return createPyEnvManager({
    root: join(inject("infra").workDir, "inference-envs"),
    uvPath: await ensureUv(),
    python: pythonExecutable(),
    pins: [`mlflow==${mlflowVersion}`],
    // The services' default ENV_EXCLUDE_PACKAGES: XGBoost's environments leave out its GPU-only NCCL.
    excludes: excludesFromSetting(envExcludePackages().parse(undefined)),
    logger,
  });
}

/**
 * The folder the python-runner puts on every job's PYTHONPATH (its runtime shim, which sets
 * the job's MLflow defaults). Models a user's job logs are logged under it, so the test
 * models are too: the scripts below stay as a user writes them.
 */
export const JOB_RUNTIME_SHIM = join(import.meta.dirname, "..", "..", "python-runner", "src", "python");

/**
 * Runs a Python script as a job would (an environment with scikit-learn and the server's
 * MLflow, the platform's runtime shim), against the run's MLflow server, and returns what it
 * printed after `RESULT `. `requirements`: the job's requirements (scikit-learn unless told).
 */
export async function runTrainingScript(pyenv: PyEnvManager, script: string, env: Record<string, string>, requirements: string[] = ["scikit-learn"]): Promise<unknown> {
  const lease: EnvLease = await pyenv.acquire(requirements);
  const dir = await mkdtemp(join(inject("infra").workDir, "train-"));
  try {
    const file = join(dir, "train.py");
    await writeFile(file, script);
    const { stdout } = await run(lease.python, [file], {
      cwd: dir,
      // Four models, each with MLflow's requirement inference (a subprocess per model): minutes on a busy machine.
      timeoutMs: 10 * 60_000,
      env: { PATH: `${lease.binDir}:/usr/bin:/bin`, HOME: dir, LANG: "C.UTF-8", PYTHONPATH: JOB_RUNTIME_SHIM, MLFLOW_TRACKING_URI: inject("infra").mlflowUrl, MLFLOW_DISABLE_TELEMETRY: "true", ...env },
    });
    const line = stdout.split("\n").find((l) => l.startsWith("RESULT "));
    if (!line) throw new Error(`the training script printed no result:\n${stdout.slice(-2000)}`);
    return JSON.parse(line.slice("RESULT ".length)) as unknown;
  } finally {
    await lease.release();
    await rm(dir, { recursive: true, force: true });
  }
}

/** What the training script reports for each logged model. */
export interface LoggedFixture {
  run_id: string;
  model_id: string;
  uri: string;
  /** Inputs as columns, and what MLflow in Python predicted for them. */
  probe: Record<string, number[]>;
  predictions: unknown[];
  probabilities?: number[][];
}

/** Registers a logged model as a new version of `name` (created if missing) and waits until READY. */
export async function registerVersion(mlflow: MlflowClient, name: string, model: { uri: string; run_id: string; model_id: string }): Promise<string> {
  if (!(await mlflow.findRegisteredModel(name))) await mlflow.createRegisteredModel(name);
  const mv = await mlflow.createModelVersion({ name, source: model.uri, runId: model.run_id, modelId: model.model_id });
  await mlflow.waitForModelVersionReady(name, mv.version, { timeoutMs: 30_000, intervalMs: 100 });
  return mv.version;
}

/**
 * A model made over REST with exactly the files given (an MLmodel and, say, a
 * requirements.txt): models that cannot be loaded, without training anything.
 */
export async function loggedModelWithFiles(mlflow: MlflowClient, experimentId: string, files: Record<string, string>): Promise<{ uri: string; run_id: string; model_id: string }> {
  const { info } = await mlflow.createRun({ experimentId });
  const model = await mlflow.createLoggedModel({ experimentId, name: "model", sourceRunId: info.run_id });
  for (const [name, content] of Object.entries(files)) await mlflow.uploadArtifact(`${model.info.artifact_uri}/${name}`, content);
  await mlflow.finalizeLoggedModel(model.info.model_id);
  await mlflow.updateRun(info.run_id, { status: "FINISHED", endTime: Date.now() });
  return { uri: `models:/${model.info.model_id}`, run_id: info.run_id, model_id: model.info.model_id };
}

/** A private nats-server, the run's MLflow, an inference service and a gateway in front of it. */
export interface Stack {
  nats: NatsServer;
  /** The test's own connection (plays the registry publishing its events). */
  bus: Bus;
  mlflow: MlflowClient;
  experimentId: string;
  pyenv: PyEnvManager;
  inference: Inference;
  metrics: Registry;
  gateway: FastifyInstance;
  post(url: string, payload: unknown): Promise<LightMyRequestResponse>;
  /**
   * Posts until the model has loaded, as a client does: while a cold environment builds (minutes
   * on a busy machine) the service answers 503 "retry shortly" within the gateway's wait.
   */
  postWhenLoaded(url: string, payload: unknown): Promise<LightMyRequestResponse>;
  /** Publishes model.registered as the registry would (for the default tenant's model unless told). */
  announceRegistered(name: string, version: string, tenant?: Tenant): Promise<void>;
  /** Publishes model.alias.changed as the registry would (for the default tenant's model unless told). */
  announceAlias(name: string, alias: string, version: string | null, previous: string | null, tenant?: Tenant): Promise<void>;
  close(): Promise<void>;
}

/** A hook that trains and builds model environments on a cold, busy machine may take this long. */
export const COLD_START_MS = 15 * 60_000;

/** Each try of `postWhenLoaded` waits about a minute: ten cover the coldest environment build seen. */
const LOAD_TRIES = 10;

export async function startStack(name: string, config: Partial<InferenceConfig> = {}, deps: Pick<InferenceDeps, "checkSandbox"> = {}): Promise<Stack> {
  const infra = inject("infra");
  const dir = await mkdtemp(join(infra.workDir, `${name}-`));
  const nats = await startNatsServer({ storeDir: join(dir, "nats") });
  const bus = await connectBus({ servers: nats.url, name: `${name}-test`, logger });
  const mlflow = createMlflowClient({ baseUrl: infra.mlflowUrl, timeoutMs: 30_000 });
  const experimentId = await mlflow.createExperiment(unique(name));
  const pyenv = await testPyEnv(await mlflow.version());
  const metrics = createMetricsRegistry("inference-test");
  // The scheduler owns the stream; in a deployment inference waits for it to make it.
  await bus.ensureStream(STREAMS.models);
  const serviceBus = await connectBus({ servers: nats.url, name: `${name}-inference`, logger });
  const inference = createInference({
    bus: serviceBus,
    mlflow,
    pyenv,
    logger,
    metrics,
    // A request waits for a load as long as its caller does (the bus's 60 s): then "retry shortly".
    // Python only unless a test asks for the compiled path (compile.test.ts): the other files
    // compare answers with MLflow's bit for bit, which ONNX's float32 answers are not.
    config: { dataDir: join(dir, "inference"), loadWaitMs: 170_000, compile: "off", ...config },
    pullTimeoutMs: 1_000,
    ...deps,
  });
  await inference.start();
  const gatewayBus = await connectBus({ servers: nats.url, name: `${name}-gateway`, logger });
  const gateway = await createGateway({
    bus: { current: gatewayBus },
    statusCache: { current: () => null, start: async () => {}, stop: async () => {} },
    logger,
    metrics: createMetricsRegistry("gateway-test"),
    openapi: buildOpenApiDocument(),
    statusRetryAfterSeconds: 2,
    bodyLimitBytes: 2 * 1024 * 1024,
  });
  const now = () => new Date().toISOString();
  return {
    nats,
    bus,
    mlflow,
    experimentId,
    pyenv,
    inference,
    metrics,
    gateway,
    post: (url, payload) => gateway.inject({ method: "POST", url, payload: payload as object }),
    async postWhenLoaded(url, payload) {
      for (let tries = 1; ; tries++) {
        const res = await gateway.inject({ method: "POST", url, payload: payload as object });
        const retry = res.statusCode === 503 && res.json<{ message?: string }>().message?.includes("retry shortly");
        if (!retry || tries === LOAD_TRIES) return res;
      }
    },
    async announceRegistered(model, version, tenant = DEFAULT_TENANT) {
      const event: ModelRegistered = {
        event_id: randomUUID(),
        schema_version: 1,
        occurred_at: now(),
        tenant,
        model_name: model,
        version,
        run_id: null,
        job_id: null,
        source: "",
        aliases: [],
        signature: null,
        registered_at: now(),
      };
      await bus.ensureStream(STREAMS.models);
      await bus.publish(EVENTS.modelRegistered, event, { msgId: event.event_id });
    },
    async announceAlias(model, alias, version, previous, tenant = DEFAULT_TENANT) {
      const event: ModelAliasChanged = {
        event_id: randomUUID(),
        schema_version: 1,
        occurred_at: now(),
        tenant,
        model_name: model,
        alias,
        version,
        previous_version: previous,
        via: "api",
        changed_at: now(),
      };
      await bus.publish(EVENTS.modelAliasChanged, event, { msgId: event.event_id });
    },
    async close() {
      await gateway.close();
      await gatewayBus.close();
      await inference.stop();
      await serviceBus.close();
      await bus.close();
      await mlflow.close();
      await nats.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Sum and count of a histogram in the registry (how many calls, how many observations in all). */
export async function histogram(metrics: Registry, name: string): Promise<{ sum: number; count: number }> {
  const metric = metrics.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const values = (await metric.get()).values as { metricName?: string; value: number }[];
  const find = (suffix: string) => values.find((v) => v.metricName === `${name}_${suffix}`)?.value ?? 0;
  return { sum: find("sum"), count: find("count") };
}

/** The parity the worker checks before switching: relative 1e-5, values under 1 in magnitude at 1e-5 absolute. */
export const closeTo = (got: number[][], want: number[][]) => {
  expect(got.length).toBe(want.length);
  got.forEach((row, r) =>
    row.forEach((v, c) => {
      const w = (want[r] as number[])[c] as number;
      expect(Math.abs(v - w)).toBeLessThanOrEqual(1e-5 * Math.max(Math.abs(w), 1));
    }),
  );
};
