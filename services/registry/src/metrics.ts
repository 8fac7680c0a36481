import { Counter, Gauge, type Registry } from "@asgard/telemetry";

/** The registry's Prometheus metrics. */
export interface RegistryMetrics {
  /** Registrations by how they were asked for (`api`, `job`) and how they ended. */
  registrations: Counter<"via" | "result">;
  /** Versions made directly in MLflow that the poller announced. */
  discovered: Counter<never>;
  /** Poll rounds by outcome (`ok`, `mlflow_unavailable`, `error`). */
  polls: Counter<"result">;
  /** Models in the cache. */
  cachedModels: Gauge<never>;
  /** Unix time (s) of the last full read of MLflow. */
  cacheRefreshed: Gauge<never>;
}

export function createRegistryMetrics(registry: Registry | undefined): RegistryMetrics {
  const registers = registry ? [registry] : [];
  return {
    registrations: new Counter({
      name: "asgard_registry_registrations_total",
      help: "Model registrations by origin and result",
      labelNames: ["via", "result"],
      registers,
    }),
    discovered: new Counter({
      name: "asgard_registry_discovered_versions_total",
      help: "Versions registered directly in MLflow and announced by the poller",
      registers,
    }),
    polls: new Counter({ name: "asgard_registry_polls_total", help: "MLflow poll rounds by result", labelNames: ["result"], registers }),
    cachedModels: new Gauge({ name: "asgard_registry_cached_models", help: "Registered models in the registry's cache", registers }),
    cacheRefreshed: new Gauge({
      name: "asgard_registry_cache_refreshed_seconds",
      help: "Unix time of the last full read of MLflow's registry",
      registers,
    }),
  };
}
