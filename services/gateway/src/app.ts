import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from "fastify";
import { BusError } from "@asgard/bus";
import type { Logger, Registry } from "@asgard/telemetry";
import { formatTraceparent, Histogram, TRACEPARENT_HEADER } from "@asgard/telemetry";
import { HTTP_STATUS, HttpError } from "./http-errors.js";
import type { BusRef } from "./bus-ref.js";
import { createAuditLog, installAudit, type AuditLog } from "./audit.js";
import { enforceApiKeys, identifyCallers } from "./auth/authenticate.js";
import type { KeyStoreRef } from "./auth/key-store.js";
import { useDepthCheckedJson } from "./json-body.js";
import { enforceLocalMode } from "./local-mode.js";
import { installLimits } from "./limits/install.js";
import type { RateWindows } from "./limits/rate-windows.js";
import type { LimitSettings } from "./limits/settings.js";
import { trackRoutes } from "./method-not-allowed.js";
import { consoleRoutes } from "./routes/console.js";
import { docsRoutes } from "./routes/docs.js";
import { healthRoutes } from "./routes/health.js";
import { inferenceRoutes } from "./routes/inference.js";
import { invocationRoutes } from "./routes/invocations.js";
import { keyRoutes } from "./routes/keys.js";
import { modelRoutes } from "./routes/models.js";
import { registryRoutes } from "./routes/registry.js";
import { statusRoutes } from "./routes/status.js";
import { trainingJobRoutes } from "./routes/training-jobs.js";
import { trainingLogRoutes } from "./routes/training-logs.js";
import { trainingUploadRoutes } from "./routes/training-upload.js";
import type { StatusCache } from "./status-cache.js";
import { createTrainingMetrics } from "./training-metrics.js";
import { requestTrace, tracedChildLogger } from "./trace.js";
import { DEFAULT_LOG_STREAM_OPTIONS, type TrainingRouteOptions } from "./training-options.js";

export interface GatewayDeps {
  /** Filled once NATS answers; until then routes that need it answer 503. */
  bus: BusRef;
  statusCache: StatusCache;
  logger: Logger;
  metrics: Registry;
  openapi: object;
  /** Seconds a client is told to wait when there is no status snapshot yet. */
  statusRetryAfterSeconds: number;
  /** Largest accepted request body in bytes. */
  bodyLimitBytes: number;
  /** Upload limits and log-stream pacing; the contract's defaults when absent. */
  training?: TrainingRouteOptions;
  /**
   * Local mode (bound to loopback, no API keys): refuse requests addressed to other names
   * (DNS rebinding) and what only a foreign web page sends (see local-mode.ts).
   */
  localMode?: boolean;
  /**
   * The API keys, once loaded. Every process that serves the API passes one (main.ts does);
   * without it no route checks keys, which only tests of other concerns rely on.
   */
  keys?: KeyStoreRef;
  /** Per-key limits; `DEFAULT_LIMITS` for whatever is left out. */
  limits?: Partial<LimitSettings>;
  /** Where audit records go; one over `bus` and `logger` when absent. */
  audit?: AuditLog;
  /** This replica's name among the gateways sharing rate counts; a random one when absent. */
  replicaId?: string;
  /** The request counts (tests look into them); made from `limits.rateWindowSeconds` when absent. */
  rateWindows?: RateWindows;
}

/**
 * Longest path parameter. Fastify's default (100) turns a longer job id into a routing
 * miss, which would be answered as if the method were wrong; ids are checked by the routes.
 */
const MAX_PARAM_LENGTH = 2048;

