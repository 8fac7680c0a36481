import { retryUntilReady, READY_BACKOFF, type Logger } from "@asgard/telemetry";

/**
 * `retryUntilReady` (the platform's retry, here 250 ms doubling to 5 s, ±20 %) bounded by
 * `withinMs` and by `signal`. Rejects with the work's own last error, not the abort, so the
 * caller can say what failed.
 */
export async function retryWithin<T>(
  what: string,
  work: () => Promise<T>,
  options: { logger: Logger; withinMs: number; signal?: AbortSignal },
): Promise<T> {
  const bound = AbortSignal.timeout(options.withinMs);
  const signal = options.signal ? AbortSignal.any([bound, options.signal]) : bound;
  return retryUntilReady(what, work, { logger: options.logger, signal, backoff: { ...READY_BACKOFF, maxMs: 5_000 } });
}
