import {
  CONSUMERS,
  DEFAULT_TENANT,
  KV,
  RPC,
  STATUS_SNAPSHOT_KEY,
  type QueueDepth,
  type RunnersStatus,
  type ServicesStatus,
  type StatusSnapshot,
} from "@asgard/contracts";
import type { Bus, TypedKv } from "@asgard/bus";
import type { MlflowClient } from "@asgard/mlflow";
import type { Logger } from "@asgard/telemetry";
import { Gauge, startPeriodic, type Periodic, type Registry } from "@asgard/telemetry";
import type { FeatureStoreProbe } from "./feast-registry.js";
import { probeAnswers, probeDatabase, probeFeatureStore, probeMlflow, probeNats, probeQueue } from "./probes.js";
import { createRunnerTracker, listenForRunners } from "./runners.js";

export interface StatusServiceDeps {
  bus: Bus;
  mlflow: MlflowClient;
  /** null when no feature-store registry is configured. */
  featureStore: FeatureStoreProbe | null;
  /** The URL reported as `mlflow_tracking_uri` (the one jobs are given). */
  trackingUri: string;
  intervalMs: number;
  /** Budget of each probe; below the interval so a hung dependency never delays the next snapshot. */
  probeTimeoutMs: number;
  /**
   * A runner counts as live while its last heartbeat is at most this old. Default 15 s:
   * three of the runners' default heartbeat periods (RUNNER_HEARTBEAT_MS, 5 s).
   */
  runnerWindowMs?: number;
  logger: Logger;
  metrics?: Registry;
}

export interface StatusService {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** One probe round: probes every dependency, writes the snapshot, returns it. */
  probeOnce(): Promise<StatusSnapshot>;
}

/** Default of `runnerWindowMs`. */
export const DEFAULT_RUNNER_WINDOW_MS = 15_000;

type Component = keyof StatusSnapshot["components"] | keyof ServicesStatus | "queue";

