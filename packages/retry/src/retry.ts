import { backoffDelayMs, type BackoffPolicy, type RandomSource } from "./backoff.js";
import { sleep } from "./sleep.js";

/** A backoff and how many tries it allows. */
export interface RetryPolicy extends BackoffPolicy {
  /** Tries in all, the first included; unlimited when absent. */
  readonly maxAttempts?: number;
}

export interface RetryOptions {
  /** Stops retrying, also in the middle of a wait; `retry` then rejects with the last failure. */
  signal?: AbortSignal;
  /**
   * Which failures may pass on a later try (every one unless said otherwise); another is final
   * and rejected at once. For coded platform errors: `isRetryableCode` of `@asgard/contracts`.
   */
  retryable?: (err: unknown) => boolean;
  /** Called before each wait (for a log line); `attempt` is the try that just failed. */
  onRetry?: (failure: { err: unknown; attempt: number; delayMs: number }) => void;
  /** For deterministic delays in tests. */
  random?: RandomSource;
}

/**
 * Runs `work` (given its 1-based try number) until it resolves, waiting `policy`'s backoff
 * between tries. Rejects with the work's own last error — never an abort error — once a failure
 * is not `retryable`, the tries are used up, or `signal` aborts.
 */
export async function retry<T>(work: (attempt: number) => Promise<T>, policy: RetryPolicy, options: RetryOptions = {}): Promise<T> {
  const { signal, retryable = () => true, onRetry, random = Math.random } = options;
  for (let attempt = 1; ; attempt++) {
    try {
      return await work(attempt);
    } catch (err) {
      const triesLeft = policy.maxAttempts === undefined || attempt < policy.maxAttempts;
      if (signal?.aborted || !triesLeft || !retryable(err)) throw err;
      const delayMs = backoffDelayMs(attempt, policy, random);
      onRetry?.({ err, attempt, delayMs });
      await sleep(delayMs, signal);
      if (signal?.aborted) throw err;
    }
  }
}
