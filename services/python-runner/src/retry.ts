import { retryUntilReady, type Logger } from "@asgard/telemetry";

/**
 * The platform's retry (`retryUntilReady`: capped exponential backoff with jitter) bounded
 * by `withinMs` and by `signal`. Rejects with the work's own last error, not the abort, so
 * the caller can say what failed.
 */
export async function retryWithin<T>(
  what: string,
  work: () => Promise<T>,
  options: { logger: Logger; withinMs: number; signal?: AbortSignal },
): Promise<T> {
  let last: unknown = null;
  const bound = AbortSignal.timeout(options.withinMs);
  const signal = options.signal ? AbortSignal.any([bound, options.signal]) : bound;
  try {
    return await retryUntilReady(
      what,
      () =>
        work().catch((err: unknown) => {
          last = err;
          throw err;
        }),
      { logger: options.logger, signal, maxDelayMs: 5_000 },
    );
  } catch (err) {
    throw last ?? err;
  }
}