/** Builds the HTTP edge (not listening): tests call `inject()`, main.ts calls `listen()`. */
export async function createGateway(deps: GatewayDeps): Promise<FastifyInstance> {
  const app = Fastify({
    // pino's Logger and Fastify's logger type differ only in generics; the instance is the same.
    loggerInstance: deps.logger as unknown as FastifyBaseLogger,
    // One line per request would cost more than answering /mlops/status; metrics count requests instead.
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: tracedChildLogger,
    bodyLimit: deps.bodyLimitBytes,
    return503OnClosing: true,
    requestTimeout: 120_000,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
  });
  const routes = trackRoutes(app);
  useDepthCheckedJson(app);
  if (deps.localMode) enforceLocalMode(app);
  identifyCallers(app);
  if (deps.keys) enforceApiKeys(app, { keys: deps.keys, localMode: deps.localMode ?? false });
  installAudit(app, deps.audit ?? createAuditLog({ bus: deps.bus, logger: deps.logger }));
  await installLimits(app, deps);

  const duration = new Histogram({
    name: "asgard_http_request_duration_seconds",
    help: "Gateway request duration by route and status",
    labelNames: ["method", "route", "status"],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [deps.metrics],
  });
  // The request's span, so a client (or a proxy's log) can find the trace the request started.
  app.addHook("onRequest", (req, reply, done) => {
    void reply.header(TRACEPARENT_HEADER, formatTraceparent(requestTrace(req)));
    done();
  });
  app.addHook("onResponse", async (req, reply) => {
    duration.observe(
      { method: req.method, route: req.routeOptions.url ?? "unmatched", status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  app.setErrorHandler((err: FastifyError | HttpError | BusError, req, reply) => {
    const rendered = render(err);
    if (rendered.status >= 500 && rendered.status !== 503) req.log.error({ err }, "request failed");
    if (rendered.retryAfter !== undefined) void reply.header("retry-after", String(rendered.retryAfter));
    for (const [k, v] of Object.entries(rendered.headers)) void reply.header(k, v);
    return reply.code(rendered.status).send(rendered.body);
  });

  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split("?")[0] ?? req.url;
    const allowed = routes.allowedMethods(path);
    if (allowed.length > 0 && !allowed.includes(req.method)) {
      return reply
        .code(405)
        .header("allow", allowed.join(", "))
        .send({ error: "BAD_REQUEST", message: `${req.method} is not allowed on ${path}; use ${allowed.join(", ")}` });
    }
    return reply.code(404).send({ error: "NOT_FOUND", message: `no route ${req.method} ${path}; see /docs for the API` });
  });

  healthRoutes(app, { ...deps, ...(deps.keys ? { keys: deps.keys } : {}) });
  statusRoutes(app, { statusCache: deps.statusCache, retryAfterSeconds: deps.statusRetryAfterSeconds });
  await docsRoutes(app, { document: deps.openapi });
  consoleRoutes(app);
  const trainingMetrics = createTrainingMetrics(deps.metrics);
  await trainingUploadRoutes(app, { bus: deps.bus, limits: deps.training?.uploadLimits ?? {}, metrics: trainingMetrics });
  trainingJobRoutes(app, { bus: deps.bus });
  registryRoutes(app, { bus: deps.bus });
  modelRoutes(app, { bus: deps.bus });
  inferenceRoutes(app, { bus: deps.bus });
  invocationRoutes(app, { bus: deps.bus });
  if (deps.keys) keyRoutes(app, { keys: deps.keys });
  trainingLogRoutes(app, {
    bus: deps.bus,
    options: { ...DEFAULT_LOG_STREAM_OPTIONS, ...deps.training?.logStream },
    metrics: trainingMetrics,
    logger: deps.logger,
  });
  return app;
}

interface Rendered {
  status: number;
  body: object;
  retryAfter?: number;
  headers: Record<string, string>;
}

function render(err: FastifyError | HttpError | BusError): Rendered {
  if (err instanceof HttpError) {
    return { status: err.status, body: err.body(), retryAfter: err.extra.retryAfterSeconds, headers: err.extra.headers ?? {} };
  }
  if (err instanceof BusError) {
    const status = HTTP_STATUS[err.code];
    // The service's own wait (a limit that frees up) wins; a service that is away gets a short one.
    const retryAfter = err.retryAfterSeconds ?? (err.code === "UNAVAILABLE" ? 2 : undefined);
    const message = status >= 500 && status !== 503 ? "internal error" : err.message;
    return {
      status,
      body: {
        error: err.code,
        message,
        ...(err.issues ? { issues: err.issues } : {}),
        ...(err.retryAfterSeconds !== undefined ? { retry_after_seconds: err.retryAfterSeconds } : {}),
      },
      retryAfter,
      headers: {},
    };
  }
  // Fastify's own client errors (bad JSON, body too large, wrong content type) keep their 4xx.
  const status = typeof err.statusCode === "number" ? err.statusCode : 500;
  if (status === 413) {
    return { status, body: { error: "PAYLOAD_TOO_LARGE", message: `request body too large: ${err.message}` }, headers: {} };
  }
  if (status === 415) {
    return { status, body: { error: "BAD_REQUEST", message: `${err.message}; send Content-Type: application/json` }, headers: {} };
  }
  if (err.code === "FST_ERR_CTP_INVALID_JSON_BODY" || err.code === "FST_ERR_CTP_EMPTY_JSON_BODY") {
    const what = err.code === "FST_ERR_CTP_EMPTY_JSON_BODY" ? "is empty" : "is not valid JSON (keys named __proto__ or constructor.prototype are refused too)";
    return { status: 400, body: { error: "BAD_REQUEST", message: `The request body ${what}; send a JSON object with Content-Type: application/json` }, headers: {} };
  }
  if (status >= 400 && status < 500) {
    return { status, body: { error: "BAD_REQUEST", message: err.message }, headers: {} };
  }
  return { status: 500, body: { error: "INTERNAL", message: "internal error" }, headers: {} };
}
