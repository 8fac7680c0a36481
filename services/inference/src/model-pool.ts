import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { BusError } from "@asgard/bus";
import type { MlflowClient } from "@asgard/mlflow";
import type { PyEnvManager } from "@asgard/pyenv";
import type { Logger } from "@asgard/telemetry";
import type { InferenceConfig } from "./config.js";
import { describe } from "./errors.js";
import type { InferenceMetrics } from "./metrics.js";
import { fetchModelFiles, readModelFile } from "./model-files.js";
import { modelRequirements } from "./model-requirements.js";
import { ModelRuntime } from "./model-runtime.js";
import type { ResolvedVersion } from "./resolver.js";

/** Why a load was started: a request needed it, the registry announced it, or a worker died. */
export type LoadReason = "request" | "warm" | "crash";

/** Where a load stands, for the message a waiting request gets. */
type Step = "downloading the model" | "building its Python environment" | "starting its worker and loading the model";

interface Entry {
  key: string;
  name: string;
  version: string;
  state: "loading" | "ready" | "failed";
  step: Step;
  loading: Promise<ModelRuntime> | null;
  runtime: ModelRuntime | null;
  failure: { message: string; retryAt: number } | null;
  /** Consecutive failed loads; the backoff doubles with each. */
  failures: number;
}

/** A loaded model as reported by `stats()`. */
export interface LoadedModel {
  name: string;
  version: string;
  pid: number | undefined;
  rssBytes: number;
  lastUsedAt: string;
}

export interface PoolDeps {
  mlflow: MlflowClient;
  pyenv: PyEnvManager;
  config: InferenceConfig;
  logger: Logger;
  metrics: InferenceMetrics;
  now?: () => number;
}

const keyOf = (name: string, version: string) => `${name}\u0000${version}`;

/**
 * The loaded models of this replica: at most one load per version at a time, a backoff after
 * a failed load (requests meanwhile get 503 with the reason, without starting another), and
 * an LRU within a memory budget measured from the workers' resident memory.
 */
export class ModelPool {
  readonly #deps: PoolDeps;
  readonly #entries = new Map<string, Entry>();
  readonly #now: () => number;
  #closed = false;

  constructor(deps: PoolDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
  }

