import type { Bus } from "@asgard/bus";
import type { Logger } from "@asgard/telemetry";

export interface RunnerDeps {
  bus: Bus;
  logger: Logger;
}

export interface Runner {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Executes training scripts pulled from the shared work queue. */
export function createRunner(deps: RunnerDeps): Runner {
  return {
    async start() {
      deps.logger.info("python-runner started");
    },
    async stop() {
      deps.logger.info("python-runner stopped");
    },
  };
}
