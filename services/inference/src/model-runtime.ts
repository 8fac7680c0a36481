import { realpathSync } from "node:fs";
import { dirname } from "node:path";
import { BusError } from "@asgard/bus";
import type { ServedBy, Tenant } from "@asgard/contracts";
import type { EnvLease } from "@asgard/pyenv";
import type { Logger } from "@asgard/telemetry";
import { MicroBatcher, type ItemOutcome } from "./batcher.js";
import type { InferenceConfig } from "./config.js";
import { describe, WorkerExitedError, WorkerReplyError } from "./errors.js";
import type { InferenceMetrics } from "./metrics.js";
import type { WorkerModelInfo } from "./model-info.js";
import type { PreparedInputs } from "./model-schema.js";
import { WorkerProcess, workerEnv, type PredictCall, type PredictReply } from "./worker-process.js";

/** One request's share of a batch. */
export interface PredictJob {
  prepared: PreparedInputs;
  proba: boolean;
  params: Record<string, unknown> | null;
}

export interface JobResult {
  predictions: unknown[];
  /** Present only for a job that asked for probabilities. */
  probabilities: number[][] | null;
  /** Time inside predict for the call this job was part of. */
  predictMs: number;
  /** The path that computed it. */
  servedBy: ServedBy;
}

/**
 * Where the compiled path of a version stands: `off` (INFERENCE_COMPILE=off), `pending` (until
 * its first prediction is served), `compiling`, `onnx` (served by ONNX Runtime), or `python`
 * (conversion or parity failed; `reason` says why and the Python path stays).
 */
export interface CompileStatus {
  state: "off" | "pending" | "compiling" | "onnx" | "python";
  reason: string | null;
  /** When ONNX Runtime took over (ISO time); null in every other state. */
  compiledAt: string | null;
}

/** A version's ONNX graph and the converter environment that serves it (released on close). */
export interface CompiledGraph {
  file: string;
  tools: EnvLease;
}

/** The runtime was unloaded (evicted or shut down) before the request got into a batch; ask the pool again. */
export class RuntimeClosedError extends Error {
  readonly code = "RUNTIME_CLOSED";
  constructor(message: string) {
    super(message);
    this.name = "RuntimeClosedError";
  }
}

export interface RuntimeOptions {
  /** Whose model it is (named in its log lines). */
  tenant: Tenant;
  name: string;
  version: string;
  /** The downloaded model directory (its MLmodel and files). */
  modelDir: string;
  /** The model's environment; released when the runtime closes. */
  lease: EnvLease;
  config: InferenceConfig;
  logger: Logger;
  metrics: InferenceMetrics;
  /** The runtime can no longer serve: a replacement worker failed to load. */
  onBroken(err: Error): void;
  /** Called once, after the first prediction was answered (the compiled path starts from it). */
  onFirstPrediction?(runtime: ModelRuntime): void;
}

/**
 * A loaded model version: its worker process and its micro-batcher. A worker that dies is
 * replaced at once; the batch it held is sent once more to the replacement, then fails
 * with a retryable UNAVAILABLE — a request never waits on a dead process.
 */
export class ModelRuntime {
  readonly label: string;
  info!: WorkerModelInfo;
  lastUsed = Date.now();
  readonly #opts: RuntimeOptions;
  readonly #batcher: MicroBatcher<PredictJob, JobResult>;
  #worker: WorkerProcess | null = null;
  #replacing: Promise<WorkerProcess> | null = null;
  #closed = false;
  #rss = 0;
  #compiled: CompiledGraph | null = null;
  #compiler: WorkerProcess | null = null;
  #firstPredictionSeen = false;
  compileStatus: CompileStatus;

