/**
 * How the delay before each retry grows: `initialMs` before the first, multiplied by `factor`
 * per retry, never above `maxMs`; then spread by `jitter`.
 */
export interface BackoffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
  /** Growth per retry; 2 unless said otherwise. 1 (or less) keeps the delay at `initialMs`. */
  readonly factor?: number;
  /** How the capped delay is randomised; `none` unless said otherwise. */
  readonly jitter?: Jitter;
}

/**
 * Spreads delays so that many clients failing together do not retry in step:
 * - `none`: the delay itself;
 * - `full`: anywhere from 0 to the delay;
 * - `equal`: from half the delay to the delay;
 * - `{ spread: r }`: within ±r of the delay (0.2: 80 % to 120 %), so it may exceed `maxMs` by r.
 */
export type Jitter = "none" | "full" | "equal" | { readonly spread: number };

/** Numbers in [0, 1): `Math.random`, or a fixed sequence in tests. */
export type RandomSource = () => number;

/**
 * Delay before retry number `retry` (1-based): initialMs, initialMs·factor, … capped at maxMs,
 * then jittered with `random`. Retries below 1 count as the first. Whole milliseconds.
 */
export function backoffDelayMs(retry: number, policy: BackoffPolicy, random: RandomSource = Math.random): number {
  return jittered(cappedDelayMs(retry, policy), policy.jitter ?? "none", random);
}

function cappedDelayMs(retry: number, policy: BackoffPolicy): number {
  const n = Math.max(1, Math.floor(retry));
  const factor = policy.factor ?? 2;
  if (factor <= 1) return Math.round(Math.min(policy.maxMs, policy.initialMs));
  // Multiplying until the cap (instead of factor ** n) keeps a huge retry number finite.
  let delay = policy.initialMs;
  for (let i = 1; i < n && delay < policy.maxMs; i++) delay *= factor;
  return Math.round(Math.min(policy.maxMs, delay));
}

function jittered(delayMs: number, jitter: Jitter, random: RandomSource): number {
  if (jitter === "none") return delayMs;
  if (jitter === "full") return Math.round(delayMs * random());
  if (jitter === "equal") return Math.round(delayMs / 2 + (delayMs / 2) * random());
  const spread = delayMs * jitter.spread;
  return Math.max(0, Math.round(delayMs - spread + 2 * spread * random()));
}
