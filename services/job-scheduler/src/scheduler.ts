import { CONSUMERS, RPC, STREAMS, type DatabaseHealth } from "@asgard/contracts";
import type { Bus, Consumption } from "@asgard/bus";
import type { Database } from "@asgard/db";
import type { BlobStore } from "@asgard/storage";
import { Registry, type Logger, type Periodic } from "@asgard/telemetry";
import { createAdmissions } from "./admission.js";
import { resolveConfig, type SchedulerConfig } from "./config.js";
import { consumeJobLogs } from "./consumers/job-logs.js";
import { consumeRegistrations } from "./consumers/registrations.js";
import { consumeRunCompleted } from "./consumers/run-completed.js";
import type { SchedulerContext } from "./context.js";
import type { SchedulerDb } from "./db/schema.js";
import { serveJobEndpoints } from "./endpoints/index.js";
import { watchHeartbeats } from "./heartbeats.js";
import { createSchedulerMetrics } from "./metrics.js";
import { startReconciler } from "./reconciler.js";
import { createPublishedMarks } from "./outbox.js";
import { startRelay } from "./relay.js";
import { createScriptStore } from "./script-store.js";

export interface SchedulerDeps {
  bus: Bus;
  /** The job database, migrated with this package's `migrations`. */
  database: Database<unknown>;
  /** Where scripts are kept, content-addressed under `scripts/<sha256>`. */
  blobs: BlobStore;
  logger: Logger;
  /** Registry for the scheduler's metrics; a private one when absent. */
  metrics?: Registry;
  /** Deadlines, limits and intervals; defaults in `DEFAULT_CONFIG`. */
  config?: Partial<SchedulerConfig>;
  /** Clock of every recorded timestamp and deadline (default: the system clock). */
  now?: () => Date;
  /** Budget of the database health query. */
  healthTimeoutMs?: number;
}

export interface Scheduler {
  start(): Promise<void>;
  /** Stops consumers, loops and endpoints (in that order); the bus and database stay open. */
  stop(): Promise<void>;
}

/** The system of record for training jobs; the only process that opens the job database. */
export function createScheduler(deps: SchedulerDeps): Scheduler {
  let relay: Periodic | null = null;
  // The schema is the one our migrations create; the handle is shared untyped with health checks.
  const db = deps.database.db as unknown as SchedulerDb;
  const config = resolveConfig(deps.config);
  const now = deps.now ?? (() => new Date());
  const ctx: SchedulerContext = {
    db,
    bus: deps.bus,
    blobs: deps.blobs,
    logger: deps.logger,
    config,
    metrics: createSchedulerMetrics(deps.metrics ?? new Registry()),
    now,
    scripts: createScriptStore(deps.blobs),
    admissions: createAdmissions({ db, config, logger: deps.logger, now }),
    publishedMarks: createPublishedMarks({ db, config, now }),
    wakeRelay: () => relay?.wake(),
  };
  const endpoints: Array<{ stop(): Promise<void> }> = [];
  const consumers: Consumption[] = [];
  const subscriptions: Array<{ stop(): Promise<void> }> = [];
  let reconciler: Periodic | null = null;
  let stopWatching: (() => void) | null = null;

  return {
    async start() {
      for (const stream of [STREAMS.training, STREAMS.jobLogs, STREAMS.runs, STREAMS.models, STREAMS.deadLetters]) {
        await deps.bus.ensureStream(stream);
      }
      for (const consumer of [CONSUMERS.schedulerLogs, CONSUMERS.schedulerRuns, CONSUMERS.schedulerRegistrations]) {
        await deps.bus.ensureConsumer(consumer);
      }
      endpoints.push(
        deps.bus.serve(RPC.databaseHealth, async (): Promise<DatabaseHealth> => {
          const health = await deps.database.health(deps.healthTimeoutMs ?? 1_500);
          return {
            available: health.available,
            kind: deps.database.kind,
            latency_ms: health.latencyMs,
            error: health.error,
          };
        }),
        ...serveJobEndpoints(ctx),
      );
      subscriptions.push(watchHeartbeats(ctx));
      // The server must know our subscriptions before anyone is told we are ready.
      await deps.bus.rtt();
      consumers.push(consumeJobLogs(ctx), consumeRunCompleted(ctx), consumeRegistrations(ctx));
      relay = startRelay(ctx);
      const watch = { since: ctx.now(), startupGraceMs: ctx.config.startupGraceMs };
      // After a NATS outage the runners' heartbeats and outcomes come back late, as after a
      // restart of ours: deadlines start over from the reconnect.
      stopWatching = deps.bus.onState((state) => {
        if (state === "connected") watch.since = ctx.now();
      });
      reconciler = startReconciler(ctx, watch);
    },
    async stop() {
      stopWatching?.();
      stopWatching = null;
      await Promise.all(consumers.splice(0).map((c) => c.stop()));
      await Promise.all([relay?.stop(), reconciler?.stop()]);
      relay = null;
      reconciler = null;
      await Promise.all(subscriptions.splice(0).map((s) => s.stop()));
      await Promise.all(endpoints.splice(0).map((e) => e.stop()));
      await ctx.admissions.drain();
      await ctx.publishedMarks.drain();
    },
  };
}
