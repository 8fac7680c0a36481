import { performance } from "node:perf_hooks";
import type { Dispatcher } from "undici";
import { aliasesApi, type AliasesApi } from "./aliases.js";
import { artifactsApi, type ArtifactsApi } from "./artifacts.js";
import { errorFromResponse } from "./errors.js";
import { experimentsApi, type ExperimentsApi } from "./experiments.js";
import { loggedModelsApi, type LoggedModelsApi } from "./logged-models.js";
import { modelVersionsApi, type ModelVersionsApi } from "./model-versions.js";
import { registeredModelsApi, type RegisteredModelsApi } from "./registered-models.js";
import { runsApi, type RunsApi } from "./runs.js";
import { createTransport, type CallOptions } from "./transport.js";

export interface MlflowClientOptions {
  /**
   * The tracking server, e.g. `http://mlflow:5000`, optionally with a path prefix.
   * Credentials in the URL are sent as Basic auth and never appear in error messages.
   */
  baseUrl: string;
  /** Default per-call timeout, ms (default 10 s). Every call is bounded by it or by its own `timeoutMs`. */
  timeoutMs?: number;
  /** Extra headers for every call, e.g. Authorization. Their values are never logged or put in errors. */
  headers?: Record<string, string>;
  /**
   * The undici Agent/Pool to use. Default: a keep-alive Pool for `baseUrl`, closed by
   * `close()`. A dispatcher passed in stays open: its owner closes it.
   */
  dispatcher?: Dispatcher;
}

/** Result of {@link MlflowClient.ping}; never an exception. */
export interface PingResult {
  ok: boolean;
  latencyMs: number;
  /** Why the server is not healthy; null when `ok`. */
  error: string | null;
}

/**
 * A typed client for MLflow 3's REST API. Returned objects keep MLflow's snake_case
 * field names (they are the REST shapes), with int64s as numbers. Every method rejects
 * with an {@link MlflowError} subclass whose `code` is the platform's error code.
 */
export interface MlflowClient
  extends ExperimentsApi,
    RunsApi,
    LoggedModelsApi,
    RegisteredModelsApi,
    ModelVersionsApi,
    AliasesApi,
    ArtifactsApi {
  /** GET /health: true on 200, false on another HTTP answer; MlflowUnavailableError when no answer. */
  health(o?: CallOptions): Promise<boolean>;
  /** Like health(), but never throws: reports the outcome and the round-trip time. */
  ping(o?: CallOptions): Promise<PingResult>;
  /** The server's MLflow version, e.g. "3.17.2". */
  version(o?: CallOptions): Promise<string>;
  /** Closes the default connection pool; later calls fail. */
  close(): Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 10_000;

export function createMlflowClient(opts: MlflowClientOptions): MlflowClient {
  const t = createTransport({
    baseUrl: opts.baseUrl,
    timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    headers: opts.headers ?? {},
    dispatcher: opts.dispatcher,
  });

  async function health(o?: CallOptions): Promise<boolean> {
    const res = await t.send({ method: "GET", path: "/health" }, o);
    return res.status === 200;
  }

  return {
    ...experimentsApi(t),
    ...runsApi(t),
    ...loggedModelsApi(t),
    ...registeredModelsApi(t),
    ...modelVersionsApi(t),
    ...aliasesApi(t),
    ...artifactsApi(t),
    health,
    async ping(o) {
      const started = performance.now();
      try {
        const res = await t.send({ method: "GET", path: "/health" }, o);
        const latencyMs = performance.now() - started;
        if (res.status === 200) return { ok: true, latencyMs, error: null };
        return { ok: false, latencyMs, error: `MLflow /health answered HTTP ${res.status}` };
      } catch (err) {
        return { ok: false, latencyMs: performance.now() - started, error: err instanceof Error ? err.message : String(err) };
      }
    },
    async version(o) {
      const res = await t.send({ method: "GET", path: "/version" }, o);
      const text = res.body.toString("utf8");
      if (res.status !== 200) throw errorFromResponse(res.operation, res.status, text, res.elapsedMs);
      return text.trim();
    },
    close: () => t.close(),
  };
}
