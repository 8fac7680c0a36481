import { connectBus } from "@asgard/bus";
import { exitIfConfigCheck, parseEnv, startService } from "@asgard/config";
import { buildOpenApiDocument } from "@asgard/contracts";
import { createLogger, createMetricsRegistry, onShutdown } from "@asgard/telemetry";
import { createGateway } from "./app.js";
import type { BusRef } from "./bus-ref.js";
import { GatewayEnv } from "./env.js";
import { isLoopbackBind } from "./local-mode.js";
import { createAuditLog } from "./audit.js";
import { storeBootstrapKey } from "./auth/bootstrap.js";
import { createKeyStore, type KeyStoreRef } from "./auth/key-store.js";
import { createStatusCache, type StatusCache } from "./status-cache.js";

const SERVICE = "gateway";

async function main(): Promise<void> {
  const env = parseEnv(SERVICE, GatewayEnv);
  exitIfConfigCheck(SERVICE);
  const logger = createLogger(SERVICE, env.LOG_LEVEL);
  const metrics = createMetricsRegistry(SERVICE);
  const bus: BusRef = { current: null };
  const localMode = isLoopbackBind(env.HOST);
  const keys: KeyStoreRef = { current: null };
  let statusCache: StatusCache | null = null;
  const audit = createAuditLog({ bus, logger });
  const app = await createGateway({
    bus,
    statusCache: { current: () => statusCache?.current() ?? null, start: async () => {}, stop: async () => {} },
    logger,
    metrics,
    openapi: buildOpenApiDocument(),
    statusRetryAfterSeconds: 2,
    bodyLimitBytes: env.BODY_LIMIT_BYTES,
    localMode,
    keys,
    audit,
    limits: {
      ratePerMinute: env.RATE_LIMIT_PER_MINUTE,
      localRatePerMinute: env.LOCAL_RATE_LIMIT_PER_MINUTE,
      rateWindowSeconds: env.RATE_LIMIT_WINDOW_SECONDS,
      logStreamsPerKey: env.LOG_STREAMS_PER_KEY,
      localLogStreams: env.LOCAL_LOG_STREAMS,
    },
    training: {
      uploadLimits: {
        minTimeoutSeconds: env.MIN_TIMEOUT_SECONDS,
        maxTimeoutSeconds: env.MAX_TIMEOUT_SECONDS,
        maxScriptBytes: env.MAX_SCRIPT_BYTES,
        resourceMaxima: {
          memoryMb: env.MAX_JOB_MEMORY_MB,
          cpus: env.MAX_JOB_CPUS ?? null,
          processes: env.MAX_JOB_PROCESSES,
          diskMb: env.MAX_JOB_DISK_MB,
        },
      },
    },
  });
  // Listen first: while NATS is unreachable the gateway answers /healthz and a 503 /readyz
  // instead of not answering at all.
  await app.listen({ port: env.PORT, host: env.HOST });
  const abort = new AbortController();
  onShutdown(logger, async () => {
    abort.abort();
    await app.close();
    await statusCache?.stop();
    await bus.current?.close();
  });
  bus.current = await connectBus({ servers: env.NATS_URL, user: env.NATS_USER, pass: env.NATS_PASSWORD, name: SERVICE, logger, signal: abort.signal, streamReplicas: env.NATS_STREAM_REPLICAS });
  statusCache = createStatusCache({ bus: bus.current, logger });
  await statusCache.start();
  const store = createKeyStore({ bus: bus.current, logger });
  await store.start();
  if (env.BOOTSTRAP_ADMIN_KEY) await storeBootstrapKey(store, env.BOOTSTRAP_ADMIN_KEY, audit);
  if (!localMode && !store.hasActiveKey()) {
    logger.fatal(
      { host: env.HOST },
      "refusing to serve on a non-loopback address without an API key: set BOOTSTRAP_ADMIN_KEY (`npm run keys -- bootstrap-secret` makes one), or bind 127.0.0.1 and create the first key with `npm run keys -- create --admin`",
    );
    process.exit(2);
  }
  keys.current = store;
}

startService("gateway", main);
