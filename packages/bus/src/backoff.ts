/** Capped exponential backoff: `initialMs`, doubled per attempt, never above `maxMs`. */
export interface BackoffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
  /** Growth per attempt; 2 unless said otherwise. */
  readonly factor?: number;
}

/** Waiting between first-connect attempts: quick at first, then every 5 s. */
export const CONNECT_BACKOFF: BackoffPolicy = { initialMs: 250, maxMs: 5_000 };
/** Delay of a nak after a handler threw: gives a transient fault time to clear, at most a minute. */
export const NAK_BACKOFF: BackoffPolicy = { initialMs: 1_000, maxMs: 60_000 };
/** Pause of a consumer loop or watcher after a failed pull before it tries again. */
export const LOOP_BACKOFF: BackoffPolicy = { initialMs: 250, maxMs: 5_000 };

/**
 * Delay before retry number `attempt` (1-based): initialMs, initialMs·factor, … capped at maxMs.
 * Attempts below 1 count as 1.
 */
export function backoffDelayMs(attempt: number, policy: BackoffPolicy): number {
  const n = Math.max(1, Math.floor(attempt));
  const factor = policy.factor ?? 2;
  if (factor <= 1) return Math.min(policy.maxMs, policy.initialMs);
  // Multiplying until the cap (instead of factor ** n) keeps a huge attempt number finite.
  let delay = policy.initialMs;
  for (let i = 1; i < n && delay < policy.maxMs; i++) delay *= factor;
  return Math.min(policy.maxMs, Math.round(delay));
}

/**
 * Spreads a delay by ±`ratio` so that many clients restarted together do not retry in step.
 * `random` is injectable for tests.
 */
export function withJitter(delayMs: number, ratio = 0.2, random: () => number = Math.random): number {
  const spread = delayMs * ratio;
  return Math.max(0, Math.round(delayMs - spread + 2 * spread * random()));
}

/** The nak delay for a message delivered `deliveryCount` times whose handler failed. */
export function nakDelayMs(deliveryCount: number): number {
  return backoffDelayMs(deliveryCount, NAK_BACKOFF);
}
