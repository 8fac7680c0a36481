import { KV, STATUS_SNAPSHOT_KEY, type StatusSnapshot } from "@asgard/contracts";
import type { Bus, TypedKv } from "@asgard/bus";
import type { MlflowClient } from "@asgard/mlflow";
import type { Logger } from "@asgard/telemetry";
import { Gauge, type Registry } from "@asgard/telemetry";
import type { FeatureStoreProbe } from "./feast-registry.js";
import { probeDatabase, probeFeatureStore, probeMlflow, probeNats } from "./probes.js";

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
  logger: Logger;
  metrics?: Registry;
}

export interface StatusService {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** One probe round: probes every dependency, writes the snapshot, returns it. */
  probeOnce(): Promise<StatusSnapshot>;
}

type Component = keyof StatusSnapshot["components"];

export function createStatusService(deps: StatusServiceDeps): StatusService {
  const { bus, logger } = deps;
  let kv: TypedKv<StatusSnapshot> | null = null;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<unknown> | null = null;
  let stopped = true;
  // Counts are kept from the last successful MLflow probe: a down MLflow says so in
  // `mlflow_available` instead of reporting zero models.
  let lastCounts = { activeExperiments: 0, registeredModels: 0 };
  const lastAvailability = new Map<Component | "snapshot", boolean>();

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
    gauge?.set({ dependency: component }, available ? 1 : 0);
    const before = lastAvailability.get(component);
    lastAvailability.set(component, available);
    if (before === available) return;
    if (available) logger.info({ component }, `${component} is available`);
    else logger.warn({ component, error }, `${component} is unavailable`);
  }

  async function probeOnce(): Promise<StatusSnapshot> {
    const t = deps.probeTimeoutMs;
    const [mlflow, featureStore, nats, database] = await Promise.all([
      probeMlflow(deps.mlflow, t),
      probeFeatureStore(deps.featureStore, t),
      probeNats(bus, t),
      probeDatabase(bus, t),
    ]);
    if (mlflow.available && mlflow.activeExperiments !== null && mlflow.registeredModels !== null) {
      lastCounts = { activeExperiments: mlflow.activeExperiments, registeredModels: mlflow.registeredModels };
    }
    noteChange("mlflow", mlflow.available, mlflow.error);
    if (featureStore.configured) noteChange("feature_store", featureStore.available, featureStore.error);
    noteChange("nats", nats.available, nats.error);
    noteChange("database", database.available, database.error);

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

  function schedule(): void {
    if (stopped) return;
    const started = Date.now();
    running = probeOnce()
      .catch((err: unknown) => logger.error({ err }, "status probe round failed"))
      .finally(() => {
        running = null;
        if (stopped) return;
        // Fixed rate: the next round starts one interval after this one started.
        const wait = Math.max(0, deps.intervalMs - (Date.now() - started));
        timer = setTimeout(schedule, wait);
      });
  }

  return {
    probeOnce,
    async start() {
      if (!stopped) return;
      stopped = false;
      schedule();
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = null;
      await running;
    },
  };
}
