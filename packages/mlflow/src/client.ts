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
import { createTransport, type CallOptions, type Transport } from "./transport.js";
import { basicAuthorization, usersApi, type BasicCredentials, type UsersApi } from "./users.js";
import { DEFAULT_WORKSPACE, WORKSPACE_HEADER, workspacesApi, type WorkspacesApi } from "./workspaces.js";

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
   * Basic-auth credentials for a server running MLflow's basic-auth app; sent on every call
   * (workspace clients included), never logged. Omitted: calls carry none (a server without auth).
   */
  auth?: BasicCredentials;
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
    ArtifactsApi,
    WorkspacesApi,
    UsersApi {
  /** GET /health: true on 200, false on another HTTP answer; MlflowUnavailableError when no answer. */
  health(o?: CallOptions): Promise<boolean>;
  /** Like health(), but never throws: reports the outcome and the round-trip time. */
  ping(o?: CallOptions): Promise<PingResult>;
  /** The server's MLflow version, e.g. "3.17.2". */
  version(o?: CallOptions): Promise<string>;
  /**
   * A client whose every call is scoped to the MLflow workspace `name` (a tenant), over the
   * same connection pool. Closing it leaves the pool open. The default workspace is reached
   * by naming none: a server with workspaces serves `default` to such calls, and a server
   * without them (which refuses the workspace header) serves its only one.
   */
  inWorkspace(name: string): MlflowClient;
  /** Closes the default connection pool; later calls fail. */
  close(): Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 10_000;

export function createMlflowClient(opts: MlflowClientOptions): MlflowClient {
  const t = createTransport({
    baseUrl: opts.baseUrl,
    timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    headers: opts.auth ? { ...opts.headers, authorization: basicAuthorization(opts.auth) } : (opts.headers ?? {}),
    dispatcher: opts.dispatcher,
  });
  return clientOver(t, t);
}

/** `t`: this client's calls; `base`: the unscoped transport that workspace clients derive from. */
function clientOver(t: Transport, base: Transport): MlflowClient {
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
    ...workspacesApi(t),
    ...usersApi(t),
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
    inWorkspace: (name) => clientOver(base.withHeaders(name === DEFAULT_WORKSPACE ? {} : { [WORKSPACE_HEADER]: name }), base),
    close: () => t.close(),
  };
}
