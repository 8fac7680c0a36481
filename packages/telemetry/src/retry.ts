import { retry, type BackoffPolicy } from "@asgard/retry";
import type { Logger } from "pino";

/** Waiting for a dependency at start-up: 250 ms doubling to 10 s, ±20 %. */
export const READY_BACKOFF: BackoffPolicy = { initialMs: 250, maxMs: 10_000, jitter: { spread: 0.2 } };

/**
 * Retries `attempt` with `backoff` (READY_BACKOFF unless given) until it succeeds or `signal`
 * aborts, then rejects with the attempt's last error. Logs the first failure and the recovery —
 * one line per state change, not per try.
 */
export async function retryUntilReady<T>(
  what: string,
  attempt: () => Promise<T>,
  options: { logger: Logger; signal?: AbortSignal; backoff?: BackoffPolicy },
): Promise<T> {
  let failing = false;
  const value = await retry(attempt, options.backoff ?? READY_BACKOFF, {
    ...(options.signal ? { signal: options.signal } : {}),
    onRetry: ({ err }) => {
      if (!failing) options.logger.warn({ what, err: err instanceof Error ? err.message : String(err) }, `${what}: not ready, retrying`);
      failing = true;
    },
  });
  if (failing) options.logger.info({ what }, `${what}: ready again`);
  return value;
}
