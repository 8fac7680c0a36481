import { join } from "node:path";
import { BusError } from "@asgard/bus";
import type { ServedBy, Tenant } from "@asgard/contracts";
import type { MlflowClient } from "@asgard/mlflow";
import { envScope, type PyEnvManager } from "@asgard/pyenv";
import { backoffDelayMs } from "@asgard/retry";
import type { Logger } from "@asgard/telemetry";
import { compileToOnnx } from "./compile.js";
import type { InferenceConfig } from "./config.js";
import { describe } from "./errors.js";
import type { InferenceMetrics } from "./metrics.js";
import { fetchModelFiles, readModelFile } from "./model-files.js";
import { modelRequirements } from "./model-requirements.js";
import { ModelRuntime, type CompileStatus } from "./model-runtime.js";
import type { ResolvedVersion } from "./resolver.js";

/** Why a load was started: a request needed it, the registry announced it, or a worker died. */
export type LoadReason = "request" | "warm" | "crash";

/** Where a load stands, for the message a waiting request gets. */
type Step = "downloading the model" | "building its Python environment" | "starting its worker and loading the model";

/**
 * The life of one version in this replica:
 *
 *   (none) ──load──▶ loading ──ok──▶ ready ──worker lost for good──▶ failed
 *                       │                                              │
 *                       └──error──▶ failed ◀───────────────────────────┘
 *                                    │ after its backoff
 *                                    └──load──▶ loading
 *
 * Each state holds exactly what is valid in it; only the transition methods change it.
 */
type EntryState =
  | { kind: "loading"; step: Step; done: Promise<ModelRuntime> }
  | { kind: "ready"; runtime: ModelRuntime }
  | { kind: "failed"; message: string; retryAt: number };

interface Entry {
  key: string;
  tenant: Tenant;
  name: string;
  version: string;
  state: EntryState;
  /** Consecutive failed loads; the backoff doubles with each. */
  failures: number;
}

/** A loaded model as reported by `stats()`. */
export interface LoadedModel {
  tenant: Tenant;
  name: string;
  version: string;
  pid: number | undefined;
  rssBytes: number;
  lastUsedAt: string;
  /** The path that serves it now. */
  servedBy: ServedBy;
  /** Where its compiled path stands, with the reason when it stays on Python. */
  compile: CompileStatus;
}

/** A version as this replica holds it, for `GET …/serving`. */
export type VersionState =
  | { kind: "absent" }
  | { kind: "loading"; step: string }
  | { kind: "failed"; message: string }
  | { kind: "ready"; servedBy: ServedBy; compile: CompileStatus };

export interface PoolDeps {
  /** Unscoped: a version's files are fetched through `mlflow.inWorkspace(its tenant)`. */
  mlflow: MlflowClient;
  pyenv: PyEnvManager;
  config: InferenceConfig;
  logger: Logger;
  metrics: InferenceMetrics;
  now?: () => number;
}

