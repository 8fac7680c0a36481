import type { Bus } from "@asgard/bus";
import type { BlobStore } from "@asgard/storage";
import type { Logger } from "@asgard/telemetry";
import type { SchedulerConfig } from "./config.js";
import type { SchedulerDb } from "./db/schema.js";
import type { SchedulerMetrics } from "./metrics.js";

/** What every endpoint, consumer and loop of the scheduler works with. */
export interface SchedulerContext {
  db: SchedulerDb;
  bus: Bus;
  blobs: BlobStore;
  logger: Logger;
  config: SchedulerConfig;
  metrics: SchedulerMetrics;
  now(): Date;
  /** Asks the outbox relay for a pass now (a publish just failed). */
  wakeRelay(): void;
}

/** Key prefix of stored scripts: `scripts/<sha256>`. */
export const SCRIPTS_PREFIX = "scripts";
