import type { Logger } from "pino";

/**
 * Runs `close` once on SIGINT/SIGTERM, then exits. A second signal, or a close that
 * outlasts `graceMs`, exits at once so an operator is never stuck.
 */
export function onShutdown(logger: Logger, close: () => Promise<void>, graceMs = 15_000): void {
  let closing = false;
  const handler = (signal: NodeJS.Signals) => {
    if (closing) {
      logger.warn({ signal }, "second signal, exiting now");
      process.exit(1);
    }
    closing = true;
    logger.info({ signal }, "shutting down");
    const timer = setTimeout(() => {
      logger.error({ graceMs }, "shutdown took too long, exiting");
      process.exit(1);
    }, graceMs);
    timer.unref();
    close()
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        logger.error({ err }, "shutdown failed");
        process.exit(1);
      });
  };
  process.once("SIGINT", handler);
  process.once("SIGTERM", handler);
  // Under `npm start` a service must not outlive its orchestrator, even one killed with SIGKILL.
  if (process.env.ASGARD_EXIT_WITH_PARENT === "1") {
    const parent = process.ppid;
    const watch = setInterval(() => {
      if (process.ppid === parent) return;
      clearInterval(watch);
      handler("SIGTERM");
    }, 1_000);
    watch.unref();
  }
}
