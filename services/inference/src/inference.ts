import { BusError, type Bus, type RpcContext } from "@asgard/bus";
import { CONSUMERS, RPC, STREAMS, type InvokeRequest, type InvokeResponse, type ModelServing, type ModelServingRequest, type PredictRequest, type PredictResponse } from "@asgard/contracts";
import type { MlflowClient } from "@asgard/mlflow";
import type { PyEnvManager } from "@asgard/pyenv";
import { checkSandbox, type SandboxCheck } from "@asgard/sandbox";
import type { Logger, Registry } from "@asgard/telemetry";
import { answerWithin, type Progress } from "./caller-wait.js";
import { resolveConfig, type InferenceConfig } from "./config.js";
import { inputsRejected } from "./errors.js";
import { invocationColumns } from "./invocations.js";
import { createInferenceMetrics, type InferenceMetrics } from "./metrics.js";
import { ModelPool, type LoadedModel } from "./model-pool.js";
import { RuntimeClosedError, type JobResult, type ModelRuntime } from "./model-runtime.js";
import { prepareInputs } from "./model-schema.js";
import { createResolver, type ResolvedVersion } from "./resolver.js";
import { servingAnswer } from "./serving.js";
import { startWarmup } from "./warmup.js";

export interface InferenceDeps {
  bus: Bus;
  mlflow: MlflowClient;
  /** Builds each model's environment from its own logged requirements. */
  pyenv: PyEnvManager;
  logger: Logger;
  metrics?: Registry;
  /** `dataDir` is required; everything else has a default (`DEFAULT_CONFIG`). */
  config: Partial<InferenceConfig> & { dataDir: string };
  /** How long one pull of the warm-up consumer waits (tests shorten it). */
  pullTimeoutMs?: number;
  /** Whether model workers can be sandboxed here (default: `checkSandbox` of @asgard/sandbox). */
  checkSandbox?: () => Promise<SandboxCheck>;
}

/** Counters of the service, read from its metrics. */
export interface InferenceStats {
  /** Models loaded into a new worker (for a request, a warm-up, or after a crash). */
  loads: number;
  loadFailures: number;
  crashes: number;
  evictions: number;
  loaded: LoadedModel[];
}

export interface Inference {
  /** Serves the endpoints and follows the registry's events. */
  start(): Promise<void>;
  /** Stops serving, then unloads every model (workers and their process groups end). */
  stop(): Promise<void>;
  stats(): Promise<InferenceStats>;
  readonly config: InferenceConfig;
}

/**
 * Serves predictions from warm models: resolves the version (latest, number or alias) in the
 * request's tenant (its MLflow workspace), gets its loaded runtime from the pool (loading it on first use), checks the inputs against
 * the model, and joins the runtime's next micro-batch.
 */
