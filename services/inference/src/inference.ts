import type { Bus } from "@asgard/bus";
import type { Logger } from "@asgard/telemetry";

export interface InferenceDeps {
  bus: Bus;
  logger: Logger;
}

export interface Inference {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Serves predictions from warm models. */
export function createInference(deps: InferenceDeps): Inference {
  return {
    async start() {
      deps.logger.info("inference started");
    },
    async stop() {
      deps.logger.info("inference stopped");
    },
  };
}