  /** The loaded runtime of a version: loads it if needed, waiting at most `loadWaitMs`. */
  async get(mv: ResolvedVersion): Promise<ModelRuntime> {
    const entry = this.#entries.get(keyOf(mv.name, mv.version));
    if (entry?.state === "ready" && entry.runtime) return entry.runtime;
    const loading = this.#ensureLoading(entry, mv, "request");
    let timer: NodeJS.Timeout | undefined;
    const waitMs = this.#deps.config.loadWaitMs;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const step = this.#entries.get(keyOf(mv.name, mv.version))?.step ?? "loading";
        reject(new BusError("UNAVAILABLE", `model ${JSON.stringify(mv.name)} version ${mv.version} is still loading (${step}); retry shortly`));
      }, waitMs);
    });
    try {
      return await Promise.race([loading, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Starts loading a version unless it is loaded, loading, or in its backoff. */
  warm(mv: ResolvedVersion): void {
    const entry = this.#entries.get(keyOf(mv.name, mv.version));
    if (entry && (entry.state !== "failed" || (entry.failure && this.#now() < entry.failure.retryAt))) return;
    this.#ensureLoading(entry, mv, "warm").catch(() => undefined);
  }

  /** What a load of the version is doing now (downloading, building…), or null when none runs. */
  loadingStep(name: string, version: string): string | null {
    const entry = this.#entries.get(keyOf(name, version));
    return entry?.state === "loading" ? entry.step : null;
  }

  /** True when the version is loaded (tests, and the warm-up's log line). */
  isLoaded(name: string, version: string): boolean {
    return this.#entries.get(keyOf(name, version))?.state === "ready";
  }

  async loaded(): Promise<LoadedModel[]> {
    const out: LoadedModel[] = [];
    for (const e of this.#entries.values()) {
      if (e.state !== "ready" || !e.runtime) continue;
      out.push({ name: e.name, version: e.version, pid: e.runtime.workerPid, rssBytes: await e.runtime.rssBytes(), lastUsedAt: new Date(e.runtime.lastUsed).toISOString() });
    }
    return out;
  }

  /** Unloads every model (shutdown). */
  async close(): Promise<void> {
    this.#closed = true;
    const entries = [...this.#entries.values()];
    this.#entries.clear();
    await Promise.all(entries.map(async (e) => {
      const runtime = e.runtime ?? (await e.loading?.catch(() => null));
      await runtime?.close().catch((err: unknown) => this.#deps.logger.warn({ model: e.name, version: e.version, err: describe(err) }, "closing a model failed"));
    }));
    this.#deps.metrics.loadedModels.set(0);
  }

  #ensureLoading(existing: Entry | undefined, mv: ResolvedVersion, reason: LoadReason): Promise<ModelRuntime> {
    if (this.#closed) return Promise.reject(new BusError("UNAVAILABLE", "the inference service is shutting down; retry shortly"));
    if (existing?.state === "loading" && existing.loading) return existing.loading;
    if (existing?.state === "failed" && existing.failure && this.#now() < existing.failure.retryAt) {
      const seconds = Math.max(1, Math.ceil((existing.failure.retryAt - this.#now()) / 1000));
      return Promise.reject(
        new BusError("UNAVAILABLE", `model ${JSON.stringify(mv.name)} version ${mv.version} cannot be loaded: ${existing.failure.message} (it is tried again in ${seconds} s)`),
      );
    }
    const entry: Entry = existing ?? {
      key: keyOf(mv.name, mv.version),
      name: mv.name,
      version: mv.version,
      state: "loading",
      step: "downloading the model",
      loading: null,
      runtime: null,
      failure: null,
      failures: 0,
    };
    entry.state = "loading";
    entry.step = "downloading the model";
    this.#entries.set(entry.key, entry);
    const started = this.#now();
    entry.loading = this.#load(entry, mv).then(
      (runtime) => {
        if (this.#entries.get(entry.key) !== entry || this.#closed) {
          // Shut down while loading: nobody will serve from it (close() waits for this).
          return runtime.close().then(() => {
            throw new BusError("UNAVAILABLE", "the inference service is shutting down; retry shortly");
          });
        }
        entry.state = "ready";
        entry.runtime = runtime;
        entry.failure = null;
        entry.failures = 0;
        this.#deps.metrics.loads.inc({ result: "ok", reason });
        this.#deps.metrics.loadedModels.set(this.#readyCount());
        this.#deps.logger.info({ model: mv.name, version: mv.version, reason, ms: this.#now() - started }, "model ready");
        void this.#enforceBudget(entry.key);
        return runtime;
      },
      (err: unknown) => {
        entry.failures++;
        const backoff = Math.min(this.#deps.config.loadBackoffMs * 2 ** (entry.failures - 1), this.#deps.config.maxLoadBackoffMs);
        const message = `${describe(err)}`;
        entry.state = "failed";
        entry.failure = { message, retryAt: this.#now() + backoff };
        entry.loading = null;
        this.#deps.metrics.loads.inc({ result: "failed", reason });
        this.#deps.logger.warn({ model: mv.name, version: mv.version, reason, step: entry.step, err: message, retryInMs: backoff }, "model could not be loaded");
        throw new BusError("UNAVAILABLE", `model ${JSON.stringify(mv.name)} version ${mv.version} cannot be loaded: ${message} (it is tried again in ${Math.ceil(backoff / 1000)} s)`);
      },
    );
    // Waiters that gave up (load wait) or a warm-up nobody waits for must not leave it unhandled.
    entry.loading.catch(() => undefined);
    return entry.loading;
  }

  async #load(entry: Entry, mv: ResolvedVersion): Promise<ModelRuntime> {
    const { config, mlflow, pyenv, logger, metrics } = this.#deps;
    entry.step = "downloading the model";
    const modelDir = await fetchModelFiles(mlflow, mv, join(config.dataDir, "models"), config.maxModelBytes);
    entry.step = "building its Python environment";
    const requirements = modelRequirements({
      requirementsTxt: await readModelFile(modelDir, "requirements.txt"),
      condaYaml: await readModelFile(modelDir, "conda.yaml"),
    });
    if (!requirements.ok) throw new Error(requirements.problem);
    const lease = await pyenv.acquire(requirements.requirements, { reuseSatisfying: config.reuseEnvs }).catch((err: unknown) => {
      throw new Error(`its environment (from ${requirements.from}) could not be built: ${describe(err)}`, { cause: err });
    });
    entry.step = "starting its worker and loading the model";
    const home = join(config.dataDir, "home");
    await mkdir(home, { recursive: true });
    try {
      return await ModelRuntime.start({
        name: mv.name,
        version: mv.version,
        modelDir,
        lease,
        home,
        config,
        logger,
        metrics,
        onBroken: (err) => this.#broken(entry, err),
      });
    } catch (err) {
      await lease.release();
      throw err;
    }
  }

  /** A loaded model whose worker died and could not be loaded again: failed, with a backoff. */
  #broken(entry: Entry, err: Error): void {
    if (this.#entries.get(entry.key) !== entry) return;
    const runtime = entry.runtime;
    entry.failures++;
    entry.state = "failed";
    entry.runtime = null;
    entry.failure = { message: err.message, retryAt: this.#now() + Math.min(this.#deps.config.loadBackoffMs * 2 ** (entry.failures - 1), this.#deps.config.maxLoadBackoffMs) };
    this.#deps.metrics.loadedModels.set(this.#readyCount());
    void runtime?.close().catch(() => undefined);
  }

  /** Unloads least recently used idle models until the workers fit the memory budget. */
  async #enforceBudget(keep: string): Promise<void> {
    const ready = [...this.#entries.values()].filter((e) => e.state === "ready" && e.runtime);
    const sizes = new Map<string, number>();
    let total = 0;
    for (const e of ready) {
      const bytes = await (e.runtime as ModelRuntime).rssBytes();
      sizes.set(e.key, bytes);
      total += bytes;
    }
    this.#deps.metrics.workerMemoryBytes.set(total);
    const budget = this.#deps.config.memoryBudgetBytes;
    if (total <= budget) return;
    const candidates = ready
      .filter((e) => e.key !== keep && (e.runtime as ModelRuntime).idle)
      .sort((a, b) => (a.runtime as ModelRuntime).lastUsed - (b.runtime as ModelRuntime).lastUsed);
    for (const e of candidates) {
      if (total <= budget) break;
      if (this.#entries.get(e.key) !== e || e.state !== "ready") continue;
      this.#entries.delete(e.key);
      total -= sizes.get(e.key) ?? 0;
      this.#deps.metrics.evictions.inc();
      this.#deps.logger.info({ model: e.name, version: e.version, bytes: sizes.get(e.key), budget }, "unloading the least recently used model to stay within the memory budget");
      await e.runtime?.close().catch(() => undefined);
    }
    this.#deps.metrics.loadedModels.set(this.#readyCount());
    this.#deps.metrics.workerMemoryBytes.set(Math.max(0, total));
    if (total > budget) this.#deps.logger.warn({ total, budget }, "the loaded models exceed the memory budget; every other model is in use or already unloaded");
  }

  #readyCount(): number {
    let n = 0;
    for (const e of this.#entries.values()) if (e.state === "ready") n++;
    return n;
  }
}
