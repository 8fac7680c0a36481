import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { inject } from "vitest";
import { connectBus, type Bus, type Consumption } from "@asgard/bus";
import { DEFAULT_TENANT, STREAMS, type ConsumerDef, type EventDef, type Payload, type RunCompleted } from "@asgard/contracts";
import { startNatsServer, type NatsServer } from "@asgard/infra";
import { createMlflowClient, type MlflowClient } from "@asgard/mlflow";
import { createLogger } from "@asgard/telemetry";
import { createRegistry, type Registry, type RegistryConfig } from "../src/index.js";

export const logger = createLogger("registry-test", "silent");

/** A name no other test (or test file sharing the run's MLflow) uses. */
export const unique = (prefix: string) => `${prefix}-${randomUUID().slice(0, 12)}`;

/** Polls until `check` holds; bounded by tries, never by a time threshold on the system. */
export async function eventually<T>(read: () => Promise<T> | T, check: (v: T) => boolean, tries = 150, everyMs = 100): Promise<T> {
  let last: T | undefined;
  for (let i = 0; i < tries; i++) {
    last = await read();
    if (check(last)) return last;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`condition not reached; last value: ${JSON.stringify(last)}`);
}

/** A private nats-server (catalog names are fixed), the run's MLflow, and registries on demand. */
export interface Stack {
  nats: NatsServer;
  /** The test's own connection (plays the gateway, the runner, an external consumer). */
  bus: Bus;
  mlflow: MlflowClient;
  experimentId: string;
  /** Starts a registry replica on a connection of its own; closed by `close()` unless stopped before. */
  startRegistry(overrides?: Partial<RegistryConfig>, mlflow?: MlflowClient): Promise<Replica>;
  close(): Promise<void>;
}

export interface Replica {
  registry: Registry;
  stop(): Promise<void>;
}

/** Test defaults: a quick poller and READY wait; the shared MLflow serves other files too. */
const TEST_CONFIG: Partial<RegistryConfig> = { pollIntervalMs: 1_000, readyTimeoutMs: 20_000, readyPollMs: 100 };

export async function startStack(name: string): Promise<Stack> {
  const infra = inject("infra");
  const dir = await mkdtemp(join(infra.workDir, `${name}-`));
  const nats = await startNatsServer({ storeDir: join(dir, "nats") });
  const bus = await connectBus({ servers: nats.url, name: `${name}-test`, logger });
  // The scheduler owns these streams; in a deployment the registry waits for it to make them.
  for (const stream of [STREAMS.runs, STREAMS.models]) await bus.ensureStream(stream);
  const mlflow = createMlflowClient({ baseUrl: infra.mlflowUrl });
  const experimentId = await mlflow.createExperiment(unique(name));
  const replicas = new Set<Replica>();

  return {
    nats,
    bus,
    mlflow,
    experimentId,
    async startRegistry(overrides = {}, client = mlflow) {
      const registryBus = await connectBus({ servers: nats.url, name: unique(`${name}-registry`), logger });
      const registry = createRegistry({ bus: registryBus, mlflow: client, logger, config: { ...TEST_CONFIG, ...overrides } });
      await registry.start();
      const replica: Replica = {
        registry,
        async stop() {
          replicas.delete(replica);
          await registry.stop();
          await registryBus.close();
        },
      };
      replicas.add(replica);
      return replica;
    },
    async close() {
      for (const replica of [...replicas]) await replica.stop();
      await bus.close();
      await mlflow.close();
      await nats.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A run with a model logged the way MLflow 3's `log_model(name="model")` does it, over REST. */
export interface LoggedRun {
  runId: string;
  modelId: string;
  /** `models:/<model_id>`. */
  uri: string;
}

/** An MLmodel whose signature names two double columns, as MLflow writes it for a DataFrame. */
export const MLMODEL_WITH_SIGNATURE = `artifact_path: model
flavors:
  python_function:
    loader_module: mlflow.sklearn
signature:
  inputs: '[{"type": "double", "name": "sepal length (cm)", "required": true}, {"type":
    "double", "name": "petal width (cm)", "required": true}]'
  outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]'
  params: null
`;

export async function logRunWithModel(mlflow: MlflowClient, experimentId: string, mlmodel = MLMODEL_WITH_SIGNATURE): Promise<LoggedRun> {
  const { info } = await mlflow.createRun({ experimentId });
  const model = await mlflow.createLoggedModel({ experimentId, name: "model", sourceRunId: info.run_id });
  await mlflow.uploadArtifact(`${model.info.artifact_uri}/MLmodel`, mlmodel);
  await mlflow.finalizeLoggedModel(model.info.model_id);
  await mlflow.updateRun(info.run_id, { status: "FINISHED", endTime: Date.now() });
  return { runId: info.run_id, modelId: model.info.model_id, uri: `models:/${model.info.model_id}` };
}

/** A run.completed as a runner sends it for a succeeded job that logged `run`'s model. */
export function runCompleted(jobId: string, modelName: string, run: LoggedRun | { runId: string; modelId: null; uri: null }, overrides: Partial<RunCompleted> = {}): RunCompleted {
  return {
    event_id: randomUUID(),
    schema_version: 1,
    occurred_at: new Date().toISOString(),
    tenant: DEFAULT_TENANT,
    job_id: jobId,
    attempt: 1,
    runner_id: "runner-test",
    outcome: "succeeded",
    error_type: null,
    error: null,
    exit_code: 0,
    run_id: run.runId,
    experiment_id: null,
    model_name: modelName,
    logged_model_id: run.modelId,
    logged_model_uri: run.uri,
    duration_seconds: 1,
    last_log_seq: 0,
    last_log_batch: 0,
    ...overrides,
  };
}

/**
 * An external system's durable consumer of a MODELS subject, as the events documentation
 * tells one to make: its own durable name, every message kept in `received`.
 */
export async function externalConsumer<D extends EventDef>(bus: Bus, def: D, durable: string): Promise<{ received: Payload<D>[]; stop(): Promise<void> }> {
  const consumer: ConsumerDef<{ event: D }> = {
    stream: STREAMS.models,
    durable,
    filterSubject: def.subject,
    events: { event: def },
    ackWaitMs: 30_000,
    maxDeliver: -1,
    maxAckPending: 100,
    deliverPolicy: "all",
    description: "a test's external consumer",
  };
  await bus.ensureStream(STREAMS.models);
  await bus.ensureConsumer(consumer);
  const received: Payload<D>[] = [];
  const consumption: Consumption = bus.consume(
    consumer,
    {
      event: async (msg) => {
        received.push(msg.data);
      },
    },
    { pullTimeoutMs: 1_000 },
  );
  return { received, stop: () => consumption.stop() };
}

/** Versions of a model, oldest first. */
export async function versionsOf(mlflow: MlflowClient, name: string): Promise<string[]> {
  const { modelVersions } = await mlflow.searchModelVersions({ filter: `name = '${name}'` });
  return modelVersions.map((mv) => mv.version).sort((a, b) => Number(a) - Number(b));
}
