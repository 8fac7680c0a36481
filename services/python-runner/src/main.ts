import { connectBus } from "@asgard/bus";
import { exitOnConfigError, parseEnv } from "@asgard/config";
import { createLogger, createMetricsRegistry, onShutdown, serveMetrics } from "@asgard/telemetry";
import { RunnerEnv } from "./env.js";
import { createRunner } from "./runner.js";

const SERVICE = "python-runner";

async function main(): Promise<void> {
  const env = parseEnv(SERVICE, RunnerEnv);
  const logger = createLogger(SERVICE, env.LOG_LEVEL);
  const metrics = createMetricsRegistry(SERVICE);
  const bus = await connectBus({ servers: env.NATS_URL, name: SERVICE, logger });
  const service = createRunner({ bus, logger });
  await service.start();
  const metricsServer = await serveMetrics(metrics, { port: env.METRICS_PORT });
  onShutdown(logger, async () => {
    await service.stop();
    await metricsServer.close();
    await bus.close();
  });
}

main().catch(exitOnConfigError).catch((err: unknown) => {
  process.stderr.write(`python-runner: failed to start: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
