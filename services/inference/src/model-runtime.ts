import { BusError } from "@asgard/bus";
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
  name: string;
  version: string;
  /** The downloaded model directory (its MLmodel and files). */
  modelDir: string;
  /** The model's environment; released when the runtime closes. */
  lease: EnvLease;
  /** HOME of the worker: a directory of the service's own, never the service's home. */
  home: string;
  config: InferenceConfig;
  logger: Logger;
  metrics: InferenceMetrics;
  /** The runtime can no longer serve: a replacement worker failed to load. */
  onBroken(err: Error): void;
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

  private constructor(opts: RuntimeOptions) {
    this.#opts = opts;
    this.label = `model ${JSON.stringify(opts.name)} version ${opts.version}`;
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
    return this.#batcher.submit({ prepared, proba, params }, prepared.rows);
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
    }
    await this.#batcher.whenIdle();
    await this.#replacing?.catch(() => undefined);
    await this.#worker?.stop(this.#opts.config.workerStopGraceMs);
    await this.#opts.lease.release();
  }

  async #startWorker(): Promise<WorkerProcess> {
    const { lease, modelDir, config, logger } = this.#opts;
    const worker = new WorkerProcess({
      python: lease.python,
      script: config.workerScript,
      cwd: modelDir,
      env: workerEnv({ binDir: lease.binDir, venv: lease.path, home: this.#opts.home }),
      label: this.label,
      logger,
    });
    try {
      const reply = await worker.load(modelDir, config.workerLoadTimeoutMs);
      this.info = reply.info;
      this.#rss = reply.rss_bytes;
      logger.info({ model: this.#opts.name, version: this.#opts.version, pid: worker.pid, loadMs: Math.round(reply.load_ms), flavor: reply.info.flavor }, "model loaded");
    } catch (err) {
      worker.kill("load failed", true);
      throw err;
    }
    this.#worker = worker;
    void worker.exited.then((exit) => {
      if (this.#closed || exit.expected || worker !== this.#worker) return;
      this.#opts.metrics.crashes.inc();
      logger.warn({ model: this.#opts.name, version: this.#opts.version, code: exit.code, signal: exit.signal }, "model worker ended unexpectedly; replacing it");
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
      outcomes[members[0] as number] = { ok: true, value: { predictions: reply.predictions, probabilities: job.proba ? reply.probabilities : null, predictMs: reply.predictMs } };
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
          this.#opts.logger.warn({ model: this.#opts.name, version: this.#opts.version, err: describe(err) }, "model worker ended during a batch; retrying it once on a new worker");
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
