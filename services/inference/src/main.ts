import { connectBus } from "@asgard/bus";
import { exitIfConfigCheck, exitOnConfigError, parseEnv } from "@asgard/config";
import { createLogger, createMetricsRegistry, onShutdown, serveMetrics } from "@asgard/telemetry";
import { InferenceEnv } from "./env.js";
import { createInference } from "./inference.js";

const SERVICE = "inference";

async function main(): Promise<void> {
  const env = parseEnv(SERVICE, InferenceEnv);
  exitIfConfigCheck(SERVICE);
  const logger = createLogger(SERVICE, env.LOG_LEVEL);
  const metrics = createMetricsRegistry(SERVICE);
  const bus = await connectBus({ servers: env.NATS_URL, name: SERVICE, logger });
  const service = createInference({ bus, logger });
  await service.start();
  const metricsServer = await serveMetrics(metrics, { port: env.METRICS_PORT });
  onShutdown(logger, async () => {
    await service.stop();
    await metricsServer.close();
    await bus.close();
  });
}

main().catch(exitOnConfigError).catch((err: unknown) => {
  process.stderr.write(`inference: failed to start: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
