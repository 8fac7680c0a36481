import { connectBus } from "@asgard/bus";
import { exitIfConfigCheck, exitOnConfigError, parseEnv } from "@asgard/config";
import { buildOpenApiDocument } from "@asgard/contracts";
import { createLogger, createMetricsRegistry, onShutdown } from "@asgard/telemetry";
import { createGateway } from "./app.js";
import type { BusRef } from "./bus-ref.js";
import { GatewayEnv } from "./env.js";
import { isLoopbackBind } from "./local-mode.js";
import { createStatusCache, type StatusCache } from "./status-cache.js";

const SERVICE = "gateway";

async function main(): Promise<void> {
  const env = parseEnv(SERVICE, GatewayEnv);
  exitIfConfigCheck(SERVICE);
  const logger = createLogger(SERVICE, env.LOG_LEVEL);
  const metrics = createMetricsRegistry(SERVICE);
  const bus: BusRef = { current: null };
  const localMode = isLoopbackBind(env.HOST);
  if (!localMode) {
    logger.warn({ host: env.HOST }, "the API is bound to a non-loopback address and answers every caller that reaches it: put it behind a network policy that admits only trusted clients");
  }
  let statusCache: StatusCache | null = null;
  const app = await createGateway({
    bus,
    statusCache: { current: () => statusCache?.current() ?? null, start: async () => {}, stop: async () => {} },
    logger,
    metrics,
    openapi: buildOpenApiDocument(),
    statusRetryAfterSeconds: 2,
    bodyLimitBytes: env.BODY_LIMIT_BYTES,
    localMode,
    training: {
      uploadLimits: {
        minTimeoutSeconds: env.MIN_TIMEOUT_SECONDS,
        maxTimeoutSeconds: env.MAX_TIMEOUT_SECONDS,
        maxScriptBytes: env.MAX_SCRIPT_BYTES,
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
  bus.current = await connectBus({ servers: env.NATS_URL, name: SERVICE, logger, signal: abort.signal });
  statusCache = createStatusCache({ bus: bus.current, logger });
  await statusCache.start();
}

main().catch(exitOnConfigError).catch((err: unknown) => {
  process.stderr.write(`gateway: failed to start: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