/** One loaded model per tenant, name and version: two tenants' `churn` version 1 are two models. */
const keyOf = (tenant: Tenant, name: string, version: string) => `${tenant}\u0000${name}\u0000${version}`;

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
  #refusal: string | null = null;
  /** Conversions run one at a time: each loads a model and converters beside the serving workers. */
  #compiles: Promise<void> = Promise.resolve();
  readonly #stopCompiles = new AbortController();

  constructor(deps: PoolDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
  }

  /** The loaded runtime of a version: loads it if needed, waiting at most `loadWaitMs`. */
  async get(mv: ResolvedVersion): Promise<ModelRuntime> {
    const entry = this.#entries.get(keyOf(mv.tenant, mv.name, mv.version));
    if (entry?.state.kind === "ready") return entry.state.runtime;
    const loading = this.#ensureLoading(entry, mv, "request");
    let timer: NodeJS.Timeout | undefined;
    const waitMs = this.#deps.config.loadWaitMs;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const step = this.loadingStep(mv) ?? "loading";
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
    const entry = this.#entries.get(keyOf(mv.tenant, mv.name, mv.version));
    if (entry && (entry.state.kind !== "failed" || this.#now() < entry.state.retryAt)) return;
    this.#ensureLoading(entry, mv, "warm").catch(() => undefined);
  }

  /** What a load of the version is doing now (downloading, building…), or null when none runs. */
  loadingStep(mv: Pick<ResolvedVersion, "tenant" | "name" | "version">): string | null {
    const state = this.#entries.get(keyOf(mv.tenant, mv.name, mv.version))?.state;
    return state?.kind === "loading" ? state.step : null;
  }

  /** True when the version is loaded (tests, and the warm-up's log line). */
  isLoaded(mv: Pick<ResolvedVersion, "tenant" | "name" | "version">): boolean {
    return this.#entries.get(keyOf(mv.tenant, mv.name, mv.version))?.state.kind === "ready";
  }

  /** What this replica holds of a version (nothing is loaded for it): see serving.ts. */
  stateOf(mv: Pick<ResolvedVersion, "tenant" | "name" | "version">): VersionState {
    const state = this.#entries.get(keyOf(mv.tenant, mv.name, mv.version))?.state;
    if (state === undefined) return { kind: "absent" };
    if (state.kind === "loading") return { kind: "loading", step: state.step };
    if (state.kind === "failed") return { kind: "failed", message: state.message };
    return { kind: "ready", servedBy: state.runtime.servedBy, compile: { ...state.runtime.compileStatus } };
  }

  async loaded(): Promise<LoadedModel[]> {
    const out: LoadedModel[] = [];
    for (const e of this.#entries.values()) {
      if (e.state.kind !== "ready") continue;
      const runtime = e.state.runtime;
      out.push({ tenant: e.tenant, name: e.name, version: e.version, pid: runtime.workerPid, rssBytes: await runtime.rssBytes(), lastUsedAt: new Date(runtime.lastUsed).toISOString(), servedBy: runtime.servedBy, compile: { ...runtime.compileStatus } });
    }
    return out;
  }

  /** From now on every load fails at once with `reason` (the host cannot confine model workers). */
  refuseLoads(reason: string): void {
    this.#refusal = reason;
  }

  /** Unloads every model (shutdown). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#stopCompiles.abort();
    const entries = [...this.#entries.values()];
    this.#entries.clear();
    await Promise.all(entries.map(async (e) => {
      const runtime = e.state.kind === "ready" ? e.state.runtime : e.state.kind === "loading" ? await e.state.done.catch(() => null) : null;
      await runtime?.close().catch((err: unknown) => this.#deps.logger.warn({ tenant: e.tenant, model: e.name, version: e.version, err: describe(err) }, "closing a model failed"));
    }));
    // Closing a runtime kills its conversion worker: this ends quickly.
    await this.#compiles;
    this.#deps.metrics.loadedModels.set(0);
  }

  /** The load of a version: the running one, a refusal during the backoff, or a new one. */
  #ensureLoading(existing: Entry | undefined, mv: ResolvedVersion, reason: LoadReason): Promise<ModelRuntime> {
    if (this.#closed) return Promise.reject(shuttingDown());
    if (this.#refusal !== null) return Promise.reject(new BusError("UNAVAILABLE", `model ${JSON.stringify(mv.name)} version ${mv.version} cannot be loaded: ${this.#refusal}`));
    if (existing?.state.kind === "loading") return existing.state.done;
    if (existing?.state.kind === "ready") return Promise.resolve(existing.state.runtime);
    if (existing?.state.kind === "failed" && this.#now() < existing.state.retryAt) {
      const seconds = Math.max(1, Math.ceil((existing.state.retryAt - this.#now()) / 1000));
      return Promise.reject(cannotLoad(mv, existing.state.message, seconds));
    }
    // A new version starts as a failure that is due: the load below replaces it at once.
    const entry: Entry = existing ?? {
      key: keyOf(mv.tenant, mv.name, mv.version),
      tenant: mv.tenant,
      name: mv.name,
      version: mv.version,
      state: { kind: "failed", message: "not loaded", retryAt: 0 },
      failures: 0,
    };
    this.#entries.set(entry.key, entry);
    const done = this.#runLoad(entry, mv, reason);
    entry.state = { kind: "loading", step: "downloading the model", done };
    // Waiters that gave up (load wait) or a warm-up nobody waits for must not leave it unhandled.
    done.catch(() => undefined);
    return done;
  }

  /** One load, ending in the transition to `ready` or to `failed`. */
  async #runLoad(entry: Entry, mv: ResolvedVersion, reason: LoadReason): Promise<ModelRuntime> {
    // Let the caller record `loading` before the first step reports.
    await Promise.resolve();
    const started = this.#now();
    let runtime: ModelRuntime;
    try {
      runtime = await this.#load(entry, mv, (step) => this.#stepTo(entry, step));
    } catch (err) {
      throw this.#toFailed(entry, describe(err), reason);
    }
    if (this.#entries.get(entry.key) !== entry || this.#closed) {
      // Shut down while loading: nobody will serve from it (close() waits for this).
      await runtime.close();
      throw shuttingDown();
    }
    this.#toReady(entry, runtime);
    this.#deps.metrics.loads.inc({ result: "ok", reason });
    this.#deps.logger.info({ tenant: mv.tenant, model: mv.name, version: mv.version, reason, ms: this.#now() - started }, "model ready");
    void this.#enforceBudget(entry.key);
    return runtime;
  }

  /** loading → loading at a later step. */
  #stepTo(entry: Entry, step: Step): void {
    if (entry.state.kind === "loading") entry.state = { ...entry.state, step };
  }

  /** loading → ready. */
  #toReady(entry: Entry, runtime: ModelRuntime): void {
    entry.state = { kind: "ready", runtime };
    entry.failures = 0;
    this.#deps.metrics.loadedModels.set(this.#readyCount());
  }

  /** loading → failed, with the next backoff; returns the error waiting requests get. */
  #toFailed(entry: Entry, message: string, reason: LoadReason): BusError {
    const step = entry.state.kind === "loading" ? entry.state.step : undefined;
    const backoff = this.#nextBackoff(entry);
    entry.state = { kind: "failed", message, retryAt: this.#now() + backoff };
    this.#deps.metrics.loads.inc({ result: "failed", reason });
    this.#deps.logger.warn({ tenant: entry.tenant, model: entry.name, version: entry.version, reason, step, err: message, retryInMs: backoff }, "model could not be loaded");
    return cannotLoad(entry, message, Math.ceil(backoff / 1000));
  }

  /** Counts a failure and returns the pause before the next load: doubled per failure, capped. */
  #nextBackoff(entry: Entry): number {
    entry.failures++;
    const { loadBackoffMs, maxLoadBackoffMs } = this.#deps.config;
    return backoffDelayMs(entry.failures, { initialMs: loadBackoffMs, maxMs: maxLoadBackoffMs });
  }

  async #load(entry: Entry, mv: ResolvedVersion, stepTo: (step: Step) => void): Promise<ModelRuntime> {
    const { config, mlflow, pyenv, logger, metrics } = this.#deps;
    stepTo("downloading the model");
    const modelDir = await fetchModelFiles(mlflow.inWorkspace(mv.tenant), mv, join(config.dataDir, "models"), config.maxModelBytes);
    stepTo("building its Python environment");
    const requirements = modelRequirements({
      requirementsTxt: await readModelFile(modelDir, "requirements.txt"),
      condaYaml: await readModelFile(modelDir, "conda.yaml"),
    });
    if (!requirements.ok) throw new Error(requirements.problem);
    const lease = await pyenv.acquire(requirements.requirements, { reuseSatisfying: config.reuseEnvs, scope: envScope(mv.tenant) }).catch((err: unknown) => {
      throw new Error(`its environment (from ${requirements.from}) could not be built: ${describe(err)}`, { cause: err });
    });
    stepTo("starting its worker and loading the model");
    try {
      return await ModelRuntime.start({
        tenant: mv.tenant,
        name: mv.name,
        version: mv.version,
        modelDir,
        lease,
        config,
        logger,
        metrics,
        onBroken: (err) => this.#brokenToFailed(entry, err),
        ...(config.compile === "onnx" ? { onFirstPrediction: (runtime: ModelRuntime) => this.#compile(runtime) } : {}),
      });
    } catch (err) {
      await lease.release();
      throw err;
    }
  }

  /** Queues the version's conversion to ONNX behind any other (see compile.ts). */
  #compile(runtime: ModelRuntime): void {
    const { pyenv, config, logger } = this.#deps;
    this.#compiles = this.#compiles.then(() => (this.#closed ? undefined : compileToOnnx(runtime, { pyenv, config, logger, signal: this.#stopCompiles.signal })));
  }

  /** ready → failed: the worker died and could not be loaded again; the next load waits out a backoff. */
  #brokenToFailed(entry: Entry, err: Error): void {
    if (this.#entries.get(entry.key) !== entry || entry.state.kind !== "ready") return;
    const runtime = entry.state.runtime;
    entry.state = { kind: "failed", message: err.message, retryAt: this.#now() + this.#nextBackoff(entry) };
    this.#deps.metrics.loadedModels.set(this.#readyCount());
    void runtime.close().catch(() => undefined);
  }

  /** Unloads least recently used idle models until the workers fit the memory budget. */
  async #enforceBudget(keep: string): Promise<void> {
    const ready: Array<{ entry: Entry; runtime: ModelRuntime }> = [];
    for (const entry of this.#entries.values()) if (entry.state.kind === "ready") ready.push({ entry, runtime: entry.state.runtime });
    const sizes = new Map<string, number>();
    let total = 0;
    for (const { entry, runtime } of ready) {
      const bytes = await runtime.rssBytes();
      sizes.set(entry.key, bytes);
      total += bytes;
    }
    this.#deps.metrics.workerMemoryBytes.set(total);
    const budget = this.#deps.config.memoryBudgetBytes;
    if (total <= budget) return;
    const candidates = ready
      .filter(({ entry, runtime }) => entry.key !== keep && runtime.idle)
      .sort((a, b) => a.runtime.lastUsed - b.runtime.lastUsed);
    for (const { entry: e, runtime } of candidates) {
      if (total <= budget) break;
      if (this.#entries.get(e.key) !== e || e.state.kind !== "ready" || e.state.runtime !== runtime) continue;
      this.#entries.delete(e.key);
      total -= sizes.get(e.key) ?? 0;
      this.#deps.metrics.evictions.inc();
      this.#deps.logger.info({ tenant: e.tenant, model: e.name, version: e.version, bytes: sizes.get(e.key), budget }, "unloading the least recently used model to stay within the memory budget");
      await runtime.close().catch(() => undefined);
    }
    this.#deps.metrics.loadedModels.set(this.#readyCount());
    this.#deps.metrics.workerMemoryBytes.set(Math.max(0, total));
    if (total > budget) this.#deps.logger.warn({ total, budget }, "the loaded models exceed the memory budget; every other model is in use or already unloaded");
  }

  #readyCount(): number {
    let n = 0;
    for (const e of this.#entries.values()) if (e.state.kind === "ready") n++;
    return n;
  }
}

function shuttingDown(): BusError {
  return new BusError("UNAVAILABLE", "the inference service is shutting down; retry shortly");
}

function cannotLoad(mv: { name: string; version: string }, message: string, retryInSeconds: number): BusError {
  return new BusError("UNAVAILABLE", `model ${JSON.stringify(mv.name)} version ${mv.version} cannot be loaded: ${message} (it is tried again in ${retryInSeconds} s)`);
}
