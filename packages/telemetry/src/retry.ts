import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";

/**
 * Retries `attempt` with capped exponential backoff until it succeeds or `signal` aborts.
 * Logs the first failure and the recovery — one line per state change, not per try.
 */
export async function retryUntilReady<T>(
  what: string,
  attempt: () => Promise<T>,
  options: { logger: Logger; signal?: AbortSignal; initialDelayMs?: number; maxDelayMs?: number },
): Promise<T> {
  let delay = options.initialDelayMs ?? 250;
  const maxDelay = options.maxDelayMs ?? 10_000;
  let failing = false;
  for (;;) {
    try {
      const value = await attempt();
      if (failing) options.logger.info({ what }, `${what}: ready again`);
      return value;
    } catch (err) {
      if (options.signal?.aborted) throw err;
      if (!failing) options.logger.warn({ what, err: err instanceof Error ? err.message : String(err) }, `${what}: not ready, retrying`);
      failing = true;
      await sleep(delay * (0.8 + Math.random() * 0.4), undefined, { signal: options.signal });
      delay = Math.min(maxDelay, delay * 2);
    }
  }
}
