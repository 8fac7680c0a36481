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
}