export function createStatusService(deps: StatusServiceDeps): StatusService {
  const { bus, logger } = deps;
  let kv: TypedKv<StatusSnapshot> | null = null;
  let loop: Periodic | null = null;
  // Counts are kept from the last successful MLflow probe: a down MLflow says so in
  // `mlflow_available` instead of reporting zero models.
  let lastCounts = { activeExperiments: 0, registeredModels: 0 };
  const lastAvailability = new Map<Component | "snapshot", boolean>();
  const runners = createRunnerTracker(deps.runnerWindowMs ?? DEFAULT_RUNNER_WINDOW_MS);
  let heartbeats: { stop(): Promise<void> } | null = null;
  // Idempotent; also from probeOnce, so a service used without start() still hears runners.
  const listen = () => {
    try {
      heartbeats ??= listenForRunners(bus, runners);
    } catch (err) {
      // Only a closed connection refuses a subscription; the next round tries again.
      logger.warn({ err }, "cannot listen for runner heartbeats");
    }
  };
  const gauges = deps.metrics ? createStatusGauges(deps.metrics) : null;

  const gauge = deps.metrics
    ? new Gauge({
        name: "asgard_dependency_up",
        help: "1 when the last probe of the dependency succeeded",
        labelNames: ["dependency"],
        registers: [deps.metrics],
      })
    : null;

  /** Logs only when a component flips, so a long outage is one line, not one per probe. */
  function noteChange(component: Component | "snapshot", available: boolean, error: string | null): void {
    // The queue is not a dependency: a missing consumer (no runner ever started) is no outage.
    if (component !== "queue") gauge?.set({ dependency: component }, available ? 1 : 0);
    const before = lastAvailability.get(component);
    lastAvailability.set(component, available);
    if (before === available) return;
    if (available) logger.info({ component }, `${component} is available`);
    else logger.warn({ component, error }, `${component} is unavailable`);
  }

  async function probeOnce(): Promise<StatusSnapshot> {
    const t = deps.probeTimeoutMs;
    listen();
    const [mlflow, featureStore, nats, { database, scheduler }, registry, inference, queue] = await Promise.all([
      probeMlflow(deps.mlflow, t),
      probeFeatureStore(deps.featureStore, t),
      probeNats(bus, t),
      probeDatabase(bus, t),
      probeAnswers(bus, "registry", RPC.listModels, { tenant: DEFAULT_TENANT, max_results: 1, page_token: null }, t),
      probeAnswers(bus, "inference", RPC.inferenceHealth, {}, t),
      probeQueue(bus, t),
    ]);
    if (mlflow.available && mlflow.activeExperiments !== null && mlflow.registeredModels !== null) {
      lastCounts = { activeExperiments: mlflow.activeExperiments, registeredModels: mlflow.registeredModels };
    }
    noteChange("mlflow", mlflow.available, mlflow.error);
    if (featureStore.configured) noteChange("feature_store", featureStore.available, featureStore.error);
    noteChange("nats", nats.available, nats.error);
    noteChange("database", database.available, database.error);
    noteChange("queue", queue.depth !== null, queue.error);
    noteChange("job_scheduler", scheduler.available, scheduler.error);
    noteChange("registry", registry.available, registry.error);
    noteChange("inference", inference.available, inference.error);
    const runnersNow = runners.summary(Date.now());
    gauges?.update(runnersNow, queue.depth);

    const takenAt = new Date().toISOString();
    const snapshot: StatusSnapshot = {
      mlflow_tracking_uri: deps.trackingUri,
      mlflow_available: mlflow.available,
      feast_store_available: featureStore.available,
      registered_models: lastCounts.registeredModels,
      active_experiments: lastCounts.activeExperiments,
      feature_views: featureStore.featureViews,
      timestamp: takenAt,
      checked_at: takenAt,
      probe_interval_ms: deps.intervalMs,
      components: {
        mlflow: { available: mlflow.available, latency_ms: mlflow.latency_ms, checked_at: mlflow.checked_at, error: mlflow.error },
        feature_store: {
          available: featureStore.available,
          configured: featureStore.configured,
          latency_ms: featureStore.latency_ms,
          checked_at: featureStore.checked_at,
          error: featureStore.error,
        },
        nats,
        database,
      },
      runners: runnersNow,
      queue: queue.depth,
      services: { job_scheduler: scheduler, registry, inference },
    };
    try {
      kv ??= await bus.kv(KV.status);
      await kv.put(STATUS_SNAPSHOT_KEY, snapshot);
      noteChange("snapshot", true, null);
    } catch (err) {
      noteChange("snapshot", false, err instanceof Error ? err.message : String(err));
    }
    return snapshot;
  }

  return {
    probeOnce,
    async start() {
      if (loop) return;
      listen();
      loop = startPeriodic({
        name: "status probe round",
        intervalMs: deps.intervalMs,
        pacing: "rate",
        logger,
        run: async () => {
          await probeOnce();
        },
      });
    },
    async stop() {
      await loop?.stop();
      loop = null;
      await heartbeats?.stop();
      heartbeats = null;
    },
  };
}

/** Runner and queue gauges, set from each snapshot. */
function createStatusGauges(registry: Registry) {
  const registers = [registry];
  const runnersLive = new Gauge({ name: "asgard_runners_live", help: "python-runner replicas heard from within the liveness window", registers });
  const slots = new Gauge({ name: "asgard_runner_slots", help: "Job slots of the live python-runner replicas", registers });
  const slotsBusy = new Gauge({ name: "asgard_runner_slots_busy", help: "Jobs the live python-runner replicas hold", registers });
  const labelNames = ["stream", "consumer"] as const;
  const pending = new Gauge({ name: "asgard_queue_pending", help: "Training jobs waiting for a runner (absent while unknown)", labelNames, registers });
  const inFlight = new Gauge({
    name: "asgard_queue_in_flight",
    help: "Training jobs delivered to a runner and not yet acknowledged (absent while unknown)",
    labelNames,
    registers,
  });
  const queueLabels = { stream: CONSUMERS.runners.stream.name, consumer: CONSUMERS.runners.durable };
  return {
    update(r: RunnersStatus, q: QueueDepth | null) {
      runnersLive.set(r.live);
      slots.set(r.slots);
      slotsBusy.set(r.busy);
      // An unknown depth drops the series rather than repeating a stale value.
      if (q) {
        pending.set(queueLabels, q.pending);
        inFlight.set(queueLabels, q.in_flight);
      } else {
        pending.remove(queueLabels);
        inFlight.remove(queueLabels);
      }
    },
  };
}