  private constructor(opts: RuntimeOptions) {
    this.#opts = opts;
    this.label = `model ${JSON.stringify(opts.name)} version ${opts.version}`;
    this.compileStatus = { state: opts.onFirstPrediction ? "pending" : "off", reason: null, compiledAt: null };
    this.#batcher = new MicroBatcher({
      maxBatchRows: opts.config.maxBatchRows,
      maxWaitMs: opts.config.maxWaitMs,
      run: (jobs) => this.#runBatch(jobs),
    });
  }

  /** Starts the worker and loads the model; rejects with the worker's reason when it cannot. */
  static async start(opts: RuntimeOptions): Promise<ModelRuntime> {
    const runtime = new ModelRuntime(opts);
    await runtime.#startWorker();
    return runtime;
  }

  get name(): string {
    return this.#opts.name;
  }

  get version(): string {
    return this.#opts.version;
  }

  /** Nothing queued or in a batch: it may be evicted without failing anyone. */
  get idle(): boolean {
    return this.#batcher.idle && this.#replacing === null;
  }

  get workerPid(): number | undefined {
    return this.#worker?.pid;
  }

  /** Joins the next batch. */
  predict(prepared: PreparedInputs, proba: boolean, params: Record<string, unknown> | null): Promise<JobResult> {
    if (this.#closed) return Promise.reject(new RuntimeClosedError(`${this.label} was unloaded`));
    this.lastUsed = Date.now();
    const result = this.#batcher.submit({ prepared, proba, params }, prepared.rows);
    if (!this.#firstPredictionSeen && this.#opts.onFirstPrediction) {
      this.#firstPredictionSeen = true;
      // After the answer is on its way (setImmediate runs after the reply's microtasks): never delays it.
      result.then(
        () => setImmediate(() => !this.#closed && this.#opts.onFirstPrediction?.(this)),
        () => {
          this.#firstPredictionSeen = false;
        },
      );
    }
    return result;
  }

  /** The model directory and environment, for the conversion (see compile.ts). */
  get modelDir(): string {
    return this.#opts.modelDir;
  }

  get lease(): EnvLease {
    return this.#opts.lease;
  }

  /** The path the current worker serves. */
  get servedBy(): ServedBy {
    return this.#compiled ? "onnx" : "python";
  }

  /**
   * Moves serving to an ONNX Runtime worker: it is started and loaded first, then takes over,
   * and the Python worker ends once its batch is done. Rejects (the Python path stays) when
   * the new worker cannot load the graph; `graph.tools` then stays the caller's to release.
   */
  async switchToOnnx(graph: CompiledGraph): Promise<void> {
    if (this.#closed) throw new RuntimeClosedError(`${this.label} was unloaded`);
    const worker = await this.#spawnOnnx(graph);
    if (this.#closed) {
      await worker.stop(this.#opts.config.workerStopGraceMs);
      throw new RuntimeClosedError(`${this.label} was unloaded`);
    }
    // A Python worker being replaced after a crash would be adopted after this one and
    // displace it: let the replacement land first, then stop it below as the previous worker.
    await this.#replacing?.catch(() => undefined);
    const previous = this.#worker;
    this.#compiled = graph;
    this.#adopt(worker);
    this.compileStatus = { state: "onnx", reason: null, compiledAt: new Date().toISOString() };
    await previous?.stop(this.#opts.config.workerStopGraceMs);
  }

  async rssBytes(): Promise<number> {
    const measured = await this.#worker?.rssBytes();
    if (measured) this.#rss = measured;
    return this.#rss;
  }

  /** Unloads: queued requests are handed back (RuntimeClosedError), the batch in flight finishes, the worker stops. */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#batcher.close(new RuntimeClosedError(`${this.label} was unloaded`));
      this.#compiler?.kill("the model was unloaded", true);
    }
    await this.#batcher.whenIdle();
    await this.#replacing?.catch(() => undefined);
    await this.#worker?.stop(this.#opts.config.workerStopGraceMs);
    await this.#compiled?.tools.release();
    await this.#opts.lease.release();
  }

  /** A sandboxed worker in the model's environment (plus `extra` read-only paths). */
  #spawn(servedBy: ServedBy, extra: string[]): WorkerProcess {
    const { lease, config, logger } = this.#opts;
    return new WorkerProcess({
      python: lease.python,
      script: config.workerScript,
      env: workerEnv({ binDir: lease.binDir, venv: lease.path }),
      readOnlyPaths: [lease.path, basePrefixOf(lease.python), dirname(config.workerScript), ...extra],
      sandbox: config.sandbox,
      label: this.label,
      logger,
      servedBy,
    });
  }

  /** A worker that converts this model and checks parity (compile.ts); the caller stops it. */
  spawnCompiler(tools: EnvLease): WorkerProcess {
    if (this.#closed) throw new RuntimeClosedError(`${this.label} was unloaded`);
    const worker = this.#spawn("python", [this.#opts.modelDir, tools.path]);
    this.#compiler = worker;
    return worker;
  }

  /** An ONNX Runtime worker with the graph loaded (the model's files are not even visible to it). */
  async #spawnOnnx(graph: CompiledGraph): Promise<WorkerProcess> {
    const { config, logger } = this.#opts;
    const worker = this.#spawn("onnx", [graph.tools.path, graph.file]);
    try {
      const reply = await worker.loadOnnx(graph.file, graph.tools.path, this.info, config.workerLoadTimeoutMs);
      this.#rss = reply.rss_bytes;
      logger.info({ tenant: this.#opts.tenant, model: this.#opts.name, version: this.#opts.version, pid: worker.pid, loadMs: Math.round(reply.load_ms) }, "model loaded into ONNX Runtime");
      return worker;
    } catch (err) {
      worker.kill("load failed", true);
      throw err;
    }
  }

  async #startWorker(): Promise<WorkerProcess> {
    if (this.#compiled) return this.#adopt(await this.#spawnOnnx(this.#compiled));
    const { modelDir, config, logger } = this.#opts;
    const worker = this.#spawn("python", [modelDir]);
    try {
      const reply = await worker.load(modelDir, config.workerLoadTimeoutMs);
      this.info = reply.info;
      this.#rss = reply.rss_bytes;
      logger.info({ tenant: this.#opts.tenant, model: this.#opts.name, version: this.#opts.version, pid: worker.pid, loadMs: Math.round(reply.load_ms), flavor: reply.info.flavor }, "model loaded");
    } catch (err) {
      worker.kill("load failed", true);
      throw err;
    }
    return this.#adopt(worker);
  }

  /** Makes `worker` the one that serves, replaced at once if it ends unexpectedly. */
  #adopt(worker: WorkerProcess): WorkerProcess {
    const { logger } = this.#opts;
    this.#worker = worker;
    void worker.exited.then((exit) => {
      if (this.#closed || exit.expected || worker !== this.#worker) return;
      this.#opts.metrics.crashes.inc();
      logger.warn({ tenant: this.#opts.tenant, model: this.#opts.name, version: this.#opts.version, code: exit.code, signal: exit.signal }, "model worker ended unexpectedly; replacing it");
      this.#ensureWorker().catch(() => undefined);
    });
    return worker;
  }

  /** The live worker, or a replacement (one at a time, shared by everyone who needs it). */
  #ensureWorker(): Promise<WorkerProcess> {
    if (this.#worker?.alive) return Promise.resolve(this.#worker);
    if (this.#closed) return Promise.reject(new RuntimeClosedError(`${this.label} was unloaded`));
    this.#replacing ??= this.#startWorker()
      .then((worker) => {
        this.#opts.metrics.loads.inc({ result: "ok", reason: "crash" });
        return worker;
      })
      .catch((err: unknown) => {
        this.#opts.metrics.loads.inc({ result: "failed", reason: "crash" });
        const reason = new Error(`${this.label} could not be loaded again after its worker ended: ${describe(err)}`, { cause: err });
        this.#closed = true;
        this.#batcher.close(unavailable(reason.message));
        this.#opts.onBroken(reason);
        throw reason;
      })
      .finally(() => {
        this.#replacing = null;
      });
    return this.#replacing;
  }

  async #runBatch(jobs: PredictJob[]): Promise<ItemOutcome<JobResult>[]> {
    const outcomes: ItemOutcome<JobResult>[] = new Array(jobs.length);
    // Jobs with other column names (positional models) or params cannot share a call.
    const groups = new Map<string, number[]>();
    jobs.forEach((job, i) => {
      const key = JSON.stringify([job.prepared.columns, job.params]);
      const members = groups.get(key);
      if (members) members.push(i);
      else groups.set(key, [i]);
    });
    for (const members of groups.values()) await this.#runGroup(jobs, members, outcomes);
    return outcomes;
  }

  async #runGroup(jobs: PredictJob[], members: number[], outcomes: ItemOutcome<JobResult>[]): Promise<void> {
    const group = members.map((i) => jobs[i] as PredictJob);
    const call = mergeJobs(group);
    const rows = group.reduce((n, j) => n + j.prepared.rows, 0);
    let reply: PredictReply;
    try {
      reply = await this.#predictOnce(call);
    } catch (err) {
      if (err instanceof WorkerReplyError && members.length > 1) {
        // One request's inputs may have made the model raise: find out whose, one by one.
        for (const i of members) await this.#runGroup(jobs, [i], outcomes);
        return;
      }
      const error = this.#asRequestError(err);
      for (const i of members) outcomes[i] = { ok: false, error };
      return;
    }
    const { metrics } = this.#opts;
    metrics.batchRows.observe(rows);
    metrics.batchRequests.observe(members.length);
    metrics.predictSeconds.observe(reply.predictMs / 1000);
    metrics.workerSeconds.observe(reply.handledMs / 1000);
    if (members.length === 1) {
      const job = group[0] as PredictJob;
      outcomes[members[0] as number] = { ok: true, value: { predictions: reply.predictions, probabilities: job.proba ? reply.probabilities : null, predictMs: reply.predictMs, servedBy: reply.servedBy } };
      return;
    }
    if (reply.predictions.length !== rows || (call.proba && reply.probabilities?.length !== rows)) {
      // Not one output per row: the batch cannot be split, so each request goes alone.
      for (const i of members) await this.#runGroup(jobs, [i], outcomes);
      return;
    }
    let offset = 0;
    members.forEach((i, k) => {
      const job = group[k] as PredictJob;
      const end = offset + job.prepared.rows;
      outcomes[i] = {
        ok: true,
        value: {
          predictions: reply.predictions.slice(offset, end),
          probabilities: job.proba && reply.probabilities ? reply.probabilities.slice(offset, end) : null,
          predictMs: reply.predictMs,
          servedBy: reply.servedBy,
        },
      };
      offset = end;
    });
  }

  /** One predict call; a worker that dies during it is replaced and the call sent once more. */
  async #predictOnce(call: PredictCall): Promise<PredictReply> {
    for (let attempt = 1; ; attempt++) {
      const worker = await this.#ensureWorker();
      try {
        return await worker.predict(call, this.#opts.config.predictTimeoutMs);
      } catch (err) {
        if (err instanceof WorkerExitedError && attempt === 1 && !this.#closed) {
          this.#opts.logger.warn({ tenant: this.#opts.tenant, model: this.#opts.name, version: this.#opts.version, err: describe(err) }, "model worker ended during a batch; retrying it once on a new worker");
          continue;
        }
        throw err;
      }
    }
  }

  #asRequestError(err: unknown): unknown {
    if (err instanceof WorkerReplyError) {
      return new BusError("UNPROCESSABLE", `${this.label} could not predict on these inputs: ${err.message}`);
    }
    if (err instanceof WorkerExitedError) {
      return unavailable(`${this.label} ended twice while predicting this request; retry shortly (${err.message})`);
    }
    if (err instanceof RuntimeClosedError || err instanceof BusError) return err;
    return unavailable(describe(err));
  }
}

/**
 * The prefix of the interpreter a venv's `bin/python` links to (`<prefix>/bin/pythonX.Y`):
 * the worker needs its standard library, and the sandbox shows only what is bound.
 */
function basePrefixOf(venvPython: string): string {
  return dirname(dirname(realpathSync(venvPython)));
}

function unavailable(message: string): BusError {
  return new BusError("UNAVAILABLE", message);
}

/** One call for the whole group: each column is the jobs' columns end to end. */
export function mergeJobs(group: PredictJob[]): PredictCall {
  const first = group[0] as PredictJob;
  const proba = group.some((j) => j.proba);
  if (group.length === 1) return { columns: first.prepared.columns, values: first.prepared.values, proba, params: first.params };
  const values = first.prepared.values.map((_, c) => {
    const column = [];
    for (const job of group) for (const v of job.prepared.values[c] ?? []) column.push(v);
    return column;
  });
  return { columns: first.prepared.columns, values, proba, params: first.params };
}
