import { join } from "node:path";
import { connectBus } from "@asgard/bus";
import { exitIfConfigCheck, parseEnv, startService } from "@asgard/config";
import { migrateToLatest, openDatabase, redactUrl } from "@asgard/db";
import { createBlobStore } from "@asgard/storage";
import { createLogger, createMetricsRegistry, onShutdown, retryUntilReady, serveMetrics } from "@asgard/telemetry";
import { blobStoreFromEnv, configFromEnv, SchedulerEnv } from "./env.js";
import { migrations } from "./migrations/index.js";
import { createScheduler } from "./scheduler.js";

const SERVICE = "job-scheduler";

async function main(): Promise<void> {
  const env = parseEnv(SERVICE, SchedulerEnv);
  const blobConfig = blobStoreFromEnv(SERVICE, env);
  exitIfConfigCheck(SERVICE);
  const logger = createLogger(SERVICE, env.LOG_LEVEL);
  const metrics = createMetricsRegistry(SERVICE);
  const blobs = createBlobStore(blobConfig);
  const database = await openDatabase<unknown>(
    env.DATABASE_URL ? { url: env.DATABASE_URL } : { dataDir: join(env.ASGARD_DATA_DIR, "jobs-db") },
  );
  // The database may come up after us: wait for it (one log line per state change), never crash-loop.
  logger.info(
    { database: database.kind, at: env.DATABASE_URL ? redactUrl(env.DATABASE_URL) : join(env.ASGARD_DATA_DIR, "jobs-db") },
    "database opened",
  );
  const { applied } = await retryUntilReady("job database", () => migrateToLatest(database.db, migrations), { logger });
  if (applied.length > 0) logger.info({ applied }, "migrations applied");
  logger.info({ blobStore: blobs.kind }, "script store ready");
  const bus = await connectBus({ servers: env.NATS_URL, user: env.NATS_USER, pass: env.NATS_PASSWORD, name: SERVICE, logger, streamReplicas: env.NATS_STREAM_REPLICAS });
  const scheduler = createScheduler({ bus, database, blobs, logger, metrics, config: configFromEnv(env) });
  await scheduler.start();
  const metricsServer = await serveMetrics(metrics, { port: env.METRICS_PORT, host: env.METRICS_HOST });
  logger.info({ metricsPort: metricsServer.port }, "job-scheduler started");
  onShutdown(logger, async () => {
    await scheduler.stop();
    await metricsServer.close();
    await bus.close();
    await database.close();
  });
}

startService("job-scheduler", main);