export function createInference(deps: InferenceDeps): Inference {
  const config = resolveConfig(deps.config);
  const { bus, logger } = deps;
  const metrics: InferenceMetrics = createInferenceMetrics(deps.metrics);
  const resolver = createResolver({ mlflow: deps.mlflow, ttlMs: config.resolveTtlMs });
  const pool = new ModelPool({ mlflow: deps.mlflow, pyenv: deps.pyenv, config, logger, metrics });
  const stoppers: Array<{ stop(): Promise<void> }> = [];

  /** The version's runtime; while it loads, `progress` names the load's step at the time it is read. */
  async function runtimeOf(mv: ResolvedVersion, progress: Progress): Promise<ModelRuntime> {
    progress.step = () => {
      const step = pool.loadingStep(mv);
      return step ? `loading the model: ${step}` : "loading the model";
    };
    const runtime = await pool.get(mv);
    progress.step = "waiting for its batch to be predicted";
    return runtime;
  }

  /** Runs `work` on the version's runtime; once more if the runtime was unloaded under it. */
  async function withRuntime<T>(mv: ResolvedVersion, progress: Progress, work: (runtime: ModelRuntime) => Promise<T>): Promise<T> {
    try {
      return await work(await runtimeOf(mv, progress));
    } catch (err) {
      if (!(err instanceof RuntimeClosedError)) throw err;
      return work(await runtimeOf(mv, progress));
    }
  }

  /**
   * Counts and times each request, and answers it within the caller's wait: a request whose
   * model is still loading hears "retry shortly" from us rather than a timeout from the bus.
   */
  function counted<Req extends { model_name: string }, Res>(endpoint: string, handler: (req: Req, progress: Progress) => Promise<Res>): (req: Req, ctx: RpcContext) => Promise<Res> {
    return async (req, ctx) => {
      const started = performance.now();
      try {
        const res = await answerWithin(ctx.remainingMs(), `model ${JSON.stringify(req.model_name)}`, (progress) => handler(req, progress));
        metrics.requests.inc({ endpoint, result: "ok" });
        metrics.requestSeconds.observe({ endpoint }, (performance.now() - started) / 1000);
        return res;
      } catch (caught) {
        // Unloaded twice in a row under the same request (rare): the client may simply retry.
        const err = caught instanceof RuntimeClosedError ? new BusError("UNAVAILABLE", `${caught.message}; retry shortly`) : caught;
        metrics.requests.inc({ endpoint, result: err instanceof BusError ? err.code : "INTERNAL" });
        throw err;
      }
    };
  }

  async function predict(req: PredictRequest, progress: Progress): Promise<PredictResponse> {
    progress.step = "resolving the version";
    const mv = await resolver.resolve(req.tenant, req.model_name, req.model_ref);
    const result: JobResult = await withRuntime(mv, progress, async (runtime) => {
      if (req.return_probabilities && !runtime.info.has_proba) {
        throw new BusError(
          "UNPROCESSABLE",
          `${runtime.label} has no predict_proba (${runtime.info.model_class ? `a ${runtime.info.model_class} ` : ""}served through ${runtime.info.flavor}), so it cannot return probabilities; send return_probabilities: false`,
          { issues: [{ field: "return_probabilities", message: "this model has no predict_proba; send false" }] },
        );
      }
      const prepared = prepareInputs(runtime.info.input, req.inputs, "inputs");
      if (!prepared.ok) throw inputsRejected(prepared.issues, runtime.label);
      return runtime.predict(prepared.value, req.return_probabilities, null);
    });
    return {
      model_name: mv.name,
      model_version: mv.version,
      predictions: result.predictions,
      probabilities: req.return_probabilities ? result.probabilities : null,
      inference_time_ms: Math.round(result.predictMs * 1000) / 1000,
      timestamp: new Date().toISOString(),
      served_by: result.servedBy,
    };
  }

  async function invoke(req: InvokeRequest, progress: Progress): Promise<InvokeResponse> {
    progress.step = "resolving the version";
    const mv = await resolver.resolve(req.tenant, req.model_name, req.model_ref);
    const result = await withRuntime(mv, progress, async (runtime) => {
      const columns = invocationColumns(req.format, req.data, runtime.info.input);
      if (!columns.ok) throw inputsRejected(columns.issues, runtime.label);
      const prepared = prepareInputs(runtime.info.input, columns.inputs, req.format);
      if (!prepared.ok) throw inputsRejected(prepared.issues, runtime.label);
      // Like MLflow's scoring server: params reach the model only when its signature declares them.
      const params = req.params && runtime.info.params.length > 0 ? req.params : null;
      return runtime.predict(prepared.value, false, params);
    });
    return { predictions: result.predictions, model_version: mv.version, served_by: result.servedBy };
  }

  /** Which path serves the version here; resolving it in the tenant's workspace makes another tenant's a NOT_FOUND. */
  async function serving(req: ModelServingRequest): Promise<ModelServing> {
    const mv = await resolver.resolve(req.tenant, req.model_name, req.model_ref);
    return servingAnswer(mv, pool.stateOf(mv), config.instanceId);
  }

  /**
   * Fails closed: a model is untrusted code, so without a working sandbox no model is loaded
   * (every prediction says why) — unless the operator opted out for development.
   */
  async function confineWorkers(): Promise<void> {
    if (config.sandbox.mode === "process-group") {
      logger.warn("model workers run WITHOUT a sandbox (process-group mode): model code can reach everything the service can; for development only");
      return;
    }
    const check = await (deps.checkSandbox ?? checkSandbox)();
    if (check.available) return;
    const problem = `model workers cannot be sandboxed on this host (${check.reason ?? "unknown reason"}), so no model is loaded; an operator must fix the host`;
    logger.error({ reason: check.reason }, `${problem}, or set INFERENCE_SANDBOX=process-group for development only`);
    pool.refuseLoads(problem);
  }

  return {
    config,
    async start() {
      await confineWorkers();
      // The scheduler owns the stream; inference started first waits for it.
      await bus.awaitStream(STREAMS.models);
      await bus.ensureConsumer(CONSUMERS.inferenceModels);
      stoppers.push(bus.serve(RPC.predict, counted("predict", predict)));
      stoppers.push(bus.serve(RPC.invokeModel, counted("invocations", invoke)));
      stoppers.push(bus.serve(RPC.modelServing, serving));
      stoppers.push(bus.serve(RPC.inferenceHealth, async () => ({ instance_id: config.instanceId })));
      stoppers.push(startWarmup({ bus, resolver, pool, config, logger }, deps.pullTimeoutMs === undefined ? {} : { pullTimeoutMs: deps.pullTimeoutMs }));
      logger.info({ instanceId: config.instanceId, maxBatchRows: config.maxBatchRows, maxWaitMs: config.maxWaitMs, memoryBudgetBytes: config.memoryBudgetBytes, compile: config.compile }, "inference started");
    },
    async stop() {
      for (const s of stoppers.splice(0).reverse()) await s.stop();
      await pool.close();
      logger.info("inference stopped");
    },
    async stats() {
      const sum = async (counter: { get(): Promise<{ values: { value: number; labels: Record<string, string | number> }[] }> }, filter: (labels: Record<string, string | number>) => boolean = () => true) =>
        (await counter.get()).values.filter((v) => filter(v.labels)).reduce((n, v) => n + v.value, 0);
      return {
        loads: await sum(metrics.loads, (l) => l.result === "ok"),
        loadFailures: await sum(metrics.loads, (l) => l.result === "failed"),
        crashes: await sum(metrics.crashes),
        evictions: await sum(metrics.evictions),
        loaded: await pool.loaded(),
      };
    },
  };
}
