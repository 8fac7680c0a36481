import { RPC, type DatabaseHealth } from "@asgard/contracts";
import type { Bus } from "@asgard/bus";
import type { Database } from "@asgard/db";
import type { Logger } from "@asgard/telemetry";

export interface SchedulerDeps {
  bus: Bus;
  database: Database<unknown>;
  logger: Logger;
  /** Budget of the database health query. */
  healthTimeoutMs?: number;
}

export interface Scheduler {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** The system of record for training jobs; the only process that opens the job database. */
export function createScheduler(deps: SchedulerDeps): Scheduler {
  const endpoints: Array<{ stop(): Promise<void> }> = [];
  return {
    async start() {
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
      );
    },
    async stop() {
      await Promise.all(endpoints.splice(0).map((e) => e.stop()));
    },
  };
}
