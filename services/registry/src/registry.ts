import type { Bus } from "@asgard/bus";
import type { Logger } from "@asgard/telemetry";

export interface RegistryDeps {
  bus: Bus;
  logger: Logger;
}

export interface Registry {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Owns every conversation with MLflow's model registry. */
export function createRegistry(deps: RegistryDeps): Registry {
  return {
    async start() {
      deps.logger.info("registry started");
    },
    async stop() {
      deps.logger.info("registry stopped");
    },
  };
}
